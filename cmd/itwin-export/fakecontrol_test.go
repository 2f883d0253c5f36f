package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// startFakeServer runs fake-server in process with args and returns the
// origin it serves at; the server stops when the test ends.
func startFakeServer(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"fake-server", "--addr", "127.0.0.1:0"}, args...), nil, w, io.Discard, nil)
		w.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("fake-server exit %d", code)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no first line: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return strings.TrimSuffix(strings.TrimSpace(line), "/export")
}

// TestFakeServerControlFlag: the control API answers only with --control;
// without it every path under /_fake/ is an unknown route (404, no token
// asked for).
func TestFakeServerControlFlag(t *testing.T) {
	status := func(method, url string) int {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	plain := startFakeServer(t)
	for _, p := range []string{"info", "requests"} {
		if got := status(http.MethodGet, plain+"/_fake/"+p); got != http.StatusNotFound {
			t.Errorf("without --control: GET /_fake/%s = %d, want 404", p, got)
		}
	}
	for _, p := range []string{"reset", "script", "verify"} {
		if got := status(http.MethodPost, plain+"/_fake/"+p); got != http.StatusNotFound {
			t.Errorf("without --control: POST /_fake/%s = %d, want 404", p, got)
		}
	}
	controlled := startFakeServer(t, "--control")
	if got := status(http.MethodGet, controlled+"/_fake/info"); got != http.StatusOK {
		t.Errorf("with --control: GET /_fake/info = %d, want 200", got)
	}
	if got := status(http.MethodPost, controlled+"/_fake/reset"); got != http.StatusNoContent {
		t.Errorf("with --control: POST /_fake/reset = %d, want 204", got)
	}
}
