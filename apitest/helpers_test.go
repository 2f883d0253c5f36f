package apitest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

// token is the bearer token the tests send.
const token = "test-token"

// start is when every ManualClock of the tests begins.
var start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

var (
	hexID  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	guidID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// newServer starts a server for one test, validating every exchange against
// the contract, and closes it when the test ends.
func newServer(t *testing.T, opts apitest.Options) *apitest.Server {
	t.Helper()
	opts.OnContractViolation = func(err error) { t.Errorf("contract violation: %v", err) }
	s := apitest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// noFollow is a client that does not follow redirects, as the wrapper does.
var noFollow = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

// response is what a test needs of an answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call makes one request with the test token; a non-empty body is sent as
// JSON.
func call(t *testing.T, method, url, body string) response {
	t.Helper()
	return callWith(t, method, url, body, map[string]string{"Authorization": "Bearer " + token})
}

// callWith makes one request with exactly the given headers.
func callWith(t *testing.T, method, url, body string, header map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/vnd.bentley.itwin-platform.v1+json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// decode decodes a JSON body into a T, failing the test when it cannot.
func decode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("decode %T from %d %q: %v", v, r.status, r.body, err)
	}
	return v
}

// wantError checks that r is an error answer with the status, code, message
// and details given.
func wantError(t *testing.T, r response, status int, code, message string, details ...api.ErrorDetails) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	want := api.ErrorResponse{Error: api.Error{Code: code, Message: message}}
	if len(details) > 0 {
		want.Error.Details = &details
	}
	if diff := cmp.Diff(want, decode[api.ErrorResponse](t, r)); diff != "" {
		t.Errorf("error body (-want +got):\n%s", diff)
	}
}

// d builds an error detail; an empty target is left out.
func d(code, message, target string) api.ErrorDetails {
	e := api.ErrorDetails{Code: code, Message: message}
	if target != "" {
		e.Target = &target
	}
	return e
}

// addConnection seeds a connection for iModel m.
func addConnection(s *apitest.Server, m string) string {
	return s.AddConnection(api.ExportConnectionCreate{IModelID: m}).ID
}

// createRun posts a valid create-run body and returns the answer.
func createRun(t *testing.T, s *apitest.Server, connectionID string) response {
	t.Helper()
	return call(t, http.MethodPost, s.URL+"/connections/"+connectionID+"/runs", `{"exportType":"IFC","ifcVersion":"IFC4.3"}`)
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }
