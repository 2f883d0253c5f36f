package wrapper_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

const testToken = "test-token-0123456789abcdef"

// seen is one request a scripted server received.
type seen struct {
	Method string
	URI    string
	Header http.Header
	Body   string
}

// scripted is an httptest server whose answers a test writes as a function of
// the request number (0-based). It records every request and counts the TCP
// connections it accepted.
type scripted struct {
	*httptest.Server
	mu       sync.Mutex
	requests []seen
	conns    atomic.Int64
}

func newScripted(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *scripted {
	t.Helper()
	s := &scripted{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		n := len(s.requests)
		s.requests = append(s.requests, seen{Method: r.Method, URI: r.RequestURI, Header: r.Header.Clone(), Body: string(body)})
		s.mu.Unlock()
		answer(n, w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) seen() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.requests...)
}

// base is the API base URL on this server.
func (s *scripted) base() string { return s.URL + "/export" }

// fastRetry keeps retry waits short in tests that are not about their length.
var fastRetry = wrapper.RetryPolicy{MaxAttempts: 4, MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, MaxRetryAfter: 5 * time.Second}

func newClient(t *testing.T, base string, mods ...func(*wrapper.Options)) *wrapper.Client {
	t.Helper()
	opts := wrapper.Options{BaseURL: base, TokenSource: wrapper.StaticToken(testToken), Retry: fastRetry, HTTPClient: &http.Client{Transport: &http.Transport{}}}
	for _, m := range mods {
		m(&opts)
	}
	c, err := wrapper.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if tr, ok := opts.HTTPClient.Transport.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
	})
	return c
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// fakeClock is a Client's clock in a test: time moves only by the waits
// the client asks for, and every wait the client asks for is recorded and returns at
// once (or with the context's cause when the context has ended), so a test
// asserts the waits the client computed, exactly.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
	// onSleep, when set, runs at each wait, before it returns: a test makes
	// something happen "while" the client waits.
	onSleep func(ctx context.Context, d time.Duration)
	// frozen, when set, keeps the time still through waits, which
	// otherwise move it on by their length.
	frozen bool
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.sleeps = append(f.sleeps, d)
	hook := f.onSleep
	f.mu.Unlock()
	if hook != nil {
		hook(ctx, d)
	}
	f.mu.Lock()
	if !f.frozen {
		f.t = f.t.Add(d)
	}
	f.mu.Unlock()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// Sleeps are the waits asked for so far.
func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

// withClock sets the client's clock to a new fakeClock, which it returns.
func withClock(c *wrapper.Client) *fakeClock {
	clock := newFakeClock()
	wrapper.SetClock(c, clock.Now, clock.Sleep)
	return clock
}

func ptr[T any](v T) *T { return &v }

func ifcRequest() api.ExportConnectionRunCreate {
	return api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, IFCVersion: ptr(api.IFCVersionIFC43)}
}
