package apitest

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// BlobFaultKind says how a BlobFault spoils a transfer.
type BlobFaultKind int

const (
	// BlobCut sends After bytes of the answer's body, then closes the
	// connection: a transfer cut in the middle.
	BlobCut BlobFaultKind = iota
	// BlobWrongLength serves Delta bytes more (or, negative, fewer) than the
	// file's size, with a Content-Length that matches what is sent: a blob
	// that does not match its metadata.
	BlobWrongLength
	// BlobSlow sends the body in pieces of After bytes (default 16 KiB),
	// waiting Delay between them.
	BlobSlow
	// BlobStall sends After bytes, then holds the answer until the client
	// goes away or the server closes: a transfer that stops moving.
	BlobStall
	// BlobExpired answers 403 AuthenticationFailed, as Azure does for a SAS
	// that has expired.
	BlobExpired
	// BlobBusy answers 503 ServerBusy with a Retry-After of Delay (whole
	// seconds, rounded down).
	BlobBusy
)

// BlobFault spoils the next Count transfers of a file on the blob origin.
type BlobFault struct {
	// FileID is the file whose transfers are spoiled; "" means any.
	FileID string
	// Count is how many transfers; <= 0 means 1.
	Count int
	// Kind says how.
	Kind BlobFaultKind
	// After is a number of body bytes: where BlobCut and BlobStall stop, the
	// size of BlobSlow's pieces.
	After int64
	// Delta is BlobWrongLength's difference to the file's size.
	Delta int64
	// Delay is BlobSlow's wait between pieces, BlobBusy's Retry-After.
	Delay time.Duration
}

// InjectBlobFault spoils the next matching transfers as f says. Faults are
// matched in the order they were injected.
func (s *Server) InjectBlobFault(f BlobFault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	b := s.blob
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults = append(b.faults, f)
}

// takeFault returns the first fault for the file and uses up one of its
// answers.
func (b *blobOrigin) takeFault(fileID string) (BlobFault, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, f := range b.faults {
		if f.FileID != "" && f.FileID != fileID {
			continue
		}
		b.faults[i].Count--
		if b.faults[i].Count <= 0 {
			b.faults = append(b.faults[:i], b.faults[i+1:]...)
		}
		return f, true
	}
	return BlobFault{}, false
}

// etag is the file's entity tag: it changes when the content could.
func (f *storedFile) etag() string {
	return fmt.Sprintf(`"0x%X"`, globalID(f.id, strconv.FormatInt(f.size, 10)))
}

// byteRange reads a Range header of the form bytes=N- or bytes=N-M against
// a size: the first byte and how many. ok false means the whole content;
// bad true means a range outside the content (416).
func byteRange(h string, size int64) (start, n int64, ok, bad bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, size, false, false
	}
	first, last, _ := strings.Cut(spec, "-")
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, size, false, false
	}
	end := size - 1
	if last != "" {
		if end, err = strconv.ParseInt(last, 10, 64); err != nil || end < start {
			return 0, size, false, false
		}
		end = min(end, size-1)
	}
	if start >= size {
		return 0, 0, false, true
	}
	return start, end - start + 1, true, false
}

// serveContent answers with the file's content, the part a Range asks for
// (206), spoiled as the fault says.
func (b *blobOrigin) serveContent(w http.ResponseWriter, r *http.Request, f *storedFile, fault BlobFault, faulty bool) {
	var src io.ReaderAt = f.content
	size := f.size
	if faulty && fault.Kind == BlobWrongLength {
		size = max(size+fault.Delta, 0)
		src = padded{f.content, f.size}
	}
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", f.etag())
	h.Set("Last-Modified", f.created.Format(http.TimeFormat))
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("Content-Type", "application/octet-stream")
	start, n, partial, bad := byteRange(r.Header.Get("Range"), size)
	if ir := r.Header.Get("If-Range"); ir != "" && ir != f.etag() {
		start, n, partial, bad = 0, size, false, false
	}
	if bad {
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		blobError(w, http.StatusRequestedRangeNotSatisfiable, "InvalidRange", msgBadRange, "")
		return
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	status := http.StatusOK
	if partial {
		status = http.StatusPartialContent
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+n-1, size))
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	b.send(w, r, io.NewSectionReader(src, start, n), fault, faulty)
}

// padded reads content of size bytes, then zero bytes past its end: the
// body of a blob longer than its metadata says.
type padded struct {
	content io.ReaderAt
	size    int64
}

func (p padded) ReadAt(buf []byte, off int64) (int, error) {
	n := 0
	if off < p.size {
		n, _ = p.content.ReadAt(buf[:min(int64(len(buf)), p.size-off)], off)
	}
	clear(buf[n:])
	return len(buf), nil
}

// send writes the body, spoiled as the fault says.
func (b *blobOrigin) send(w http.ResponseWriter, r *http.Request, body io.Reader, fault BlobFault, faulty bool) {
	if !faulty {
		_, _ = io.Copy(w, body)
		return
	}
	switch fault.Kind {
	case BlobCut, BlobStall:
		_, _ = io.CopyN(w, body, fault.After)
		if rc := http.NewResponseController(w); rc.Flush() == nil && fault.Kind == BlobStall {
			select {
			case <-r.Context().Done():
			case <-b.s.done:
			}
		}
		abort(w)
	case BlobSlow:
		piece := fault.After
		if piece <= 0 {
			piece = 16 << 10
		}
		rc := http.NewResponseController(w)
		for {
			n, err := io.CopyN(w, body, piece)
			if err != nil || n < piece || rc.Flush() != nil {
				return
			}
			t := time.NewTimer(fault.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			case <-b.s.done:
				t.Stop()
				return
			}
		}
	default:
		_, _ = io.Copy(w, body)
	}
}

// abort closes the connection of an answer that was started, so that the
// client sees its body end early.
func abort(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}
