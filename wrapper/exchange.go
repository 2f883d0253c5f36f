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
	"sync"
	"sync/atomic"
	"time"

	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
)

// exchange is a finished HTTP exchange: the response's status, header and
// (bounded) body, and the request's operation and URL.
type exchange struct {
	op       operation
	url      *url.URL
	status   int
	header   http.Header
	body     []byte
	attempts int
}

// exchange is the pipeline's stage of one attempt: bounded by the client's
// per-exchange limits, its body read (see readBody) into the response's
// Body (a *responseBody), and logged.
func (c *Client) exchange(m *message) (*http.Response, error) {
	ctx, req := m.ctx, m.req
	actx, dog := c.watch(ctx)
	defer dog.stop()
	if actx != req.Context() {
		m.req = req.WithContext(actx)
	}
	start := c.now()
	resp, err := m.next()
	m.req = req
	if err != nil {
		return nil, c.failed(ctx, m, start, "", dog.cause(actx, transportCause(err)))
	}
	dog.headersArrived(resp.ContentLength != 0)
	b := &responseBody{c: c, ex: exchange{op: *m.op, url: req.URL, status: resp.StatusCode, header: resp.Header, attempts: m.attempt}}
	x := &b.ex
	limit := int64(maxSuccessBody)
	if resp.StatusCode >= 400 {
		limit = maxErrorBody
	}
	x.body, err = readBody(resp.Body, resp.ContentLength, limit, dog)
	b.r.Reset(x.body)
	resp.Body = b
	if c.log.Enabled(ctx, slog.LevelDebug) {
		c.log.LogAttrs(ctx, slog.LevelDebug, "http exchange",
			slog.String("op", m.op.name), slog.String("method", req.Method), slog.String("url", c.redactURL(req.URL.String())),
			slog.Int("status", resp.StatusCode), slog.Duration("duration", c.now().Sub(start)), slog.Int("attempt", m.attempt))
	}
	switch {
	case errors.Is(err, errBodyTooLarge) && resp.StatusCode >= 400:
		return resp, nil // the excerpt is all an error needs
	case errors.Is(err, errBodyTooLarge):
		return nil, &UnusableResponseError{Operation: m.op.name, Method: req.Method, URL: c.redactURL(req.URL.String()), StatusCode: resp.StatusCode,
			Reason: fmt.Sprintf("body larger than %d bytes", limit), Body: redact.Excerpt(x.body, c.knownSecrets()...), kind: ErrMalformedResponse}
	case err != nil:
		return nil, c.failed(ctx, m, start, "reading body: ", dog.cause(actx, err))
	}
	return resp, nil
}

// failed is the error of an attempt that got no usable answer: the
// caller's context's cause when it ended, else a *TransportError. It logs
// the failure.
func (c *Client) failed(ctx context.Context, m *message, start time.Time, stage string, cause error) error {
	text := stage + c.scrub(cause.Error())
	method, u := m.req.Method, c.redactURL(m.req.URL.String())
	if c.log.Enabled(ctx, slog.LevelDebug) {
		c.log.LogAttrs(ctx, slog.LevelDebug, "http exchange failed",
			slog.String("op", m.op.name), slog.String("method", method), slog.String("url", u),
			slog.Duration("duration", c.now().Sub(start)), slog.Int("attempt", m.attempt), slog.String("error", text))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s %s %s: %s%w", m.op.name, method, u, stage, context.Cause(ctx))
	}
	return &TransportError{Operation: m.op.name, Method: method, URL: u, Err: scrubbedError{cause, text}}
}

var errBodyTooLarge = errors.New("body too large")

// readBody reads body to its end, at most limit bytes of it, and closes it:
// a body read to EOF lets the connection be reused. Past limit it returns what it
// read and errBodyTooLarge; a declared length (Content-Length, or -1) past
// limit is refused before reading. The buffer doubles as it fills, so a body
// costs at most about twice its size, never more than twice the limit. Each
// read restarts dog's idle limit.
func readBody(body io.ReadCloser, declared, limit int64, dog *watchdog) ([]byte, error) {
	defer body.Close()
	switch {
	case declared > limit:
		return nil, errBodyTooLarge
	case declared == 0:
		return nil, nil // nothing to read: the transport has ended the body
	}
	size := int64(4 << 10)
	if declared >= 0 {
		size = declared + 1 // +1 sees a body longer than it declared
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf[:limit], errBodyTooLarge
			}
			grown := make([]byte, len(buf), min(2*cap(buf), int(limit+1)))
			copy(grown, buf)
			buf = grown
		}
		dog.kick()
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	if int64(len(buf)) > limit {
		return buf[:limit], errBodyTooLarge
	}
	return buf, nil // read to EOF: the connection can be reused
}

// watchdog ends an attempt that stalls: no response headers within the
// client's header limit, no body byte within its idle limit, or a body not
// complete within its body limit (a server that drips). It cancels the
// attempt's context with a *stallError as the cause. A nil watchdog (every
// limit off) does nothing. Only the attempt's goroutine calls its methods;
// its timer calls fire.
type watchdog struct {
	timer              *time.Timer
	cancel             context.CancelCauseFunc
	header, idle, body time.Duration
	bodyDeadline       time.Time // set before readingBody
	readingBody        atomic.Bool
	armed, fired       bool // the timer is set; it went off (or may have)
	fresh              bool // the body limits were just set: the first read needs no kick
}

