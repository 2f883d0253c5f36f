package apitest_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/apitest"
)

func TestFaultStatusBodies(t *testing.T) {
	s := newServer(t, apitest.Options{})
	id := addConnection(s, "m1")
	runs := s.URL + "/connections/" + id + "/runs"

	t.Run("API error with extra header", func(t *testing.T) {
		s.InjectFault(apitest.Fault{Method: http.MethodPost, Path: "/export/connections/*/runs", Status: http.StatusServiceUnavailable,
			Header: http.Header{"Retry-After": {"7"}}})
		// The fault answers before authentication.
		r := callWith(t, http.MethodPost, runs, `{"exportType":"IFC"}`, nil)
		wantError(t, r, http.StatusServiceUnavailable, "ServiceUnavailable", "503 Service Unavailable.")
		if got := r.header.Get("Retry-After"); got != "7" {
			t.Errorf("Retry-After = %q, want 7", got)
		}
		if r := createRun(t, s, id); r.status != http.StatusAccepted {
			t.Errorf("after the fault: %d, want 202", r.status)
		}
	})
	t.Run("default status", func(t *testing.T) {
		s.InjectFault(apitest.Fault{})
		wantError(t, call(t, http.MethodGet, runs, ""), http.StatusInternalServerError, "InternalServerError", "500 Internal Server Error.")
	})
	t.Run("HTML", func(t *testing.T) {
		s.InjectFault(apitest.Fault{Status: http.StatusBadGateway, Body: apitest.FaultBodyHTML})
		r := call(t, http.MethodGet, runs, "")
		if r.status != http.StatusBadGateway || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(r.body), "<h1>Bad Gateway</h1>") {
			t.Errorf("got %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
		}
	})
	t.Run("empty", func(t *testing.T) {
		s.InjectFault(apitest.Fault{Status: http.StatusGatewayTimeout, Body: apitest.FaultBodyEmpty, Header: http.Header{"X-Fault": {"yes"}}})
		r := call(t, http.MethodGet, runs, "")
		if r.status != http.StatusGatewayTimeout || len(r.body) != 0 || r.header.Get("X-Fault") != "yes" {
			t.Errorf("got %d %q %v", r.status, r.body, r.header)
		}
	})
	t.Run("count and matching", func(t *testing.T) {
		s.InjectFault(apitest.Fault{Method: http.MethodGet, Path: "/export/connections/*/runs", Count: 2, Status: http.StatusTooManyRequests})
		if r := call(t, http.MethodGet, s.URL+"/connections/"+id, ""); r.status != http.StatusOK {
			t.Errorf("other path: %d, want 200", r.status)
		}
		if r := call(t, http.MethodDelete, s.URL+"/connections/"+id+"/runs", ""); r.status != http.StatusNotFound {
			t.Errorf("other method: %d, want the route's 404", r.status)
		}
		for range 2 {
			wantError(t, call(t, http.MethodGet, runs, ""), http.StatusTooManyRequests, "TooManyRequests", "429 Too Many Requests.")
		}
		if r := call(t, http.MethodGet, runs, ""); r.status != http.StatusOK {
			t.Errorf("after two faults: %d, want 200", r.status)
		}
	})
}

func TestFaultHangEndsWithTheClientsDeadline(t *testing.T) {
	s := newServer(t, apitest.Options{})
	s.InjectFault(apitest.Fault{Kind: apitest.FaultHang})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/connections", strings.NewReader(`{"iModelId":"m1"}`))
	began := time.Now()
	_, err := http.DefaultClient.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want a deadline error", err)
	}
	if waited := time.Since(began); waited < 200*time.Millisecond || waited > 5*time.Second {
		t.Errorf("waited %v", waited)
	}
	if r := call(t, http.MethodGet, s.URL+"/connections?imodelId=m1", ""); r.status != http.StatusOK {
		t.Errorf("after the hang: %d", r.status)
	}
}

func TestFaultDropGivesATransportError(t *testing.T) {
	s := newServer(t, apitest.Options{})
	s.InjectFault(apitest.Fault{Kind: apitest.FaultDrop, Path: "/export/connections"})
	client := &http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, s.URL+"/connections?imodelId=m1", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %d, want a transport error", resp.StatusCode)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v: a timeout, not a dropped connection", err)
	}
	if r := call(t, http.MethodGet, s.URL+"/connections?imodelId=m1", ""); r.status != http.StatusOK {
		t.Errorf("after the drop: %d", r.status)
	}
}
