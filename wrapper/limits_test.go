package wrapper_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/wrapper"
)

// failSafe is a context for calls that must end by the client's own limits:
// if they did not, the test fails with its deadline instead of hanging.
func failSafe(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// holdOpen keeps a connection open without writing, until the client hangs
// up.
func holdOpen(conn net.Conn) { _, _ = io.Copy(io.Discard, conn) }

// TestHostileServersMeetTheExchangeLimits: a server that never answers,
// stalls after the headers or drips its body ends each attempt with a
// *TransportError (a deadline), without any deadline from the caller.
func TestHostileServersMeetTheExchangeLimits(t *testing.T) {
	t.Parallel()
	const limit = 50 * time.Millisecond
	for _, tc := range []struct {
		name  string
		opts  func(*wrapper.Options)
		serve func(conn net.Conn)
		want  string
	}{
		{"no headers", func(o *wrapper.Options) { o.ResponseHeaderTimeout = limit }, holdOpen,
			"no response headers within 50ms"},
		{"stall after the headers", func(o *wrapper.Options) { o.BodyIdleTimeout = limit }, func(conn net.Conn) {
			fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"run\":")
			holdOpen(conn)
		}, "reading body: no body byte for 50ms"},
		{"drip slower than the idle limit", func(o *wrapper.Options) { o.BodyIdleTimeout = limit }, func(conn net.Conn) {
			drip(conn, 4*limit)
		}, "reading body: no body byte for 50ms"},
		{"drip within the idle limit", func(o *wrapper.Options) { o.BodyIdleTimeout, o.BodyTimeout = time.Minute, 4*limit }, func(conn net.Conn) {
			drip(conn, limit/10)
		}, "reading body: body not complete within 200ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base, accepted := rawServer(t, func(conn net.Conn, _ *http.Request) { tc.serve(conn) })
			c := newClient(t, base, tc.opts, func(o *wrapper.Options) { o.Retry.MaxAttempts = 2 })
			_, err := c.GetConnection(failSafe(t), "c1")
			var te *wrapper.TransportError
			if !errors.As(err, &te) || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("err = %v (%T), want a *TransportError matching os.ErrDeadlineExceeded", err, err)
			}
			if !strings.HasSuffix(err.Error(), ": "+tc.want) {
				t.Errorf("err = %v, want it to end with %q", err, tc.want)
			}
			if n := accepted(); n != 2 {
				t.Errorf("%d attempts, want 2: a GET retries a stalled exchange", n)
			}
			if _, err := c.CreateRun(failSafe(t), "c1", ifcRequest()); !errors.As(err, &te) {
				t.Fatalf("create: err = %v, want *TransportError", err)
			}
			if n := accepted(); n != 3 {
				t.Errorf("create made %d attempts, want 1: the run may exist", n-2)
			}
		})
	}
}

// drip writes the headers of a long body, then one byte per interval until
// the client hangs up.
func drip(conn net.Conn, interval time.Duration) {
	fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for range tick.C {
		if _, err := conn.Write([]byte(" ")); err != nil {
			return
		}
	}
}

// TestListingStopsAfterMaxPages: a listing whose every page names a new next
// page ends after MaxPages pages with ErrMalformedResponse, its items
// yielded up to there.
func TestListingStopsAfterMaxPages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		maxPages int
		want     int
	}{
		{"option", 5, 5},
		{"default", 0, wrapper.DefaultMaxPages},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, fmt.Sprintf(`{"runs":[{"id":"r%d"}],"_links":{"next":{"href":"runs?$skip=%d"}}}`, n, n+1))
			})
			c := newClient(t, srv.base(), func(o *wrapper.Options) { o.MaxPages = tc.maxPages })
			items := 0
			var err error
			for _, e := range c.Runs(failSafe(t), "c1") {
				if e != nil {
					err = e
					break
				}
				items++
			}
			if !errors.Is(err, wrapper.ErrMalformedResponse) || !strings.Contains(err.Error(), fmt.Sprintf("goes on past %d pages", tc.want)) {
				t.Errorf("err = %v, want ErrMalformedResponse naming %d pages", err, tc.want)
			}
			if items != tc.want || len(srv.seen()) != tc.want {
				t.Errorf("%d items from %d requests, want %d of each", items, len(srv.seen()), tc.want)
			}
		})
	}
}
