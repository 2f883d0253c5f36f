package apitest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/apitest"
)

// TestBodiesMustBeJSON sends valid JSON under other media types: each create
// answers the contract's 422 and creates nothing, even where a JSON body
// would be sent on to the active run (303).
func TestBodiesMustBeJSON(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock, StepDuration: time.Minute})
	id := addConnection(s, "m1")
	if r := createRun(t, s, id); r.status != http.StatusAccepted {
		t.Fatalf("create run: %d", r.status) // active from now on: a JSON create answers 303
	}
	const detailMsg = "Request body must be sent with Content-Type application/json."
	for _, tc := range []struct{ name, contentType, body string }{
		{"text/plain", "text/plain", `{"exportType":"IFC"}`},
		{"form", "application/x-www-form-urlencoded", `exportType=IFC`},
		{"no Content-Type", "", `{"exportType":"IFC"}`},
		{"JSON-like vendor type", "application/vnd.bentley.itwin-platform.v1+json", `{"exportType":"IFC"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			header := map[string]string{"Authorization": "Bearer " + token, "Content-Type": tc.contentType}
			wantError(t, callWith(t, http.MethodPost, s.URL+"/connections/"+id+"/runs", tc.body, header),
				http.StatusUnprocessableEntity, "InvalidConnectionRunRequest", "Cannot perform operation.",
				d("InvalidRequestBody", detailMsg, ""))
			wantError(t, callWith(t, http.MethodPost, s.URL+"/connections", `{"iModelId":"m2"}`, header),
				http.StatusUnprocessableEntity, "InvalidExportConnectionRequest", "Cannot perform operation.",
				d("InvalidRequestBody", detailMsg, ""))
		})
	}
	if n := s.RunCount(id); n != 1 {
		t.Errorf("RunCount = %d, want 1", n)
	}
	list := call(t, http.MethodGet, s.URL+"/connections?imodelId=m2", "")
	if page := decode[struct{ Connections []any }](t, list); len(page.Connections) != 0 {
		t.Errorf("connections of m2 created: %d", len(page.Connections))
	}

	header := map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json; charset=utf-8"}
	if r := callWith(t, http.MethodPost, s.URL+"/connections", `{"iModelId":"m2"}`, header); r.status != http.StatusCreated {
		t.Errorf("application/json with a charset: %d %s", r.status, r.body)
	}
}
