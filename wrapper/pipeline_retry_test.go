package wrapper_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

func TestRetryByOperation_RetryAfterIsWaited(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusTooManyRequests, `{"error":{"code":"RateLimitExceeded","message":"slow down"}}`)
			return
		}
		w.Header().Set("Location", "/export/connections/c1/runs/r1")
		w.WriteHeader(http.StatusAccepted)
	})
	c := newClient(t, srv.base())
	clock := withClock(c)
	if _, err := c.CreateRun(context.Background(), "c1", ifcRequest()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.seen()); n != 2 {
		t.Fatalf("server saw %d requests, want 2", n)
	}
	if diff := cmp.Diff([]time.Duration{time.Second}, clock.Sleeps()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestRetryByOperation_RetryAfterAboveTheCapReturnsAtOnce(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		writeJSON(w, http.StatusTooManyRequests, `{"error":{"code":"RateLimitExceeded","message":"The client sent more requests than allowed by this API for the current tier of the client."}}`)
	})
	c := newClient(t, srv.base())
	clock := withClock(c)
	_, err := c.CreateRun(context.Background(), "c1", ifcRequest())
	if !errors.Is(err, wrapper.ErrRateLimited) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	var ae *wrapper.APIError
	if !errors.As(err, &ae) || ae.RetryAfter != time.Hour || ae.Code != "RateLimitExceeded" || ae.StatusCode != 429 {
		t.Errorf("APIError = %+v, want 429 RateLimitExceeded with RetryAfter 1h", ae)
	}
	if waits := clock.Sleeps(); len(waits) != 0 {
		t.Errorf("waited %v: a Retry-After above the cap must not be slept on", waits)
	}
	if n := len(srv.seen()); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
	if !strings.Contains(err.Error(), "retry after 1h0m0s") {
		t.Errorf("error text does not carry the wait: %v", err)
	}
}

// TestRetryByOperation_RetryAfterDateIsReadOnTheClientsClock: an HTTP-date Retry-After is a
// wait from the client's now, and a date past is no wait.
func TestRetryByOperation_RetryAfterDateIsReadOnTheClientsClock(t *testing.T) {
	t.Parallel()
	now := newFakeClock().Now()
	for _, tc := range []struct {
		date string
		want []time.Duration
	}{
		{now.Add(4 * time.Second).Format(http.TimeFormat), []time.Duration{4 * time.Second}},
		{now.Add(-time.Hour).Format(http.TimeFormat), nil},
	} {
		srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 0 {
				w.Header().Set("Retry-After", tc.date)
				writeJSON(w, http.StatusServiceUnavailable, `{"error":{"code":"Busy","message":"m"}}`)
				return
			}
			writeJSON(w, 200, `{"connection":{"id":"c1"}}`)
		})
		c := newClient(t, srv.base())
		clock := withClock(c)
		if _, err := c.GetConnection(context.Background(), "c1"); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, clock.Sleeps()); diff != "" {
			t.Errorf("Retry-After %s: waits (-want +got):\n%s", tc.date, diff)
		}
	}
}

// TestRetryByOperation_BackoffWithoutRetryAfter: without Retry-After the waits grow from
// MinBackoff to MaxBackoff, each within its jitter (half fixed, half
// random).
func TestRetryByOperation_BackoffWithoutRetryAfter(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 503, `{"error":{"code":"Busy","message":"m"}}`)
	})
	c := newClient(t, srv.base(), func(o *wrapper.Options) {
		o.Retry = wrapper.RetryPolicy{MaxAttempts: 5, MinBackoff: time.Second, MaxBackoff: 4 * time.Second}
	})
	clock := withClock(c)
	if _, err := c.GetConnection(context.Background(), "c1"); !errors.Is(err, wrapper.ErrServer) {
		t.Fatalf("err = %v, want ErrServer", err)
	}
	waits := clock.Sleeps()
	if len(waits) != 4 {
		t.Fatalf("waits %v, want 4", waits)
	}
	for i, ceiling := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
		if waits[i] < ceiling/2 || waits[i] > ceiling {
			t.Errorf("wait %d = %v, want within [%v, %v]", i+1, waits[i], ceiling/2, ceiling)
		}
	}
}

