package wrapper

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestTransport_NoRedirectFollowed: a 303 to another host comes back as it
// is; that host receives nothing.
func TestTransport_NoRedirectFollowed(t *testing.T) {
	t.Parallel()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the redirect target received %s %s", r.Method, r.URL)
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/runs/r1", http.StatusSeeOther)
	}))
	defer srv.Close()
	c := stageClient(t, Options{})
	req, _ := http.NewRequest("POST", srv.URL+"/export/connections/c1/runs", http.NoBody)
	resp, err := runStage(c, c.transport, nil, req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != other.URL+"/runs/r1" {
		t.Errorf("status %d, Location %q; want the 303 as sent", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestTransport_HTTPClientTimeout: Options.HTTPClient's Timeout ends an
// exchange whose answer does not come within it, with an error matching
// context.DeadlineExceeded, as http.Client's does.
func TestTransport_HTTPClientTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	c := stageClient(t, Options{HTTPClient: &http.Client{Timeout: 20 * time.Millisecond}})
	ctx, cancel := c.clientTimeout(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/export/connections/c1", nil)
	_, err := runStage(c, c.transport, nil, req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err %v, want one matching context.DeadlineExceeded", err)
	}
}
