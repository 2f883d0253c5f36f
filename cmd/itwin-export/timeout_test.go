package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/apitest"
)

// hangingServer never answers until the client gives up.
func hangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return srv
}

// TestTimeoutOnEveryCommand: --timeout bounds every command that calls the
// API, token requests included: exit 5, class "timed out", the flag named.
func TestTimeoutOnEveryCommand(t *testing.T) {
	t.Parallel()
	api := hangingServer(t)
	env := envFor(api.URL + "/export")
	commands := [][]string{
		{"run", "--connection", "c1"},
		{"status", "r1", "--connection", "c1"},
		{"runs", "--connection", "c1"},
		{"connections", "--imodel", "m1"},
		{"connection", "create", "--imodel", "m1"},
		{"connection", "get", "c1"},
		{"connection", "delete", "c1"},
		{"auth-info"},
		{"download", "f1", "--dir", t.TempDir()},
	}
	for _, args := range commands {
		t.Run(strings.Join(args[:min(2, len(args))], " "), func(t *testing.T) {
			t.Parallel()
			r := runIn(t, env, append(args, "--timeout", "50ms")...)
			wantCode(t, r, exitNoAnswer)
			wantOneErrorLine(t, r, "timed out", "--timeout 50ms reached")
		})
	}
	t.Run("token request", func(t *testing.T) {
		t.Parallel()
		tokens := hangingServer(t)
		env := map[string]string{envAPIURL: api.URL + "/export", envClientID: "app", envClientSecret: "app-secret-0123", envTokenURL: tokens.URL}
		r := runIn(t, env, "runs", "--connection", "c1", "--timeout", "50ms")
		wantCode(t, r, exitNoAnswer)
		wantOneErrorLine(t, r, "timed out")
	})
}

// interruptOn returns a context that ends with an interruption by sig once
// the command shows a line holding text on stderr, and the watcher that
// does it.
func interruptOn(sig syscall.Signal, text string) (context.Context, func(string)) {
	ctx, cancel := context.WithCancelCause(context.Background())
	return ctx, func(s string) {
		if strings.Contains(s, text) {
			cancel(&interrupted{sig: sig})
		}
	}
}

// TestInterruptedWait: a signal while run --wait waits exits 130 (SIGINT)
// or 143 (SIGTERM) with the resume command on stderr, and nothing on stdout.
func TestInterruptedWait(t *testing.T) {
	t.Parallel()
	for sig, code := range map[syscall.Signal]int{syscall.SIGINT: exitInterrupt, syscall.SIGTERM: exitTerminate} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			s := newFake(t, manualOpts()) // the run never completes
			conn := addConnection(t, s)
			ctx, watch := interruptOn(sig, "NotStarted")
			r := runWatched(t, ctx, envFor(s.URL), watch, "run", "--connection", conn, "--wait", "--poll-interval", "1ms")
			wantCode(t, r, code)
			loc := runLocation(s, conn, onlyRun(t, s, conn).ID)
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			for _, part := range []string{"itwin-export: ", "resume with: itwin-export status " + loc + " --wait"} {
				if !strings.Contains(last, part) {
					t.Errorf("error line lacks %q: %s", part, last)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout: %q", r.stdout)
			}
		})
	}
}

// TestStatusWaitSteppedClock: status --wait shows every state once, up to
// Completed, on a server clock that moves one step each time the command
// shows a state: no timing involved.
func TestStatusWaitSteppedClock(t *testing.T) {
	t.Parallel()
	clock := apitest.NewManualClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	const step = time.Second
	s := newFake(t, apitest.Options{Clock: clock, StepDuration: step})
	conn := addConnection(t, s)
	s.SetOutcome(conn, apitest.OutcomeError)
	ref, err := newClient(t, s.URL).CreateRun(context.Background(), conn, wrapperRequest())
	if err != nil {
		t.Fatal(err)
	}
	advance := func(text string) {
		if progressLine.MatchString(strings.TrimSuffix(text, "\n")) {
			clock.Advance(step)
		}
	}
	r := runWatched(t, context.Background(), envFor(s.URL), advance, "status", ref.Location, "--wait", "--poll-interval", "1ms")
	wantCode(t, r, exitRunFail)
	var states []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if progressLine.MatchString(l) {
			states = append(states, strings.SplitN(strings.TrimSpace(l), "  ", 2)[1])
		}
	}
	want := []string{"NotStarted", "Queued", "WaitingToExecute", "Executing", "Finalizing", "Completed (Error)"}
	if d := diff(want, states); d != "" {
		t.Errorf("states shown (-want +got):\n%s\nstderr:\n%s", d, r.stderr)
	}
	if !strings.Contains(r.stdout, ": TAE_BRW_1000: ") {
		t.Errorf("stdout lacks the task error:\n%s", r.stdout)
	}
}

// TestInterruptedManyWait: a signal while several runs are waited for
// exits 130 too; stdout still lists each connection with its Location.
func TestInterruptedManyWait(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts())
	a, b := addConnection(t, s), addConnection(t, s)
	// Interrupt once both runs exist: both were shown.
	ctx, cancel := context.WithCancelCause(context.Background())
	var shown atomic.Int64
	watch := func(text string) {
		if strings.Contains(text, "NotStarted") && shown.Add(1) == 2 {
			cancel(&interrupted{sig: syscall.SIGINT})
		}
	}
	r := runWatched(t, ctx, envFor(s.URL), watch, "run", "--connection", a, "--connection", b, "--wait", "--poll-interval", "1ms")
	wantCode(t, r, exitInterrupt)
	for _, conn := range []string{a, b} {
		if loc := runLocation(s, conn, onlyRun(t, s, conn).ID); !strings.Contains(r.stdout, conn+"\tfailed\t"+loc+"\n") {
			t.Errorf("stdout lacks %s with its Location:\n%s", conn, r.stdout)
		}
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
