package apitest

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// violations collects what OnContractViolation receives.
type violations struct {
	mu   sync.Mutex
	errs []error
}

func (v *violations) add(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.errs = append(v.errs, err)
}

func (v *violations) take() []error {
	v.mu.Lock()
	defer v.mu.Unlock()
	errs := v.errs
	v.errs = nil
	return errs
}

// brokenAnswerCase is one exchange put through the contract validation: a
// request, the handler that answers it and what must be reported.
type brokenAnswerCase struct {
	name         string
	method, path string
	body         string
	handler      http.HandlerFunc
	want         string // in the reported error; "" means no report
}

// TestContractValidationCatchesBrokenAnswers puts the server's middleware
// around handlers that break the contract, and checks that each break is
// reported, while what the contract allows is not.
func TestContractValidationCatchesBrokenAnswers(t *testing.T) {
	var got violations
	s := newServer(Options{OnContractViolation: got.add})
	defer s.Close()

	for _, tc := range brokenAnswerCases() {
		t.Run(tc.name, func(t *testing.T) { checkReported(t, s, &got, tc) })
	}
}

// brokenAnswerCases are answers that break the contract in one way each,
// and refusals of invalid requests that the contract allows.
func brokenAnswerCases() []brokenAnswerCase {
	return []brokenAnswerCase{
		{
			name: "field of the wrong type", method: http.MethodGet, path: "/export/connections/c1",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, map[string]any{"connection": map[string]any{"id": 5}})
			},
			want: "response body doesn't match schema",
		},
		{
			name: "error with an extra field", method: http.MethodGet, path: "/export/connections/c1",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]any{"code": "X", "message": "x"}, "status": 404})
			},
			want: "status",
		},
		{
			name: "202 without Location", method: http.MethodPost, path: "/export/connections/c1/runs", body: `{"exportType":"IFC"}`,
			handler: func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) },
			want:    `response header "Location" missing`,
		},
		{
			name: "invalid request accepted", method: http.MethodPost, path: "/export/connections/c1/runs", body: `{"exportType":"DWG"}`,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "/export/connections/c1/runs/r1")
				w.WriteHeader(http.StatusAccepted)
			},
			want: "breaks the contract, yet the server answered 202",
		},
		{
			name: "invalid request refused", method: http.MethodPost, path: "/export/connections/c1/runs", body: `{"exportType":"DWG"}`,
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeError(w, http.StatusUnprocessableEntity, "InvalidConnectionRunRequest", msgCannotPerform)
			},
		},
		{
			name: "JSON as text", method: http.MethodGet, path: "/export/authorizationinformation?redirectUrl=https://x.y",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				_, _ = io.WriteString(w, `{"authorizationInformation":{}}`)
			},
			want: "text/plain",
		},
	}
}

// checkReported sends tc's request through s's middleware around tc's
// handler and checks that got received exactly the report tc wants (none
// when tc.want is empty) by the time the answer arrived.
func checkReported(t *testing.T, s *Server, got *violations, tc brokenAnswerCase) {
	t.Helper()
	ts := httptest.NewServer(s.chain(tc.handler))
	defer ts.Close()
	var body io.Reader
	if tc.body != "" {
		body = strings.NewReader(tc.body)
	}
	req, _ := http.NewRequest(tc.method, ts.URL+tc.path, body)
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	errs := got.take() // reported before the answer was sent
	switch {
	case tc.want == "" && len(errs) > 0:
		t.Errorf("reported %v, want nothing", errors.Join(errs...))
	case tc.want != "" && (len(errs) != 1 || !strings.Contains(errs[0].Error(), tc.want)):
		t.Errorf("reported %v, want one error mentioning %q", errs, tc.want)
	}
}
