package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestDemo: the demo needs no account and no network, shows the flow on
// stdout and exits 0; it ends with the IFC file it downloaded into a new
// temporary directory: its path, then its first lines, the first of them
// ISO-10303-21;.
func TestDemo(t *testing.T) {
	t.Parallel()
	r := runIn(t, nil, "demo")
	wantCode(t, r, exitOK)
	// Which states between created and Completed a poll sees depends on the
	// machine's speed (the demo runs on real time): only the end is fixed.
	for _, part := range []string{"connection created: ", "run created: ", "at its Location http://127.0.0.1:",
		"Completed (Success)", "result:      Success\n", "output file: "} {
		if !strings.Contains(r.stdout, part) {
			t.Errorf("stdout lacks %q:\n%s", part, r.stdout)
		}
	}
	path := demoFile(t, r.stdout)
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(path)) })
	if dir := filepath.Base(filepath.Dir(path)); !strings.HasPrefix(dir, "itwin-export-demo-") || filepath.Dir(filepath.Dir(path)) != filepath.Clean(os.TempDir()) {
		t.Errorf("%s is not in a new temporary directory", path)
	}
}

// TestDemoDir: demo --dir puts the IFC file there.
func TestDemoDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runIn(t, nil, "demo", "--dir", dir, "--step", "10ms")
	wantCode(t, r, exitOK)
	if path := demoFile(t, r.stdout); filepath.Dir(path) != dir {
		t.Errorf("%s is not in --dir %s", path, dir)
	}
}

// demoFile checks the end of demo's stdout: the path of the IFC file, then
// its first lines, exactly as the file holds them. It returns the path.
func demoFile(t *testing.T, stdout string) string {
	t.Helper()
	_, tail, ok := strings.Cut(stdout, "IFC file downloaded (")
	_, tail, _ = strings.Cut(tail, "): ")
	path, shown, _ := strings.Cut(tail, "\nits first lines:\n")
	content, err := os.ReadFile(path)
	if !ok || err != nil {
		t.Fatalf("no downloaded file (%v) in stdout:\n%s", err, stdout)
	}
	var want strings.Builder
	for _, l := range strings.SplitAfter(string(content), "\n")[:demoLines] {
		want.WriteString("  " + l)
	}
	if !strings.HasPrefix(shown, "  ISO-10303-21;\n") || shown != want.String() {
		t.Errorf("shown lines (-want +got):\n%s", diff(want.String(), shown))
	}
	return path
}

// TestFakeServer: fake-server prints its URL first, serves any client with
// any token, and exits 0 when interrupted.
func TestFakeServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "fake-server", "--addr", "127.0.0.1:0", "--step", "20ms")
	cmd.Env = envList(nil)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // only if the test fails before the end
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("no first line; stderr:\n%s", stderr.String())
	}
	base := lines.Text()
	if !regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*/export$`).MatchString(base) {
		t.Fatalf("first line %q is not the base URL", base)
	}

	// Any language's client: here the wrapper, with any token.
	c, err := wrapper.New(wrapper.Options{BaseURL: base, TokenSource: wrapper.StaticToken("any-token")})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.CreateConnection(ctx, api.ExportConnectionCreate{IModelID: "m"})
	if err != nil {
		t.Fatal(err)
	}
	_, run, err := c.Export(ctx, conn.ID, wrapperRequest(), wrapper.WaitOptions{MinInterval: 10 * time.Millisecond, MaxInterval: 20 * time.Millisecond})
	if err != nil || run.Result != api.ExecutionResultSuccess {
		t.Fatalf("export: %v", err)
	}
	// And the CLI itself.
	r := runCLI(t, map[string]string{envAPIURL: base, envAccessToken: "another-token"},
		"run", "--connection", conn.ID, "--wait", "--poll-interval", "10ms")
	wantCode(t, r, exitOK)

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("fake-server after SIGINT: %v\nstderr:\n%s", err, stderr.String())
	}
	if len(rest) != 0 {
		t.Errorf("stdout after the URL: %q", rest)
	}
	if strings.Contains(stderr.String(), "contract violation") || !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// TestInterruptWhileWaiting: a real SIGINT to the built binary ends a wait
// at once with exit 130; the error line says how to resume from the
// Location.
func TestInterruptWhileWaiting(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts()) // the run never completes
	conn := addConnection(t, s)
	stdout, shown := signalWhenShown(t, envFor(s.URL), "NotStarted", os.Interrupt, exitInterrupt,
		"run", "--connection", conn, "--wait", "--poll-interval", "10ms")
	last := shown[len(shown)-1]
	run := onlyRun(t, s, conn)
	for _, part := range []string{"itwin-export: interrupted: ", "resume with: itwin-export status " + runLocation(s, conn, run.ID) + " --wait"} {
		if !strings.Contains(last, part) {
			t.Errorf("error line lacks %q: %s", part, last)
		}
	}
	if stdout != "" {
		t.Errorf("stdout: %q", stdout)
	}
}

// signalWhenShown starts the built binary with args, sends it sig once a
// line of its stderr contains marker (the state the test wants it in),
// and fails the test unless it then exits with want. It returns stdout
// and every stderr line.
func signalWhenShown(t *testing.T, env map[string]string, marker string, sig os.Signal, want int, args ...string) (string, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = envList(env)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stderr)
	var shown []string
	for lines.Scan() {
		shown = append(shown, lines.Text())
		if strings.Contains(lines.Text(), marker) {
			break
		}
	}
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		shown = append(shown, lines.Text())
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != want {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", code, want, strings.Join(shown, "\n"))
	}
	return stdout.String(), shown
}

// TestFakeServerInProcess runs fake-server through run until its context
// ends.
func TestFakeServerInProcess(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	stdout := &watchedWriter{on: func(s string) { urls <- strings.TrimSpace(s) }}
	var stderr syncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"fake-server", "--addr", "127.0.0.1:0"}, nil, stdout, &stderr, nil) }()
	base := <-urls                                          // the first line is the URL
	resp, err := http.Get(base + "/connections?imodelId=m") // no token: 401
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d; stderr:\n%s", code, stderr.String())
	}
	// A bad outcome is a usage error.
	if code := run(context.Background(), []string{"fake-server", "--outcome", "Maybe"}, nil, io.Discard, io.Discard, nil); code != exitUsage {
		t.Errorf("--outcome Maybe: exit %d", code)
	}
}
