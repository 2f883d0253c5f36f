package wrapper

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCheckResponseWithoutThePipeline: an answer that did not come through a
// Client is classified too: success statuses, the class and code of an
// error, and a status below 400 the caller does not expect.
func TestCheckResponseWithoutThePipeline(t *testing.T) {
	t.Parallel()
	answer := func(status int, body string) (*http.Response, []byte) {
		return &http.Response{StatusCode: status, Header: http.Header{}, Request: httptest.NewRequest("GET", "https://api.example.com/export/connections/c1?sig=secret-signature", nil)}, []byte(body)
	}
	resp, body := answer(204, "")
	if err := CheckResponse(resp, body); err != nil {
		t.Errorf("204, any 2xx a success: %v", err)
	}
	resp, body = answer(404, `{"error":{"code":"ConnectionNotFound","message":"gone"}}`)
	err := CheckResponse(resp, body, http.StatusOK)
	var ae *APIError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || ae.Code != "ConnectionNotFound" || strings.Contains(err.Error(), "secret-signature") {
		t.Errorf("404: %v, want ErrNotFound with code ConnectionNotFound and no signature", err)
	}
	resp, body = answer(200, `{}`)
	if err := CheckResponse(resp, body, http.StatusCreated); !errors.Is(err, ErrUnexpectedStatus) {
		t.Errorf("200 where 201 is expected: %v, want ErrUnexpectedStatus", err)
	}
}

// runStage runs one stage of c's pipeline alone on req, with last as the
// rest of the pipeline.
func runStage(c *Client, s, last stage, req *http.Request) (*http.Response, error) {
	m := &message{ctx: req.Context(), req: req, op: &opGetRun, attempt: 1, stages: []stage{s, last}}
	return m.next()
}

// stageClient is a client of https://api.example.com/export for the tests
// of one stage.
func stageClient(t *testing.T, opts Options) *Client {
	t.Helper()
	opts.BaseURL, opts.TokenSource = "https://api.example.com/export", StaticToken("stage-token")
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seen is the last stage of a stage's test: it records the request and
// answers status.
func seen(status int, got **http.Request) stage {
	return func(m *message) (*http.Response, error) {
		*got = m.req
		return &http.Response{StatusCode: status, Header: http.Header{}, Body: http.NoBody, Request: m.req}, nil
	}
}