// watchdogs keeps watchdogs whose timer never went off, for reuse: the usual
// exchange then costs no timer.
var watchdogs = sync.Pool{New: func() any {
	w := new(watchdog)
	w.timer = time.AfterFunc(maxDuration, w.fire)
	w.timer.Stop()
	return w
}}

// watch returns the context of one attempt and its watchdog, armed for the
// headers.
func (c *Client) watch(ctx context.Context) (context.Context, *watchdog) {
	if c.headerTimeout <= 0 && c.idleTimeout <= 0 && c.bodyTimeout <= 0 || c.deadlineFirst(ctx) {
		return ctx, nil
	}
	actx, cancel := context.WithCancelCause(ctx)
	w := watchdogs.Get().(*watchdog)
	w.cancel, w.header, w.idle, w.body = cancel, c.headerTimeout, c.idleTimeout, c.bodyTimeout
	w.readingBody.Store(false)
	w.fresh = false
	w.arm(w.header)
	return actx, w
}

// deadlineFirst reports whether ctx ends before any of the client's limits
// could: then the attempt ends by ctx's deadline whatever the limits (failed
// reports the context's end first), and needs no watchdog.
func (c *Client) deadlineFirst(ctx context.Context) bool {
	deadline, ok := ctx.Deadline()
	if !ok {
		return false
	}
	first := maxDuration
	for _, d := range [...]time.Duration{c.headerTimeout, c.idleTimeout, c.bodyTimeout} {
		if d > 0 {
			first = min(first, d)
		}
	}
	// The real clock, as the deadline's and the timers' own.
	return time.Until(deadline) <= first
}

func (w *watchdog) fire() {
	switch {
	case !w.readingBody.Load():
		w.cancel(&stallError{what: "no response headers within", limit: w.header})
	case w.body > 0 && !time.Now().Before(w.bodyDeadline):
		w.cancel(&stallError{what: "body not complete within", limit: w.body})
	default:
		w.cancel(&stallError{what: "no body byte for", limit: w.idle})
	}
}

// arm sets the timer to d from now; d <= 0 leaves it off.
func (w *watchdog) arm(d time.Duration) {
	w.disarm()
	if d > 0 {
		w.timer.Reset(d)
		w.armed = true
	}
}

// disarm stops the timer, noting whether it went off first.
func (w *watchdog) disarm() {
	if w.armed && !w.timer.Stop() {
		w.fired = true
	}
	w.armed = false
}

// headersArrived switches from the header limit to the body limits, for a
// body to read when hasBody: the timer goes straight from the one limit to
// the other, and the first read of the body needs no kick.
func (w *watchdog) headersArrived(hasBody bool) {
	if w == nil {
		return
	}
	if !hasBody {
		w.disarm()
		return
	}
	now := time.Now()
	w.bodyDeadline = now.Add(w.body)
	w.readingBody.Store(true)
	d := w.bodyLimit(now)
	switch {
	case d <= 0:
		w.disarm()
	case w.armed:
		if !w.timer.Reset(d) {
			w.fired = true
		}
	default:
		w.timer.Reset(d)
		w.armed = true
	}
	w.fresh = true
}

// kick restarts the idle limit before a read of the body, within what is
// left of the body limit; the first read after headersArrived finds it
// already set.
func (w *watchdog) kick() {
	if w == nil {
		return
	}
	if w.fresh {
		w.fresh = false
		return
	}
	w.arm(w.bodyLimit(time.Now()))
}

// bodyLimit is how long the next read of the body may take from now: the
// idle limit, within what is left of the body limit.
func (w *watchdog) bodyLimit(now time.Time) time.Duration {
	d := w.idle
	if w.body > 0 {
		left := max(w.bodyDeadline.Sub(now), 1)
		if d <= 0 || left < d {
			d = left
		}
	}
	return d
}

// stop releases the watchdog once the exchange is over. One whose timer
// went off is not reused: its fire may still be running.
func (w *watchdog) stop() {
	if w == nil {
		return
	}
	w.disarm()
	w.cancel(nil)
	if !w.fired {
		w.cancel = nil
		watchdogs.Put(w)
	}
}

// cause is err, or the stall that made it when the watchdog ended the
// attempt.
func (w *watchdog) cause(ctx context.Context, err error) error {
	var stall *stallError
	if w != nil && errors.As(context.Cause(ctx), &stall) {
		return stall
	}
	return err
}

// stallError is an attempt ended by a per-exchange limit. It matches
// os.ErrDeadlineExceeded, as a network timeout does.
type stallError struct {
	what  string
	limit time.Duration
}

// Error says which limit ended the attempt.
func (e *stallError) Error() string { return fmt.Sprintf("%s %s", e.what, e.limit) }

// Unwrap makes the stall a deadline, for errors.Is(err, os.ErrDeadlineExceeded).
func (e *stallError) Unwrap() error { return os.ErrDeadlineExceeded }
