package apitest

import (
	"crypto/md5"
	"encoding/base64"
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
	// BlobCorrupt flips one bit of the body byte at offset After of the
	// answer (headers unchanged): a byte altered in transit.
	BlobCorrupt
	// BlobChanged answers as a new version of the blob would: another ETag,
	// MD5 and content (every byte inverted). It honours If-Match (412
	// ConditionNotMet when the ETag sent is not the new one) unless
	// IgnoreConditions.
	BlobChanged
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
	// IgnoreConditions makes the answer ignore If-Match and If-Range, as a
	// store or proxy that does not implement them.
	IgnoreConditions bool
	// NoValidator makes the answer carry neither ETag nor MD5, as some
	// stores and proxies send.
	NoValidator bool
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

// changedETag is the entity tag of BlobChanged's other version.
func (f *storedFile) changedETag() string {
	return fmt.Sprintf(`"0x%X"`, globalID(f.id+"~changed", strconv.FormatInt(f.size, 10)))
}

// maxMD5Cache bounds how many files' MD5s the blob origin remembers.
const maxMD5Cache = 256

// contentMD5 is the base64 MD5 of the file's content, as Azure gives it in
// Content-MD5 and x-ms-blob-content-md5; computed once per file and
// remembered (a few files at a time), so that a large file is hashed once.
func (b *blobOrigin) contentMD5(f *storedFile, inverted bool) string {
	key := f.etag()
	if inverted {
		key = f.changedETag()
	}
	b.mu.Lock()
	sum, ok := b.md5s[key]
	b.mu.Unlock()
	if ok {
		return sum
	}
	h := md5.New()
	var src io.Reader = io.NewSectionReader(f.content, 0, f.size)
	if inverted {
		src = inverter{src}
	}
	_, _ = io.CopyBuffer(h, src, make([]byte, 256<<10))
	sum = base64.StdEncoding.EncodeToString(h.Sum(nil))
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.md5s) >= maxMD5Cache {
		clear(b.md5s)
	}
	if b.md5s == nil {
		b.md5s = map[string]string{}
	}
	b.md5s[key] = sum
	return sum
}

// inverter inverts every byte it reads: BlobChanged's content.
type inverter struct{ r io.Reader }

func (v inverter) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	for i := range p[:n] {
		p[i] = ^p[i]
	}
	return n, err
}

// invertedAt is a ReaderAt of inverted bytes.
type invertedAt struct{ r io.ReaderAt }

func (v invertedAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := v.r.ReadAt(p, off)
	for i := range p[:n] {
		p[i] = ^p[i]
	}
	return n, err
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
	etag, inverted := f.etag(), faulty && fault.Kind == BlobChanged
	if inverted {
		etag, src = f.changedETag(), invertedAt{f.content}
	}
	if faulty && fault.Kind == BlobWrongLength {
		size = max(size+fault.Delta, 0)
		src = padded{f.content, f.size}
	}
	conditions := !faulty || !fault.IgnoreConditions
	if im := r.Header.Get("If-Match"); conditions && im != "" && im != "*" && im != etag {
		blobError(w, http.StatusPreconditionFailed, "ConditionNotMet", msgConditionNotMet, "")
		return
	}
	h := w.Header()
	h.Set("Accept-Ranges", "bytes")
	if !faulty || !fault.NoValidator {
		h.Set("ETag", etag)
	}
	h.Set("Last-Modified", f.created.Format(http.TimeFormat))
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("Content-Type", "application/octet-stream")
	start, n, partial, bad := byteRange(r.Header.Get("Range"), size)
	if ir := r.Header.Get("If-Range"); conditions && ir != "" && ir != etag {
		start, n, partial, bad = 0, size, false, false
	}
	if !faulty || (!fault.NoValidator && fault.Kind != BlobWrongLength) {
		// As Azure: the whole blob's MD5 on every answer, and as
		// Content-MD5 on one for the whole blob.
		sum := b.contentMD5(f, inverted)
		h.Set("x-ms-blob-content-md5", sum)
		if !partial && !bad {
			h.Set("Content-MD5", sum)
		}
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
	if !b.firstByte(r) {
		return
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	b.send(paced(w, r, b.s.opts.BlobRate, b.s.done), r, io.NewSectionReader(src, start, n), fault, faulty)
}

// firstByte waits Options.BlobFirstByte; false when the client or the
// server went away meanwhile.
func (b *blobOrigin) firstByte(r *http.Request) bool {
	d := b.s.opts.BlobFirstByte
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-b.s.done:
	}
	return false
}

// pacedWriter sends a body at most rate bytes per second, in pieces of
// 32 KiB, flushed as they go.
type pacedWriter struct {
	http.ResponseWriter
	r     *http.Request
	rate  int64
	done  <-chan struct{}
	start time.Time
	sent  int64
}

// paced returns w capped at rate bytes per second (w itself when rate is 0).
func paced(w http.ResponseWriter, r *http.Request, rate int64, done <-chan struct{}) http.ResponseWriter {
	if rate <= 0 {
		return w
	}
	return &pacedWriter{ResponseWriter: w, r: r, rate: rate, done: done, start: time.Now()}
}

func (p *pacedWriter) Write(buf []byte) (int, error) {
	written := 0
	for len(buf) > 0 {
		piece := buf[:min(len(buf), 32<<10)]
		n, err := p.ResponseWriter.Write(piece)
		written += n
		p.sent += int64(n)
		if err != nil {
			return written, err
		}
		buf = buf[n:]
		_ = http.NewResponseController(p.ResponseWriter).Flush()
		due := p.start.Add(time.Duration(float64(p.sent) / float64(p.rate) * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-p.r.Context().Done():
				t.Stop()
				return written, p.r.Context().Err()
			case <-p.done:
				t.Stop()
				return written, http.ErrAbortHandler
			}
		}
	}
	return written, nil
}

// Unwrap lets http.ResponseController reach the connection (for a cut).
func (p *pacedWriter) Unwrap() http.ResponseWriter { return p.ResponseWriter }

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
	case BlobCorrupt:
		_, _ = io.CopyN(w, body, fault.After)
		var one [1]byte
		if n, _ := body.Read(one[:]); n == 1 {
			one[0] ^= 0x10
			_, _ = w.Write(one[:])
		}
		_, _ = io.Copy(w, body)
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
