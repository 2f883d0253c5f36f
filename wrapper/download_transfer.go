package wrapper

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/itwin-export/itwin-export/wrapper/internal/bounded"
)

// transferBuffer is the size of the buffer each connection of a download
// reads through (and the checksum's read-back buffer): with N connections,
// N+1 of them are all the memory a transfer holds, whatever the file's size.
const transferBuffer = 256 << 10

// maxStartOvers bounds how many times a download starts over from its first
// byte because the blob changed under it or gave no validator to resume
// under.
const maxStartOvers = 3

// writerAt is where a transfer writes: a temporary file (any order) or a
// special file streamed in order.
type writerAt interface {
	WriteAt(p []byte, off int64) (int, error)
}

// piece is one range of the file, fetched by one request at a time and
// resumed on its own after a cut.
type piece struct {
	start, end int64 // [start, end)
	done       int64 // bytes of the range written; guarded by transfer.mu
}

// blobVersion is what the first answer of an attempt said about the blob:
// every later answer must say the same, or parts of two versions would be
// combined.
type blobVersion struct {
	known bool
	etag  string // strong ETag; "" when the first answer had none (or a weak one)
	total int64
	md5   []byte // nil when the store gave none
}

// transfer moves one file's content from the blob store into w.
type transfer struct {
	c      *Client
	http   *http.Client
	fileID string
	size   int64 // from the metadata: what the file must hold at the end
	w      writerAt
	opts   DownloadOptions
	// readBack reads what was written, for the checksum of a download whose
	// ranges arrive out of order; nil when the checksum is computed in
	// stream (one connection).
	readBack io.ReaderAt
	// resumable is false for a special file: what was written there cannot
	// be taken back, so a cut is a failure.
	resumable bool
	// flush is told of each range written (see partfile.Durable), so that the
	// final sync does not have the whole file to make durable at once; nil
	// for a special file.
	flush func(off, n int64)

	links *linkSource

	mu      sync.Mutex
	changed *sync.Cond // signalled, while the checksum waits for bytes, when a piece's done grows or the attempt ends
	pieces  []*piece
	val     blobVersion
	written int64 // all pieces' done, for Progress
	stopped bool  // the attempt ended: the checksum goroutine gives up
	// hashing is true while readBackSum computes the checksum; hashed is
	// how far it got, in pieces[hashPiece]; sumWaits is true while it
	// waits on changed. The connections wait on caughtUp while more than
	// checksumLead bytes are written in order but not hashed; behind
	// counts them.
	hashing   bool
	hashed    int64
	hashPiece int
	sumWaits  bool
	caughtUp  *sync.Cond
	behind    int
	progress  sync.Mutex // held while Progress is called
	reported  int64      // the bytes Progress was last told of; guarded by progress
	streamed  hash.Hash  // the in-stream checksum of a one-connection download
	taken     int        // how many pieces were handed out (see take)
	outrun    bool       // a connection waited for the checksum in this attempt
}

// errCut marks a request that ended early in a way a resume may repair:
// a dropped connection, a stall, a 429 or 5xx of the blob store. wait is
// the store's Retry-After, if it gave one.
type errCut struct {
	err  error
	wait time.Duration
}

func (e errCut) Error() string { return e.err.Error() }
func (e errCut) Unwrap() error { return e.err }

// errExpired marks a 403 of the blob store: its link has expired, and a
// fresh one from the Storage API may work.
type errExpired struct{ err error }

func (e errExpired) Error() string { return e.err.Error() }
func (e errExpired) Unwrap() error { return e.err }

// errStartOver marks an attempt whose parts may not be combined: the blob
// changed (412 to If-Match, another ETag or total), or a cut came with no
// strong validator to resume under. single asks the next attempt to use
// one connection (the store ignores Range, or gives no validator under
// which ranges could be combined).
type errStartOver struct {
	reason string
	single bool
}

func (e errStartOver) Error() string { return "the download starts over: " + e.reason }

// linkSource hands out the blob link, asking the Storage API for a fresh
// one once when the store says it expired.
type linkSource struct {
	mu        sync.Mutex
	link      *url.URL
	gen       int
	refreshed bool
}

func (l *linkSource) get() (*url.URL, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.link, l.gen
}

// refresh replaces the link of generation gen with a fresh one, once per
// download; a caller whose link was already replaced gets the new one.
func (l *linkSource) refresh(ctx context.Context, t *transfer, gen int, expired error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gen != gen {
		return nil
	}
	if l.refreshed {
		return expired
	}
	l.refreshed = true
	link, err := t.c.downloadLink(ctx, t.fileID)
	if err != nil {
		return err
	}
	l.link, l.gen = link, l.gen+1
	return nil
}

// run downloads the whole file with up to opts.Parallel connections,
// starting over (at most maxStartOvers times) when the parts could not be
// combined.
func (t *transfer) run(ctx context.Context) error {
	link, err := t.c.downloadLink(ctx, t.fileID)
	if err != nil {
		return err
	}
	t.links = &linkSource{link: link}
	t.changed = sync.NewCond(&t.mu)
	t.caughtUp = sync.NewCond(&t.mu)
	single := t.opts.Parallel <= 1 || t.size <= t.opts.BlockSize || t.readBack == nil
	for startOvers := 0; ; startOvers++ {
		err := t.attempt(ctx, single, startOvers > 0)
		var over errStartOver
		if !errors.As(err, &over) {
			return err
		}
		if startOvers == maxStartOvers || !t.resumable {
			return t.malformed("blob changed", fmt.Sprintf("gave up after %d start-overs: %s", startOvers, over.reason))
		}
		single = single || over.single
		t.c.log.LogAttrs(ctx, slog.LevelInfo, "download starts over", slog.String("fileId", t.fileID), slog.String("reason", over.reason))
	}
}

