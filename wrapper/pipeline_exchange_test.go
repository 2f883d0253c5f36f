package wrapper

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestExchange_BodyReadWithinItsLimit: the stage reads the answer's body
// whole into a *responseBody holding the exchange; a success body past
// maxSuccessBody is an ErrMalformedResponse.
func TestExchange_BodyReadWithinItsLimit(t *testing.T) {
	t.Parallel()
	c := stageClient(t, Options{})
	answer := func(body string) stage {
		return func(m *message) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: httpBody(body), ContentLength: -1, Request: m.req}, nil
		}
	}
	req := httptest.NewRequest("GET", "https://api.example.com/export/connections/c1/runs/r1", nil)
	resp, err := runStage(c, c.exchange, answer(`{"run":{}}`), req)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := resp.Body.(*responseBody)
	if !ok || string(b.exchange().body) != `{"run":{}}` || b.exchange().status != 200 || b.exchange().attempts != 1 {
		t.Errorf("body %T %+v, want the exchange read whole", resp.Body, b)
	}
	_, err = runStage(c, c.exchange, answer(strings.Repeat("x", maxSuccessBody+1)), req)
	if !errors.Is(err, ErrMalformedResponse) {
		t.Errorf("a body past %d bytes: %v, want ErrMalformedResponse", maxSuccessBody, err)
	}
}

// httpBody is a body of s, of unknown length.
func httpBody(s string) *responseBody {
	b := &responseBody{}
	b.r.Reset([]byte(s))
	return b
}
