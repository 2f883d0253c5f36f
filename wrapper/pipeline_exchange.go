package wrapper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/itwin-export/itwin-export/wrapper/internal/bounded"
	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
)

// exchange is a finished HTTP exchange: the response's status, header and
// (bounded) body, and the request's operation and URL.
type exchange struct {
	op       *operation
	url      *url.URL
	status   int
	header   http.Header
	body     []byte
	attempts int
}

// exchange is the pipeline's stage of one attempt: bounded by the client's
// per-exchange limits (a bounded.Watchdog), its body read whole (within
// maxSuccessBody, or maxErrorBody for an error status) into the response's
// Body (a *responseBody), and logged.
func (c *Client) exchange(m *message) (*http.Response, error) {
	ctx, req := m.ctx, m.req
	actx, dog := bounded.Watch(ctx, bounded.Limits{Header: c.headerTimeout, Idle: c.idleTimeout, Body: c.bodyTimeout})
	defer dog.Stop()
	actx, cancel := c.clientTimeout(actx)
	defer cancel()
	if actx != req.Context() {
		m.req = req.WithContext(actx)
	}
	start := c.now()
	resp, err := m.next()
	m.req = req
	if err != nil {
		return nil, c.failed(ctx, m, start, "", dog.Cause(actx, transportCause(err)))
	}
	dog.HeadersArrived(resp.ContentLength != 0)
	b := &responseBody{c: c, ex: exchange{op: m.op, url: req.URL, status: resp.StatusCode, header: resp.Header, attempts: m.attempt}}
	x := &b.ex
	limit := int64(maxSuccessBody)
	if resp.StatusCode >= 400 {
		limit = maxErrorBody
	}
	x.body, err = bounded.ReadAll(resp.Body, resp.ContentLength, limit, dog)
	b.r.Reset(x.body)
	resp.Body = b
	if c.log.Enabled(ctx, slog.LevelDebug) {
		c.log.LogAttrs(ctx, slog.LevelDebug, "http exchange",
			slog.String("op", m.op.name), slog.String("method", req.Method), slog.String("url", c.redactURL(req.URL.String())),
			slog.Int("status", resp.StatusCode), slog.Duration("duration", c.now().Sub(start)), slog.Int("attempt", m.attempt))
	}
	switch {
	case errors.Is(err, bounded.ErrTooLarge) && resp.StatusCode >= 400:
		return resp, nil // the excerpt is all an error needs
	case errors.Is(err, bounded.ErrTooLarge):
		return nil, &UnusableResponseError{Operation: m.op.name, Method: req.Method, URL: c.redactURL(req.URL.String()), StatusCode: resp.StatusCode,
			Reason: fmt.Sprintf("body larger than %d bytes", limit), Body: redact.Excerpt(x.body, c.knownSecrets()...), kind: ErrMalformedResponse}
	case err != nil:
		return nil, c.failed(ctx, m, start, "reading body: ", dog.Cause(actx, err))
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

// responseBody is the body of an answer the pipeline read: the exchange,
// which holds the bytes, a reader of them, and the client that classifies
// it (see CheckResponse).
type responseBody struct {
	r  bytes.Reader
	c  *Client
	ex exchange
}

// Read reads the body.
func (b *responseBody) Read(p []byte) (int, error) { return b.r.Read(p) }

// Close does nothing: the body is read already.
func (b *responseBody) Close() error { return nil }

// exchange is the exchange the body came from.
func (b *responseBody) exchange() *exchange { return &b.ex }
