package apitest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/itwin-export/itwin-export/apitest"
)

// controlExchanges are the control requests checked against the document,
// with the status each must answer.
var controlExchanges = []struct {
	method, path, body string
	status             int
}{
	{http.MethodPost, "reset", "", http.StatusNoContent},
	{http.MethodGet, "info", "", http.StatusOK},
	{http.MethodPost, "script", `{"clock": {"rate": 0, "advanceSeconds": 1},
		"connections": [{"name": "c", "iModelId": "m", "count": 2, "outcome": "Error", "completedRuns": 1, "activeRun": "r"}],
		"answers": [{"method": "GET", "path": "/export/connections", "count": 1, "kind": "status", "status": 200,
		             "headers": {"X-A": "b"}, "body": "json", "json": {"connections": []}}],
		"files": [{"name": "f", "displayName": "a.ifc", "size": 10}],
		"blobFaults": [{"fileId": "{f}", "count": 1, "kind": "cut", "after": 5, "delta": 0, "delayMillis": 0}]}`, http.StatusOK},
	{http.MethodPost, "script", `{"answers": [{"status": 42}]}`, http.StatusBadRequest},
	{http.MethodGet, "requests", "", http.StatusOK},
	{http.MethodPost, "verify", `{"requests": [{"origin": "any", "method": "GET", "path": "/export/*", "count": 0, "min": 0, "max": 1,
		"headers": {"Authorization": "present"}, "withHeaders": {"Range": "absent"}, "minIntervalMillis": 10}]}`, http.StatusOK},
	{http.MethodPost, "verify", `{"requests": 3}`, http.StatusBadRequest},
}

// controlRouter loads conformance/control-api.yaml, valid, with the
// server's origin as its server.
func controlRouter(t *testing.T, origin string) routers.Router {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile("../conformance/control-api.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: origin + "/_fake"}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return router
}

// TestControlAPIMatchesItsDocument: every control operation, answered by the
// server, is what conformance/control-api.yaml says, requests and answers
// (errors included), so the document a binding author reads does not drift
// from the fake.
func TestControlAPIMatchesItsDocument(t *testing.T) {
	ctx := context.Background()
	s := newServer(t, apitest.Options{Control: true})
	origin := strings.TrimSuffix(s.URL, "/export")
	router := controlRouter(t, origin)
	// A request to the API, so that one is recorded.
	call(t, http.MethodGet, s.URL+"/connections?imodelId=m", "")
	for _, x := range controlExchanges {
		req, err := http.NewRequest(x.method, origin+"/_fake/"+x.path, strings.NewReader(x.body))
		if err != nil {
			t.Fatal(err)
		}
		if x.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: %v", x.method, x.path, err)
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
		if x.status < 400 {
			if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
				t.Errorf("%s %s: request breaks the document: %v", x.method, x.path, err)
			}
			req.Body = io.NopCloser(strings.NewReader(x.body))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != x.status {
			t.Errorf("%s %s: status %d, want %d: %s", x.method, x.path, resp.StatusCode, x.status, body)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
			Body: io.NopCloser(bytes.NewReader(body))}
		if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
			t.Errorf("%s %s: answer breaks the document: %v", x.method, x.path, err)
		}
	}
}
