package wrapper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// transferBuffer is the size of the one buffer a download reads through:
// all the memory a transfer holds, whatever the file's size.
const transferBuffer = 256 << 10

// transfer moves one file's content from the blob store into an open
// temporary file, resuming after cuts.
type transfer struct {
	c      *Client
	http   *http.Client
	fileID string
	size   int64 // from the metadata: what the file must hold at the end
	file   *os.File
	opts   DownloadOptions

	done int64  // bytes written to file so far
	etag string // of the first answer, sent as If-Range when resuming
	buf  []byte
}

// errCut marks a transfer that ended early in a way a resume may repair:
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

// run downloads the whole file: one link, a fresh one once after a 403,
// and at most opts.MaxResumes resumes after cuts.
func (t *transfer) run(ctx context.Context) error {
	link, err := t.c.downloadLink(ctx, t.fileID)
	if err != nil {
		return err
	}
	refreshed, resumes := false, 0
	for {
		err := t.fetch(ctx, link, resumes+1)
		var cut errCut
		var expired errExpired
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return fmt.Errorf("downloading file %s: %w", t.fileID, context.Cause(ctx))
		case errors.As(err, &expired) && !refreshed:
			refreshed = true
			if link, err = t.c.downloadLink(ctx, t.fileID); err != nil {
				return err
			}
		case errors.As(err, &cut) && resumes < t.opts.MaxResumes && cut.wait <= t.c.retry.MaxRetryAfter:
			resumes++
			wait := cut.wait
			if wait == 0 && resumes > 1 {
				wait = t.c.retry.backoff(resumes - 1) // the first resume goes at once
			}
			t.c.log.LogAttrs(ctx, slog.LevelInfo, "resuming download", slog.String("fileId", t.fileID), slog.Int64("from", t.done),
				slog.Int("resume", resumes), slog.Duration("wait", wait), slog.String("reason", err.Error()))
			if err := sleepCtx(ctx, wait); err != nil {
				return fmt.Errorf("downloading file %s: %w", t.fileID, err)
			}
		case errors.As(err, &cut):
			return cut.err
		case errors.As(err, &expired):
			return expired.err
		default:
			return err
		}
	}
}

// errStalled is the cause of a transfer ended because no byte arrived for
// DownloadOptions.StallTimeout.
var errStalled = errors.New("no data received within the stall timeout")

// fetch makes one request for the rest of the file and writes what comes.
func (t *transfer) fetch(parent context.Context, link *url.URL, attempt int) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	watchdog := time.AfterFunc(t.opts.StallTimeout, func() { cancel(errStalled) })
	defer watchdog.Stop()

	resp, err := t.send(ctx, link, attempt)
	if err != nil {
		return t.failed(parent, ctx, link, err)
	}
	defer resp.Body.Close()
	if err := t.accept(resp, link); err != nil {
		return err
	}
	err = t.copy(resp.Body, link, watchdog)
	var cut readError
	switch {
	case err == nil && t.done != t.size:
		return t.mismatch(link, fmt.Sprintf("the content ended after %d bytes; the metadata says %d", t.done, t.size))
	case errors.As(err, &cut):
		return t.failed(parent, ctx, link, cut.err)
	}
	return err
}

// readError is a failure to read the body, as opposed to one to write it.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }

// send sends the request: no credential of the client at all, a Range
// (with If-Range) when resuming.
func (t *transfer) send(ctx context.Context, link *url.URL, attempt int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "", nil)
	if err != nil {
		return nil, err
	}
	req.URL, req.Host = link, link.Host
	req.Header["User-Agent"] = t.c.userAgent
	if t.done > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(t.done, 10)+"-")
		if t.etag != "" {
			req.Header.Set("If-Range", t.etag)
		}
	}
	start := time.Now()
	resp, err := t.http.Do(req)
	if t.c.log.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{slog.String("op", "downloadContent"), slog.String("method", http.MethodGet),
			slog.String("url", t.c.redactURL(link.String())), slog.Duration("duration", time.Since(start)), slog.Int("attempt", attempt)}
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

// accept checks an answer's status and headers before its body is read.
func (t *transfer) accept(resp *http.Response, link *url.URL) error {
	switch resp.StatusCode {
	case http.StatusOK:
		if t.done > 0 { // the store sent everything again: start over
			if err := t.restart(); err != nil {
				return err
			}
		}
		t.etag = resp.Header.Get("ETag")
		if resp.ContentLength >= 0 && resp.ContentLength != t.size {
			return t.mismatch(link, fmt.Sprintf("Content-Length %d; the metadata says %d", resp.ContentLength, t.size))
		}
		return nil
	case http.StatusPartialContent:
		want := fmt.Sprintf("bytes %d-%d/%d", t.done, t.size-1, t.size)
		if got := resp.Header.Get("Content-Range"); got != want {
			return t.mismatch(link, fmt.Sprintf("Content-Range %q, asked for %q", got, want))
		}
		return nil
	}
	body, _ := readBody(resp.Body, resp.ContentLength, maxErrorBody, nil)
	x := &exchange{op: opDownloadContent, url: link, status: resp.StatusCode, header: resp.Header, body: body, attempts: 1}
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

// restart empties the temporary file to receive the whole content again.
func (t *transfer) restart() error {
	if err := t.file.Truncate(0); err != nil {
		return err
	}
	if _, err := t.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	t.done = 0
	return nil
}

// copy writes the body to the file through one buffer, reporting progress
// and keeping the stall watchdog fed.
func (t *transfer) copy(body io.Reader, link *url.URL, watchdog *time.Timer) error {
	if t.buf == nil {
		t.buf = make([]byte, transferBuffer)
	}
	for {
		n, err := body.Read(t.buf)
		if n > 0 {
			watchdog.Reset(t.opts.StallTimeout)
			if t.done+int64(n) > t.size {
				return t.mismatch(link, fmt.Sprintf("the content is longer than the metadata's %d bytes", t.size))
			}
			if _, werr := t.file.Write(t.buf[:n]); werr != nil {
				return fmt.Errorf("writing %s: %w", t.file.Name(), werr)
			}
			t.done += int64(n)
			if t.opts.Progress != nil {
				t.opts.Progress(t.done, t.size)
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

// mismatch is a content whose size is not the metadata's: a malformed
// answer, never resumed.
func (t *transfer) mismatch(link *url.URL, reason string) error {
	return &ResponseError{Operation: "downloadContent", Method: http.MethodGet, URL: t.c.redactURL(link.String()), StatusCode: http.StatusOK,
		Reason: "file " + t.fileID + ": size mismatch: " + strings.TrimSpace(reason), kind: ErrMalformedResponse}
}
