package wrapper

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
)

// The pipeline. Every request the client sends to the API, the wrapper's
// own and those of the generated clients it lends (API), goes through one
// api.HttpRequestDoer built once per Client, whose stages run in this
// order, each calling the next one with m.next():
//
//  1. setHeaders: Accept (the v1 media type, unless the request has one)
//     and User-Agent.
//  2. retryByOperation: sends again as the operation allows (see retryRule), waiting
//     Retry-After (capped) or a backoff; a body is sent again by GetBody.
//  3. rateLimit: the client-wide pause a 429 started, and the request budget,
//     for every attempt: the service counts each one.
//  4. authorize: the bearer token, only to the API's origin.
//  5. exchange: the per-exchange limits, the body read (bounded), one debug
//     log record per exchange, redacted.
//  6. transport: an http.Client that never follows a redirect.
func (c *Client) newPipeline() *pipeline {
	return &pipeline{c: c, stages: []stage{
		c.setHeaders,
		c.retryByOperation,
		c.rateLimit,
		c.authorize,
		c.exchange,
		c.transport,
	}}
}

// stage is one step of the pipeline: it handles m, calling m.next() for the
// rest of the pipeline (any number of times, for retries).
type stage func(m *message) (*http.Response, error)

// pipeline is the client's api.HttpRequestDoer.
type pipeline struct {
	c      *Client
	stages []stage
}

// message is one request on its way through the pipeline.
type message struct {
	ctx     context.Context // the caller's; exchange derives each attempt's
	req     *http.Request
	op      *operation
	attempt int // 1 for the first send
	stages  []stage
	i       int // the next stage
}

// next runs the rest of the pipeline on m.
func (m *message) next() (*http.Response, error) {
	s := m.stages[m.i]
	m.i++
	resp, err := s(m)
	m.i--
	return resp, err
}

// Do sends req through the pipeline: the api.HttpRequestDoer of the
// generated clients. The answer's body is read already, whole (within the
// client's bounds): reading and closing it cost nothing.
func (p *pipeline) Do(req *http.Request) (*http.Response, error) {
	return p.send(req.Context(), p.c.operationOf(req), req)
}

// send sends req, a request of op, within ctx.
func (p *pipeline) send(ctx context.Context, op *operation, req *http.Request) (*http.Response, error) {
	m := &message{ctx: ctx, req: req, op: op, stages: p.stages}
	return m.next()
}

// setHeaders is the pipeline's first stage: the Accept and User-Agent
// headers. Canonical keys and ready-made values, written directly:
// Header.Set would canonicalize the keys and allocate new values on every
// request.
func (c *Client) setHeaders(m *message) (*http.Response, error) {
	h := m.req.Header
	if _, ok := h["Accept"]; !ok {
		h["Accept"] = acceptValue
	}
	h["User-Agent"] = c.userAgent
	return m.next()
}

// transport is the pipeline's last stage: the http.Client that never
// follows a redirect.
func (c *Client) transport(m *message) (*http.Response, error) {
	return c.http.Do(m.req)
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

// API returns the generated client of the Export API with the client's
// pipeline: the token (to the API's origin only), the headers, retries by
// operation, the rate budget, the per-exchange limits, bounded bodies,
// redacted logs and no redirect followed. Use it for an operation of the
// contract that the wrapper does not wrap, and CheckResponse to classify
// its answers like the wrapper's own. Its Storage operations (GetFile,
// DownloadFile) would go to the Export API's base URL: use the wrapper's
// GetFile and DownloadFile for those.
func (c *Client) API() *api.ClientWithResponses { return c.api }

// anonymous classifies answers that did not come through a Client's
// pipeline: no secrets of its own to scrub, the real clock.
var anonymous = &Client{secretsScrubber: redact.NewScrubber(nil), now: time.Now}

// CheckResponse classifies the answer of an operation called through API():
// nil when its status is one of success (any 2xx when none is given),
// otherwise the error the wrapper's own calls return for it: an *APIError
// from 400 up (errors.Is ErrNotFound, ErrServer, ...; the API's code and
// message read from the error body), a *UnusableResponseError matching
// ErrUnexpectedStatus below. Its URL and body excerpt are redacted, of the
// client's tokens and secrets too when resp came through a Client's
// pipeline. body is the body read (the generated response's Body).
func CheckResponse(resp *http.Response, body []byte, success ...int) error {
	if resp == nil {
		return errors.New("wrapper.CheckResponse: no response")
	}
	if slices.Contains(success, resp.StatusCode) || (len(success) == 0 && resp.StatusCode >= 200 && resp.StatusCode < 300) {
		return nil
	}
	if b, ok := resp.Body.(*responseBody); ok {
		return b.c.unexpected(b.exchange())
	}
	x := &exchange{url: &url.URL{}, status: resp.StatusCode, header: resp.Header, body: body, attempts: 1}
	if resp.Request != nil && resp.Request.URL != nil {
		x.url = resp.Request.URL
		x.op = operation{name: resp.Request.Method + " " + x.url.EscapedPath(), method: resp.Request.Method}
	}
	return anonymous.unexpected(x)
}