// attempt fetches every piece once from the first byte, then checks the
// checksum.
func (t *transfer) attempt(parent context.Context, single, again bool) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	t.mu.Lock()
	t.val, t.written, t.stopped = blobVersion{}, 0, false
	t.pieces = t.plan(single)
	t.streamed = nil
	if len(t.pieces) == 1 {
		t.streamed = md5.New()
	}
	t.hashing, t.hashed, t.hashPiece = t.streamed == nil, 0, 0
	t.taken, t.outrun = 0, false
	t.mu.Unlock()
	if again && t.opts.Progress != nil {
		t.startOver()
	}

	// The checksum of ranges arriving out of order is computed from the
	// file, in order, while the later ranges still arrive.
	var sum []byte
	var sumErr error
	var sumDone sync.WaitGroup
	if t.streamed == nil {
		sumDone.Add(1)
		go func() {
			defer sumDone.Done()
			sum, sumErr = t.readBackSum()
		}()
	}

	workers := min(len(t.pieces), max(t.opts.Parallel, 1))
	errs := make(chan error, workers)
	for range workers {
		go func() {
			buf := make([]byte, transferBuffer)
			for p := t.take(); p != nil; p = t.take() {
				if err := t.fetchPiece(ctx, p, buf); err != nil {
					cancel(err)
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range workers {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	if cause := context.Cause(ctx); first != nil && cause != nil && parent.Err() == nil {
		first = cause // the error that stopped the others, not what they met stopping
	}
	t.mu.Lock()
	t.stopped = true
	t.changed.Broadcast()
	t.mu.Unlock()
	sumDone.Wait()
	if first != nil {
		if parent.Err() != nil {
			return fmt.Errorf("downloading file %s: %w", t.fileID, context.Cause(parent))
		}
		return first
	}
	if t.written != t.size {
		return t.malformed("size mismatch", fmt.Sprintf("the content ended after %d bytes; the metadata says %d", t.written, t.size))
	}
	if t.streamed != nil {
		sum, sumErr = t.streamed.Sum(nil), nil
	}
	if sumErr != nil {
		return fmt.Errorf("download of file %s: reading back for the checksum: %w", t.fileID, sumErr)
	}
	if t.val.md5 != nil && !bytes.Equal(sum, t.val.md5) {
		return checksumError{t.malformed("checksum mismatch", fmt.Sprintf("the content's MD5 is %s, the blob's %s",
			base64.StdEncoding.EncodeToString(sum), base64.StdEncoding.EncodeToString(t.val.md5)))}
	}
	return nil
}

// minTailBlock is the smallest range of a download's final round (see
// plan): below it, the request's own cost outweighs what it saves.
const minTailBlock = 1 << 20

// tailBlock is the size of the ranges that end a download (see plan), and
// of those that follow a checksum that fell behind (see take).
func tailBlock(blockSize int64) int64 { return max(blockSize/8, minTailBlock) }

// plan cuts the file into pieces, handed out in file order: one for a
// single stream, else ranges of BlockSize, smaller when that keeps every
// connection busy. When those ranges are large (4 tail blocks or more), the
// last Parallel ranges are tail blocks (BlockSize/8, 1 MiB at least) and the
// rest is cut into a multiple of Parallel equal ranges: the connections
// finish together, and the file's start is complete, its checksum computed,
// while they fetch the small end, so the checksum is ready moments after
// the last byte instead of one large range per connection later.
func (t *transfer) plan(single bool) []*piece {
	if single || t.size == 0 {
		return []*piece{{start: 0, end: t.size}}
	}
	n := int64(t.opts.Parallel)
	block := min(t.opts.BlockSize, (t.size+n-1)/n)
	var ps []*piece
	cut := func(from, to, block int64) {
		for start := from; start < to; start += block {
			ps = append(ps, &piece{start: start, end: min(start+block, to)})
		}
	}
	tail := tailBlock(t.opts.BlockSize)
	if block < 4*tail {
		cut(0, t.size, block)
		return ps
	}
	bulk := t.size - n*tail
	count := (bulk + t.opts.BlockSize - 1) / t.opts.BlockSize
	count = (count + n - 1) / n * n
	cut(0, bulk, (bulk+count-1)/count)
	cut(bulk, t.size, tail)
	return ps
}

// readBackSum computes the MD5 of the file in order, reading back what the
// connections wrote as soon as it is contiguous. It returns nil, nil when
// the store gave no MD5 or the attempt ended first.
func (t *transfer) readBackSum() ([]byte, error) {
	defer func() {
		t.mu.Lock()
		t.hashing = false
		t.caughtUp.Broadcast()
		t.mu.Unlock()
	}()
	h := md5.New()
	buf := make([]byte, transferBuffer)
	var hashed int64
	for i := 0; ; i++ {
		t.mu.Lock()
		if i == len(t.pieces) {
			t.mu.Unlock()
			break
		}
		p := t.pieces[i]
		t.mu.Unlock()
		for {
			t.mu.Lock()
			for !t.stopped && hashed < p.end && (p.start+p.done <= hashed || !t.val.known) {
				t.sumWaits = true
				t.changed.Wait()
				t.sumWaits = false
			}
			if hashed >= p.end {
				t.mu.Unlock()
				break
			}
			avail, noSum := p.start+p.done, t.val.known && t.val.md5 == nil
			stopped := t.stopped && avail <= hashed
			t.mu.Unlock()
			if noSum || stopped {
				return nil, nil
			}
			for hashed < avail {
				n, err := t.readBack.ReadAt(buf[:min(int64(len(buf)), avail-hashed)], hashed)
				h.Write(buf[:n])
				hashed += int64(n)
				t.mu.Lock()
				t.hashed, t.hashPiece = hashed, i
				if t.behind > 0 && t.unhashed() <= checksumLead/2 {
					t.caughtUp.Broadcast()
				}
				t.mu.Unlock()
				if err != nil && hashed < avail {
					return nil, err
				}
			}
		}
	}
	return h.Sum(nil), nil
}

// take hands out the next piece in file order, nil when none is left.
//
// Once a connection has waited for the checksum in this attempt (outrun),
// the link is faster than the MD5, and the MD5 is what the download waits
// for: from then on a piece larger than a tail block (see plan) is split,
// the connection takes its first tail block and leaves the rest as the
// next piece. The ranges in flight then complete close behind one another
// in file order, and the checksum is fed steadily instead of in bursts of
// a whole round of large ranges. On a link slower than the MD5 no
// connection waits, and the ranges keep their size (one request per
// BlockSize, as few first-byte waits as the plan gives).
func (t *transfer) take() *piece {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.taken == len(t.pieces) {
		return nil
	}
	p := t.pieces[t.taken]
	if small := tailBlock(t.opts.BlockSize); t.outrun && p.done == 0 && p.end-p.start > small {
		rest := &piece{start: p.start + small, end: p.end}
		p.end = rest.start
		t.pieces = slices.Insert(t.pieces, t.taken+1, rest)
	}
	t.taken++
	return p
}

// checksumLead is how far the bytes written in order may run ahead of the
// checksum before the connections wait for it: on a link faster than the
// MD5 (a fast LAN, loopback), the checksum keeps pace instead of being
// left to finish alone after the last byte, and it reads back what is
// still in the page cache.
const checksumLead = 16 << 20

// unhashed is how many bytes from where the checksum is are written in
// order, ready to be hashed. t.mu must be held.
func (t *transfer) unhashed() int64 {
	end := t.hashed
	for _, p := range t.pieces[t.hashPiece:] {
		if p.start > end {
			break
		}
		end = p.start + p.done
		if end < p.end {
			break
		}
	}
	return end - t.hashed
}

// fetchPiece fetches one piece, resuming it after cuts (opts.MaxResumes
// times at most) under the first answer's validator.
func (t *transfer) fetchPiece(ctx context.Context, p *piece, buf []byte) error {
	resumes := 0
	for {
		link, gen := t.links.get()
		err := t.fetch(ctx, link, p, buf, resumes+1)
		var cut errCut
		var expired errExpired
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("downloading file %s: %w", t.fileID, context.Cause(ctx))
		case errors.As(err, &expired):
			if err := t.links.refresh(ctx, t, gen, expired.err); err != nil {
				return err
			}
		case errors.As(err, &cut) && resumes < t.opts.MaxResumes && cut.wait <= t.c.retry.MaxRetryAfter:
			if !t.canResume(p) {
				if t.resumable {
					return errStartOver{reason: "cut with no strong ETag to resume under: " + cut.err.Error()}
				}
				return cut.err // a stream into a special file cannot be taken back
			}
			resumes++
			wait := cut.wait
			if wait == 0 && resumes > 1 {
				wait = t.c.retry.backoff(resumes - 1) // the first resume goes at once
			}
			t.c.log.LogAttrs(ctx, slog.LevelInfo, "resuming download", slog.String("fileId", t.fileID), slog.Int64("from", p.start+p.done),
				slog.Int("resume", resumes), slog.Duration("wait", wait), slog.String("reason", err.Error()))
			if err := t.c.wait(ctx, wait); err != nil {
				return fmt.Errorf("downloading file %s: %w", t.fileID, err)
			}
		case errors.As(err, &cut):
			return cut.err
		default:
			return err
		}
	}
}

// canResume tells whether a cut piece may be fetched on from where it
// stopped: into a file, under a strong validator (or from its first byte).
func (t *transfer) canResume(p *piece) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p.done == 0 {
		return true // nothing of this piece to combine yet
	}
	return t.resumable && t.val.etag != ""
}

// errStalled is the cause of a transfer ended because no byte arrived for
// DownloadOptions.StallTimeout.
var errStalled = errors.New("no data received within the stall timeout")

// fetch makes one request for the rest of a piece and writes what comes.
func (t *transfer) fetch(parent context.Context, link *url.URL, p *piece, buf []byte, attempt int) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	watchdog := time.AfterFunc(t.opts.StallTimeout, func() { cancel(errStalled) })
	defer watchdog.Stop()

	t.mu.Lock()
	from, etag := p.start+p.done, t.val.etag
	whole := len(t.pieces) == 1 && p.done == 0
	t.mu.Unlock()
	resp, err := t.send(ctx, link, from, p.end, whole, etag, attempt)
	if err != nil {
		return t.failed(parent, ctx, link, err)
	}
	defer resp.Body.Close()
	if err := t.accept(resp, link, p, from, whole); err != nil {
		return err
	}
	err = t.copy(resp.Body, link, p, buf, watchdog)
	var cut readError
	switch {
	case errors.As(err, &cut):
		return t.failed(parent, ctx, link, cut.err)
	case err != nil:
		return err
	}
	t.mu.Lock()
	short := p.start+p.done != p.end
	t.mu.Unlock()
	if short {
		return t.failed(parent, ctx, link, io.ErrUnexpectedEOF)
	}
	return nil
}

// readError is a failure to read the body, as opposed to one to write it.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }

// send sends the request: no credential of the client at all; a Range for
// [from, end) unless whole; If-Match with the first answer's ETag once it
// is known, so that a blob replaced meanwhile answers 412 instead of parts
// of another version.
func (t *transfer) send(ctx context.Context, link *url.URL, from, end int64, whole bool, etag string, attempt int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "", nil)
	if err != nil {
		return nil, err
	}
	req.URL, req.Host = link, link.Host
	req.Header["User-Agent"] = t.c.userAgent
	if !whole {
		r := "bytes=" + strconv.FormatInt(from, 10) + "-"
		if end < t.size {
			r += strconv.FormatInt(end-1, 10)
		}
		req.Header.Set("Range", r)
	}
	if etag != "" {
		// If-Match is what Azure's Get Blob (and Azurite) honour; If-Range
		// is there for stores that honour only it. The answer's ETag is
		// compared all the same.
		req.Header.Set("If-Match", etag)
		if !whole {
			req.Header.Set("If-Range", etag)
		}
	}
	start := time.Now()
	resp, err := t.http.Do(req)
	if t.c.log.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{slog.String("op", "downloadContent"), slog.String("method", http.MethodGet),
			slog.String("url", t.c.redactURL(link.String())), slog.Duration("duration", time.Since(start)), slog.Int("attempt", attempt)}
		if !whole {
			attrs = append(attrs, slog.String("range", req.Header.Get("Range")))
		}
		if err == nil {
			attrs = append(attrs, slog.Int("status", resp.StatusCode))
		}
		t.c.log.LogAttrs(ctx, slog.LevelDebug, "http exchange", attrs...)
	}
	return resp, err
}

