package apitest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
)

// getWith sends one GET through the server's handler with a bearer token.
func getWith(t *testing.T, s *Server, token string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, basePath+"/connections?imodelId=m1", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	return rec.Code
}

// TestRateWindowsExpire sends many tokens in one window, then a few in the
// next: the windows of the first are forgotten.
func TestRateWindowsExpire(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s := newServer(Options{Clock: clock, RateLimit: 5, RateWindow: time.Minute})
	for i := range 1000 {
		if code := getWith(t, s, "old-"+strconv.Itoa(i)); code != http.StatusOK {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	clock.Advance(time.Minute)
	for i := range 100 {
		getWith(t, s, "new-"+strconv.Itoa(i))
	}
	s.mu.Lock()
	n := len(s.rates)
	s.mu.Unlock()
	if n > 200 {
		t.Errorf("%d rate windows kept with 100 tokens active, want at most 200", n)
	}
}

// TestRateWindowsAreCapped sends more tokens in one window than the server
// tracks: the oldest windows are forgotten.
func TestRateWindowsAreCapped(t *testing.T) {
	clock := NewManualClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	s := newServer(Options{Clock: clock, RateLimit: 5, RateWindow: time.Hour})
	for i := range maxRateTokens + 100 {
		if i%1000 == 0 {
			clock.Advance(time.Second) // the first windows are the oldest
		}
		getWith(t, s, "t-"+strconv.Itoa(i))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.rates); n > maxRateTokens {
		t.Errorf("%d rate windows kept, want at most %d", n, maxRateTokens)
	}
	if _, ok := s.rates["t-"+strconv.Itoa(maxRateTokens+99)]; !ok {
		t.Error("the newest token's window was forgotten")
	}
}

// TestForgottenConnectionsLeaveNothing deletes many connections that ran:
// their run counts are kept only for the last KeepConnections of them.
func TestForgottenConnectionsLeaveNothing(t *testing.T) {
	s := newServer(Options{KeepConnections: 2})
	for range 10 {
		s.mu.Lock()
		c := s.addConnectionLocked(api.ExportConnectionCreate{IModelID: "m1"})
		s.addRunLocked(c, &run{id: "r"})
		s.outcomes[c.id] = OutcomeError
		s.forgetConnectionLocked(c.id)
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.runCounts) > 2 || len(s.outcomes) > 2 || len(s.forgotten) > 2 || len(s.connections) != 0 || s.connBytes != 0 {
		t.Errorf("after ten connections deleted: %d run counts, %d outcomes, %d forgotten ids, %d connections, %d bytes",
			len(s.runCounts), len(s.outcomes), len(s.forgotten), len(s.connections), s.connBytes)
	}
}
