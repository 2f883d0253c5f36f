package wrapper

import (
	"context"
	"net/http"

	"github.com/itwin-export/itwin-export/api"
)

// The pipeline. Every request the client sends to the API, the wrapper's
// own and those of the generated clients it lends (API), goes through one
// api.HttpRequestDoer built once per Client, whose stages run in this
// order, each in its own file and calling the next one with m.next():
//
//  1. setHeaders (pipeline_headers.go): Accept (the v1 media type, unless
//     the request has one) and User-Agent.
//  2. retryByOperation (pipeline_retry.go): sends again as the operation
//     allows, waiting Retry-After (capped) or a backoff; a body is sent
//     again by GetBody.
//  3. rateLimit (pipeline_ratelimit.go): the client-wide pause a 429
//     started, and the request budget, for every attempt: the service
//     counts each one.
//  4. authorize (pipeline_auth.go): the bearer token, only to the API's
//     origin.
//  5. exchange (pipeline_exchange.go): the per-exchange limits, the body
//     read (bounded), one debug log record per exchange, redacted.
//  6. transport (pipeline_transport.go): an http.Client that never follows
//     a redirect.
func (c *Client) newPipeline() *pipeline {
	return &pipeline{stages: []stage{
		c.setHeaders,
		c.retryByOperation,
		c.rateLimit,
		c.authorize,
		c.exchange,
		c.transport,
	}, c: c}
}

// stage is one step of the pipeline: it handles m, calling m.next() for the
// rest of the pipeline (any number of times, for retries).
type stage func(m *message) (*http.Response, error)

// pipeline is the client's api.HttpRequestDoer.
type pipeline struct {
	stages []stage
	c      *Client
}

var _ api.HttpRequestDoer = (*pipeline)(nil)

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

// API returns the generated client of the Export API with the client's
// pipeline: the token (to the API's origin only), the headers, retries by
// operation, the rate budget, the per-exchange limits, bounded bodies,
// redacted logs and no redirect followed. Use it for an operation of the
// contract that the wrapper does not wrap, and CheckResponse to classify
// its answers like the wrapper's own. Its Storage operations (GetFile,
// DownloadFile) would go to the Export API's base URL: use the wrapper's
// GetFile and DownloadFile for those.
func (c *Client) API() *api.ClientWithResponses { return c.api }