// failed classifies a request that got no (complete) answer: the caller's
// cancellation as itself, anything else (a stall included) as a cut.
func (t *transfer) failed(parent, ctx context.Context, link *url.URL, err error) error {
	if parent.Err() != nil {
		return context.Cause(parent)
	}
	cause := transportCause(err)
	if errors.Is(context.Cause(ctx), errStalled) {
		cause = errStalled
	}
	return errCut{err: &TransportError{Operation: "downloadContent", Method: http.MethodGet, URL: t.c.redactURL(link.String()),
		Err: scrubbedError{cause, t.c.scrub(cause.Error())}}}
}

// accept checks an answer's status and headers before its body is read,
// and that it speaks of the same blob as the attempt's first answer.
func (t *transfer) accept(resp *http.Response, link *url.URL, p *piece, from int64, whole bool) error {
	var total int64
	var sum string
	switch resp.StatusCode {
	case http.StatusOK:
		if !whole {
			// The store ignored Range: only a single stream from the
			// first byte can use its answers.
			return errStartOver{reason: "the store answered a ranged request with the whole content", single: true}
		}
		if resp.ContentLength >= 0 && resp.ContentLength != t.size {
			return t.malformed("size mismatch", fmt.Sprintf("Content-Length %d; the metadata says %d", resp.ContentLength, t.size))
		}
		total, sum = t.size, cmpOr(resp.Header.Get("Content-MD5"), resp.Header.Get("x-ms-blob-content-md5"))
	case http.StatusPartialContent:
		want := fmt.Sprintf("bytes %d-%d/", from, p.end-1)
		got := resp.Header.Get("Content-Range")
		rest, ok := strings.CutPrefix(got, want)
		n, err := strconv.ParseInt(rest, 10, 64)
		if !ok || err != nil {
			return t.malformed("size mismatch", fmt.Sprintf("Content-Range %q, asked for %q", got, want+"*"))
		}
		if n != t.size {
			return t.malformed("size mismatch", fmt.Sprintf("Content-Range %q: the blob holds %d bytes; the metadata says %d", got, n, t.size))
		}
		total, sum = n, resp.Header.Get("x-ms-blob-content-md5")
	case http.StatusPreconditionFailed:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return errStartOver{reason: "the blob changed (412 to If-Match)"}
	default:
		return t.refused(resp, link)
	}
	etag := resp.Header.Get("ETag")
	if strings.HasPrefix(etag, "W/") {
		etag = "" // a weak validator cannot join ranges
	}
	var digest []byte
	if sum != "" {
		d, err := base64.StdEncoding.DecodeString(sum)
		if err != nil || len(d) != md5.Size {
			return t.malformed("checksum unreadable", fmt.Sprintf("the blob's MD5 %q is not a base64 MD5", sum))
		}
		digest = d
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.val.known {
		if etag == "" && len(t.pieces) > 1 {
			return errStartOver{reason: "the blob gave no strong ETag: ranges cannot be combined", single: true}
		}
		t.val = blobVersion{known: true, etag: etag, total: total, md5: digest}
		t.changed.Broadcast()
		return nil
	}
	switch {
	case t.val.etag == "":
		return errStartOver{reason: "no strong ETag to combine parts under"}
	case etag != t.val.etag:
		return errStartOver{reason: fmt.Sprintf("the blob changed: ETag %s, first %s", etag, t.val.etag)}
	case total != t.val.total:
		return errStartOver{reason: fmt.Sprintf("the blob changed: %d bytes, first %d", total, t.val.total)}
	case !bytes.Equal(digest, t.val.md5):
		return errStartOver{reason: "the blob changed: another MD5"}
	}
	return nil
}

// cmpOr returns a, or b when a is empty.
func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// refused classifies an answer that is neither 200, 206 nor 412.
func (t *transfer) refused(resp *http.Response, link *url.URL) error {
	body, _ := bounded.ReadAll(resp.Body, resp.ContentLength, maxErrorBody, nil)
	x := &exchange{op: &opDownloadContent, url: link, status: resp.StatusCode, header: resp.Header, body: body, attempts: 1}
	err := t.c.unexpected(x)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Code == "" {
		apiErr.Code = resp.Header.Get("x-ms-error-code") // the blob store's error code
	}
	switch status := resp.StatusCode; {
	case status == http.StatusForbidden:
		return errExpired{err}
	case status == http.StatusTooManyRequests || status >= 500:
		wait, _ := parseRetryAfter(resp.Header.Get("Retry-After"), t.c.now())
		return errCut{err: err, wait: wait}
	}
	return err
}

// startOver tells Progress that the count starts again from 0: an attempt
// begins again from the file's first byte.
func (t *transfer) startOver() {
	t.progress.Lock()
	defer t.progress.Unlock()
	t.reported = 0
	t.opts.Progress(0, t.size)
}

// report tells Progress of written, the bytes of the file written as a
// connection counted them. Connections get here in any order: one that
// counted fewer bytes than the last report has nothing new to say, and
// saying it would make the count go back.
func (t *transfer) report(written int64) {
	t.progress.Lock()
	defer t.progress.Unlock()
	if written > t.reported {
		t.reported = written
		t.opts.Progress(written, t.size)
	}
}

// flushEvery is how many bytes of a range are written before they are
// handed to transfer.flush (and the range's end, whatever is left).
const flushEvery = 4 << 20

// copy writes the body at the piece's offset through buf, reporting
// progress and keeping the stall watchdog fed.
func (t *transfer) copy(body io.Reader, link *url.URL, p *piece, buf []byte, watchdog *time.Timer) error {
	t.mu.Lock()
	flushed := p.start + p.done
	t.mu.Unlock()
	for {
		n, err := body.Read(buf)
		if n > 0 {
			watchdog.Reset(t.opts.StallTimeout)
			t.mu.Lock()
			off := p.start + p.done
			t.mu.Unlock()
			if off+int64(n) > p.end {
				return t.malformed("size mismatch", fmt.Sprintf("the content is longer than the metadata's %d bytes", t.size))
			}
			if _, werr := t.w.WriteAt(buf[:n], off); werr != nil {
				return fmt.Errorf("download of file %s: %w", t.fileID, werr)
			}
			if t.streamed != nil {
				t.streamed.Write(buf[:n])
			}
			t.mu.Lock()
			p.done += int64(n)
			t.written += int64(n)
			written := t.written
			if t.sumWaits {
				t.changed.Broadcast()
			}
			waited := false
			for t.hashing && t.unhashed() > checksumLead {
				if !waited {
					watchdog.Stop() // waiting for the checksum is not a stall
					waited = true
				}
				t.behind++
				t.outrun = true
				t.caughtUp.Wait()
				t.behind--
			}
			t.mu.Unlock()
			if waited {
				watchdog.Reset(t.opts.StallTimeout)
			}
			if end := off + int64(n); t.flush != nil && (end-flushed >= flushEvery || end == p.end) {
				t.flush(flushed, end-flushed)
				flushed = end
			}
			if t.opts.Progress != nil {
				t.report(written)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return readError{err}
		}
	}
}

// malformed is a content that is not the one the metadata and the blob's
// headers describe: an ErrMalformedResponse, never resumed.
func (t *transfer) malformed(what, reason string) *UnusableResponseError {
	link, _ := t.links.get()
	return &UnusableResponseError{Operation: "downloadContent", Method: http.MethodGet, URL: t.c.redactURL(link.String()), StatusCode: http.StatusOK,
		Reason: "file " + t.fileID + ": " + what + ": " + strings.TrimSpace(reason), kind: ErrMalformedResponse}
}

// checksumError is a content whose MD5 is not the blob's: it matches
// ErrChecksumMismatch and ErrMalformedResponse, and unwraps to its
// *UnusableResponseError.
type checksumError struct{ *UnusableResponseError }

func (e checksumError) Is(target error) bool {
	return target == ErrChecksumMismatch || target == ErrMalformedResponse
}
func (e checksumError) Unwrap() error { return e.UnusableResponseError }
