package wrapper_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// rawServer answers each TCP connection with serve, which reads the request
// line and headers itself: for answers net/http would not write.
func rawServer(t *testing.T, serve func(conn net.Conn, req *http.Request)) (base string, accepted func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			n++
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				serve(conn, req)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return "http://" + ln.Addr().String() + "/export", func() int { mu.Lock(); defer mu.Unlock(); return n }
}

// reset closes the connection with a TCP RST rather than a FIN.
func reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

func TestResetBeforeHeaders(t *testing.T) {
	t.Parallel()
	base, accepted := rawServer(t, func(conn net.Conn, _ *http.Request) { reset(conn) })
	c := newClient(t, base)
	_, err := c.GetConnection(context.Background(), "c1")
	var te *wrapper.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v (%T), want *TransportError", err, err)
	}
	if n := accepted(); n != fastRetry.MaxAttempts {
		t.Errorf("%d attempts, want %d: a GET retries connection failures", n, fastRetry.MaxAttempts)
	}
	if _, err := c.CreateRun(context.Background(), "c1", ifcRequest()); !errors.As(err, &te) {
		t.Fatalf("create: err = %v, want *TransportError", err)
	}
	if n := accepted(); n != fastRetry.MaxAttempts+1 {
		t.Errorf("create made %d attempts, want 1: the run may exist", n-fastRetry.MaxAttempts)
	}
}

func TestResetAfterHeadersAndTruncatedBodies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		serve func(net.Conn)
	}{
		{"reset after headers", func(conn net.Conn) {
			fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n")
			reset(conn)
		}},
		{"truncated body", func(conn net.Conn) {
			fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"run\":{\"id\":\"r1\",\"sta")
		}},
		{"truncated chunked body", func(conn net.Conn) {
			fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{\"run\":{\"id\":\"r1")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, accepted := rawServer(t, func(conn net.Conn, _ *http.Request) { tc.serve(conn) })
			c := newClient(t, base)
			ref, _ := c.RunRefFor("c1", "r1")
			_, err := c.GetRun(context.Background(), ref)
			var te *wrapper.TransportError
			if !errors.As(err, &te) {
				t.Fatalf("err = %v (%T), want *TransportError", err, err)
			}
			if n := accepted(); n != fastRetry.MaxAttempts {
				t.Errorf("%d attempts, want %d", n, fastRetry.MaxAttempts)
			}
		})
	}
}

// heapGrowth runs f and returns the bytes it allocated.
func heapGrowth(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestHugeBodiesStayBounded(t *testing.T) {
	const size = 100 << 20 // 100 MiB
	for _, tc := range []struct {
		status int
		want   error
	}{
		{200, wrapper.ErrMalformedResponse},
		{500, wrapper.ErrServer},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			var sent int64
			var mu sync.Mutex
			srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				chunk := []byte(strings.Repeat(" ", 64<<10))
				total := int64(0)
				for total < size {
					k, err := w.Write(chunk)
					total += int64(k)
					if err != nil {
						break // the client hung up: as it should
					}
				}
				mu.Lock()
				sent = total
				mu.Unlock()
			})
			c := newClient(t, srv.base())
			ref, _ := c.RunRefFor("c1", "r1")
			var err error
			grew := heapGrowth(func() { _, err = c.GetRun(context.Background(), ref) })
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			// Reading stops at 8 MiB (success) or 1 MiB (error): all the
			// client allocates is that buffer's growth, never the body.
			if grew > 40<<20 {
				t.Errorf("allocated %d MiB for a 100 MiB body, want under 40 MiB", grew>>20)
			}
			srv.Close()
			mu.Lock()
			defer mu.Unlock()
			t.Logf("server wrote %d MiB before the client hung up; client allocated %.1f MiB", sent>>20, float64(grew)/(1<<20))
		})
	}
}

func TestServerThatNeverAnswers(t *testing.T) {
	t.Parallel()
	fake := newFake(t, apitest.Options{})
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"})
	fake.InjectFault(apitest.Fault{Method: http.MethodPost, Kind: apitest.FaultHang})
	c := newClient(t, fake.URL)
	// The caller's deadline, well under the client's own limits, ends the
	// call: the cause says so.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.CreateRun(ctx, conn.ID, ifcRequest())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
}

func TestStorms(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		header http.Header
		want   error
	}{
		{"503 storm", 503, nil, wrapper.ErrServer},
		{"502 storm", 502, nil, wrapper.ErrServer},
		{"429 storm with Retry-After 0", 429, http.Header{"Retry-After": {"0"}}, wrapper.ErrRateLimited},
		{"429 storm without Retry-After", 429, nil, wrapper.ErrRateLimited},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t, apitest.Options{})
			conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"})
			c := newClient(t, fake.URL)
			ref, err := c.CreateRun(context.Background(), conn.ID, ifcRequest())
			if err != nil {
				t.Fatal(err)
			}
			fake.ResetRequests()
			fake.InjectFault(apitest.Fault{Method: http.MethodGet, Count: 1000, Kind: apitest.FaultStatus, Status: tc.status, Header: tc.header})
			_, err = c.WaitRun(context.Background(), ref, wrapper.WaitOptions{MinInterval: time.Millisecond})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var ae *wrapper.APIError
			if !errors.As(err, &ae) || ae.Attempts != fastRetry.MaxAttempts {
				t.Errorf("APIError %+v, want %d attempts", ae, fastRetry.MaxAttempts)
			}
			if n := len(fake.Requests()); n != fastRetry.MaxAttempts {
				t.Errorf("server saw %d requests, want %d", n, fastRetry.MaxAttempts)
			}
		})
	}
}

func TestDroppedConnectionFromTheFake(t *testing.T) {
	t.Parallel()
	fake := newFake(t, apitest.Options{})
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"})
	c := newClient(t, fake.URL)
	// One drop, then the GET answers: a GET retries a dropped connection.
	fake.InjectFault(apitest.Fault{Method: http.MethodGet, Kind: apitest.FaultDrop})
	if _, err := c.GetConnection(context.Background(), conn.ID); err != nil {
		t.Errorf("GET after one drop: %v", err)
	}
	// A create is not retried after a drop: the run may exist.
	fake.InjectFault(apitest.Fault{Method: http.MethodPost, Kind: apitest.FaultDrop})
	_, err := c.CreateRun(context.Background(), conn.ID, ifcRequest())
	var te *wrapper.TransportError
	if !errors.As(err, &te) {
		t.Errorf("create after a drop: err = %v, want *TransportError", err)
	}
	// Calling again is safe: no run was made, so this one creates it.
	ref, err := c.CreateRun(context.Background(), conn.ID, ifcRequest())
	if err != nil || ref.Existing {
		t.Errorf("second create: %+v, %v", ref, err)
	}
}

func TestDeclaredHugeBodyIsNotRead(t *testing.T) {
	t.Parallel()
	base, _ := rawServer(t, func(conn net.Conn, _ *http.Request) {
		fmt.Fprint(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{\"run\":")
		holdOpen(conn) // the rest never comes: the client must not wait for it
	})
	c := newClient(t, base)
	ref, _ := c.RunRefFor("c1", "r1")
	_, err := c.GetRun(failSafe(t), ref)
	if !errors.Is(err, wrapper.ErrMalformedResponse) || !strings.Contains(err.Error(), "body larger than") {
		t.Fatalf("err = %v, want ErrMalformedResponse for the size", err)
	}
}
