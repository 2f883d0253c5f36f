package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Processes of one application sharing a Redis (--redis-url): the built
// binary, several at once, against one fake-server.

// startRedisServer starts redis-server on a loopback port of its own, in
// memory, and returns its URL and a stop that kills it by its pid (also run
// at the end of t). Without redis-server the test is skipped, except under
// CI=true, where it fails: CI installs it (.ci/run).
func startRedisServer(t testing.TB) (string, func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not installed (CI installs the Debian package redis-server)")
		}
		t.Skip("redis-server is not installed")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		if strings.Contains(lines.Text(), "Ready to accept connections") {
			go func() { _, _ = io.Copy(io.Discard, out) }()
			return fmt.Sprintf("redis://127.0.0.1:%d/0", port), stop
		}
	}
	t.Fatalf("redis-server on port %d ended before it was ready", port)
	return "", nil
}

// startFakeBinary starts the built binary's fake-server on a free port
// with args and returns its base URL. At the end of t it is interrupted,
// and a contract violation it reported fails t.
func startFakeBinary(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(binPath, append([]string{"fake-server", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = envList(nil)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if strings.Contains(stderr.String(), "contract violation") {
			t.Errorf("fake-server stderr:\n%s", stderr.String())
		}
	})
	lines := bufio.NewScanner(out)
	if !lines.Scan() {
		t.Fatalf("fake-server printed no URL; stderr:\n%s", stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return lines.Text()
}

// controlCall sends a control API request to the fake at base and decodes
// its JSON answer into v.
func controlCall(t testing.TB, base, method, op string, body any, v any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(base, "/export")+"/_fake/"+op, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("control %s: %d %s", op, resp.StatusCode, msg)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// addFleetConnections creates procs×per connections, each on an iModel of
// its own, plus answers, and returns their ids per process.
func addFleetConnections(t testing.TB, base string, procs, per int, answers ...map[string]any) [][]string {
	t.Helper()
	var conns []map[string]any
	for p := range procs {
		for i := range per {
			conns = append(conns, map[string]any{"name": fmt.Sprintf("p%dc%d", p, i), "iModelId": fmt.Sprintf("m-%d-%d", p, i)})
		}
	}
	var got struct {
		Variables map[string]string `json:"variables"`
	}
	controlCall(t, base, http.MethodPost, "script", map[string]any{"connections": conns, "answers": answers}, &got)
	ids := make([][]string, procs)
	for p := range procs {
		for i := range per {
			ids[p] = append(ids[p], got.Variables[fmt.Sprintf("p%dc%d", p, i)])
		}
	}
	return ids
}

// fakeRecord is a request as the fake's control API recorded it.
type fakeRecord struct {
	Origin   string `json:"origin"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	AtMillis int64  `json:"atMillis"`
}

// fakeRequests are the API requests the fake received.
func fakeRequests(t testing.TB, base string) []fakeRecord {
	t.Helper()
	var got struct {
		Requests []fakeRecord `json:"requests"`
		Dropped  int          `json:"dropped"`
	}
	controlCall(t, base, http.MethodGet, "requests", nil, &got)
	if got.Dropped > 0 {
		t.Fatalf("the fake's record dropped %d requests", got.Dropped)
	}
	return got.Requests
}

// exportCmd is `run` of conns with --wait, the budget perMinute and, when
// redisURL is set, --redis-url; it is not started.
func exportCmd(ctx context.Context, base, redisURL string, perMinute int, poll time.Duration, conns []string, extra ...string) *exec.Cmd {
	args := []string{"run", "--wait", "--parallel", strconv.Itoa(len(conns)), "--poll-interval", poll.String()}
	if perMinute > 0 {
		args = append(args, "--requests-per-minute", strconv.Itoa(perMinute))
	}
	if redisURL != "" {
		args = append(args, "--redis-url", redisURL)
	}
	for _, c := range conns {
		args = append(args, "--connection", c)
	}
	cmd := exec.CommandContext(ctx, binPath, append(args, extra...)...)
	cmd.Env = envList(envFor(base))
	return cmd
}

// startExport starts cmd with its stderr in a buffer, and returns a wait
// for its end that yields the exit code and stderr.
func startExport(t testing.TB, cmd *exec.Cmd) func() (int, string) {
	t.Helper()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() (int, string) {
		_ = cmd.Wait()
		return cmd.ProcessState.ExitCode(), stderr.String()
	}
}

// waitForLine reads r until a line holds want, and reports whether one
// did; every line read goes to sink, and the lines after it too, until r
// ends, which closes done (read it before exec.Cmd.Wait closes r).
func waitForLine(r io.Reader, want string, sink io.Writer) (found bool, done <-chan struct{}) {
	end := make(chan struct{})
	lines := bufio.NewScanner(r)
	for lines.Scan() {
		fmt.Fprintln(sink, lines.Text())
		if strings.Contains(lines.Text(), want) {
			go func() {
				defer close(end)
				for lines.Scan() {
					fmt.Fprintln(sink, lines.Text())
				}
			}()
			return true, end
		}
	}
	close(end)
	return false, end
}

// TestFleet_PauseIsShared: one process meets a 429 with Retry-After: 2;
// the three others, started once it has reported the pause, send nothing to
// the API until the pause has passed (the fake's record of requests).
func TestFleet_PauseIsShared(t *testing.T) {
	redisURL, _ := startRedisServer(t)
	base := startFakeBinary(t, "--control", "--step", "50ms")
	ids := addFleetConnections(t, base, 4, 1, map[string]any{
		"method": "POST", "path": "/export/connections/{p0c0}/runs", "status": 429,
		"headers": map[string]string{"Retry-After": "2"},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	first := exportCmd(ctx, base, redisURL, 0, 50*time.Millisecond, ids[0], "--verbose")
	stderr, err := first.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	var firstLog syncBuffer
	// The retry is logged after the pause is set in Redis.
	found, logged := waitForLine(stderr, `msg=retrying`, &firstLog)
	if !found {
		_ = first.Wait()
		t.Fatalf("the first process never retried:\n%s", firstLog.String())
	}
	var others []func() (int, string)
	for _, conns := range ids[1:] {
		others = append(others, startExport(t, exportCmd(ctx, base, redisURL, 0, 50*time.Millisecond, conns)))
	}
	<-logged
	if err := first.Wait(); err != nil {
		t.Errorf("first process: %v\n%s", err, firstLog.String())
	}
	for i, wait := range others {
		if code, errText := wait(); code != 0 {
			t.Errorf("process %d: exit %d\n%s", i+2, code, errText)
		}
	}

	records := fakeRequests(t, base)
	if len(records) == 0 || records[0].Method != http.MethodPost || !strings.Contains(records[0].Path, ids[0][0]) {
		t.Fatalf("the first request recorded is not the first process's create: %+v", records)
	}
	pauseEnd := records[0].AtMillis + 2000
	sent := map[string]int{}
	for _, r := range records[1:] {
		for p, conns := range ids {
			if strings.Contains(r.Path, conns[0]) {
				sent[conns[0]]++
				if r.AtMillis < pauseEnd {
					t.Errorf("process %d sent %s %s at %dms, before the pause ended at %dms", p+1, r.Method, r.Path, r.AtMillis, pauseEnd)
				}
			}
		}
	}
	for p, conns := range ids {
		if sent[conns[0]] == 0 {
			t.Errorf("process %d sent nothing after the 429", p+1)
		}
	}
}

// TestFleet_RedisStoppedMidRun: Redis stops while a process exports; the
// exports finish on the process's own budget, one line says so, and no
// call hangs (the test's deadline would end it).
func TestFleet_RedisStoppedMidRun(t *testing.T) {
	redisURL, stopRedis := startRedisServer(t)
	base := startFakeBinary(t, "--control", "--step", "100ms")
	ids := addFleetConnections(t, base, 1, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	cmd := exportCmd(ctx, base, redisURL, 6000, 100*time.Millisecond, ids[0], "--verbose")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	found, logged := waitForLine(stderr, "msg=\"http exchange\"", &log)
	if !found {
		_ = cmd.Wait()
		t.Fatalf("no exchange logged:\n%s", log.String())
	}
	stopRedis()
	<-logged
	err = cmd.Wait()
	out := log.String()
	if err != nil { // run --wait exits 0 only when every run completed with Success
		t.Fatalf("exports with Redis stopped: %v\n%s", err, out)
	}
	if n := strings.Count(out, "Redis cannot be reached"); n != 1 {
		t.Errorf("%d lines say Redis cannot be reached, want 1:\n%s", n, out)
	}
}