func TestRetryByOperation_Rules(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		create    bool
		status    int
		wantCalls int
		wantErr   error
	}{
		{"GET retries 502", false, 502, 4, wrapper.ErrServer},
		{"GET retries 503", false, 503, 4, wrapper.ErrServer},
		{"GET retries 504", false, 504, 4, wrapper.ErrServer},
		{"GET retries 429", false, 429, 4, wrapper.ErrRateLimited},
		{"GET does not retry 500", false, 500, 1, wrapper.ErrServer},
		{"GET does not retry 404", false, 404, 1, wrapper.ErrNotFound},
		{"create retries 409", true, 409, 4, wrapper.ErrConflict},
		{"create retries 429", true, 429, 4, wrapper.ErrRateLimited},
		{"create does not retry 500", true, 500, 1, wrapper.ErrServer},
		{"create does not retry 502", true, 502, 1, wrapper.ErrServer},
		{"create does not retry 503", true, 503, 1, wrapper.ErrServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, tc.status, `{"error":{"code":"X","message":"y"}}`)
			})
			c := newClient(t, srv.base())
			var err error
			if tc.create {
				_, err = c.CreateRun(context.Background(), "c1", ifcRequest())
			} else {
				_, err = c.GetConnection(context.Background(), "c1")
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			var ae *wrapper.APIError
			if errors.As(err, &ae) && ae.Attempts != tc.wantCalls {
				t.Errorf("Attempts = %d, want %d", ae.Attempts, tc.wantCalls)
			}
			if n := len(srv.seen()); n != tc.wantCalls {
				t.Errorf("server saw %d requests, want %d", n, tc.wantCalls)
			}
		})
	}
}

func TestRetryByOperation_ThenSuccess(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n < 2 {
			writeJSON(w, 503, "")
			return
		}
		writeJSON(w, 200, `{"connection":{"id":"c1","iModelId":"m1"}}`)
	})
	conn, err := newClient(t, srv.base()).GetConnection(context.Background(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&api.ExportConnection{ID: "c1", IModelID: "m1"}, conn); diff != "" {
		t.Errorf("connection (-want +got):\n%s", diff)
	}
}

// dropping accepts connections and closes them at once: a connection
// failure, with no HTTP answer at all.
func dropping(t *testing.T) (base string, accepted func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	count := make(chan int, 1)
	count <- 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			n := <-count
			count <- n + 1
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "http://" + ln.Addr().String() + "/export", func() int { n := <-count; count <- n; return n }
}

func TestRetryByOperation_ConnectionFailures(t *testing.T) {
	t.Parallel()
	base, accepted := dropping(t)
	c := newClient(t, base)
	_, err := c.GetConnection(context.Background(), "c1")
	var te *wrapper.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("GET err = %v (%T), want *TransportError", err, err)
	}
	if n := accepted(); n != fastRetry.MaxAttempts {
		t.Errorf("GET: %d connections, want %d (retried)", n, fastRetry.MaxAttempts)
	}
	_, err = c.CreateRun(context.Background(), "c1", ifcRequest())
	if !errors.As(err, &te) {
		t.Fatalf("create err = %v, want *TransportError", err)
	}
	if n := accepted(); n != fastRetry.MaxAttempts+1 {
		t.Errorf("create: %d more connections, want 1 (never retried)", n-fastRetry.MaxAttempts)
	}
}

func TestRetryByOperation_ContextEndsEveryWait(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "2")
		writeJSON(w, 429, `{"error":{"code":"RateLimitExceeded","message":"m"}}`)
	})
	c := newClient(t, srv.base())
	clock := withClock(c)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	// The deadline passes while the client waits out the Retry-After.
	clock.onSleep = func(context.Context, time.Duration) { cancel(context.DeadlineExceeded) }
	_, err := c.GetConnection(ctx, "c1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if n, waits := len(srv.seen()), clock.Sleeps(); n != 1 || !cmp.Equal(waits, []time.Duration{2 * time.Second}) {
		t.Errorf("%d requests, waits %v; want 1 request and one wait of 2s", n, waits)
	}
}
