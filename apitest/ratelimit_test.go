package apitest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/apitest"
)

func TestRateLimit(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock, RateLimit: 3, RateWindow: time.Minute})
	url := s.URL + "/connections/" + addConnection(s, "m1")
	get := func() response { return call(t, http.MethodGet, url, "") }

	// Requests without a valid token are not counted.
	for range 5 {
		if r := callWith(t, http.MethodGet, url, "", nil); r.status != http.StatusUnauthorized {
			t.Fatalf("no token: %d", r.status)
		}
	}
	for i := range 3 {
		if r := get(); r.status != http.StatusOK {
			t.Fatalf("request %d within the budget: %d", i, r.status)
		}
	}
	clock.Advance(20*time.Second + 500*time.Millisecond)
	r := get()
	wantError(t, r, http.StatusTooManyRequests, "RateLimitExceeded",
		"The client sent more requests than allowed by this API for the current tier of the client.")
	if got := r.header.Get("Retry-After"); got != "40" { // 39.5s left, rounded up
		t.Errorf("Retry-After = %q, want 40", got)
	}

	// Another token has its own budget.
	other := callWith(t, http.MethodGet, url, "", map[string]string{"Authorization": "Bearer other"})
	if other.status != http.StatusOK {
		t.Errorf("other token: %d", other.status)
	}

	clock.Advance(39*time.Second + 400*time.Millisecond) // 0.1s left: at least 1
	if got := get().header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After with 0.1s left = %q, want 1", got)
	}
	clock.Advance(100 * time.Millisecond) // the window is over: a fresh budget
	for i := range 3 {
		if r := get(); r.status != http.StatusOK {
			t.Errorf("request %d of the new window: %d", i, r.status)
		}
	}
	if r := get(); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "60" {
		t.Errorf("over the new budget: %d, Retry-After %q; want 429, 60", r.status, r.header.Get("Retry-After"))
	}
}
