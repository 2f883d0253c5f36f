package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

// runIn runs the command in process with args and exactly the environment
// env, as runCLI runs the binary.
func runIn(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return runInCtx(t, context.Background(), env, args...)
}

// runInCtx is runIn under ctx, for tests that end or interrupt a command.
func runInCtx(t *testing.T, ctx context.Context, env map[string]string, args ...string) result {
	t.Helper()
	return runWatched(t, ctx, env, nil, args...)
}

// runWatched is runInCtx calling onStderr with each text the command writes
// to stderr, as it writes it: a test acts on what the command shows, at the
// moment it shows it, instead of on the wall clock.
func runWatched(t *testing.T, ctx context.Context, env map[string]string, onStderr func(string), args ...string) result {
	t.Helper()
	var stdout syncBuffer
	stderr := &watchedWriter{on: onStderr}
	code := run(ctx, args, bytes.NewReader(nil), &stdout, stderr, func(k string) string { return env[k] })
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// watchedWriter is a syncBuffer that calls on with each write.
type watchedWriter struct {
	syncBuffer
	on func(string)
}

// Write records p, then calls on.
func (w *watchedWriter) Write(p []byte) (int, error) {
	n, err := w.syncBuffer.Write(p)
	if w.on != nil {
		w.on(string(p))
	}
	return n, err
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// progressLine is one line of progress on stderr when it is not a terminal.
var progressLine = regexp.MustCompile(`^ *\d+\.\ds  (NotStarted|Queued|WaitingToExecute|Executing|Finalizing|Completed \(\w+\))$`)

// checkProgress fails the test unless stderr shows the creation, then one
// progress line per state change ending with Completed (result).
func checkProgress(t *testing.T, stderr, result string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	var progress []string
	for _, l := range lines {
		if progressLine.MatchString(l) {
			progress = append(progress, l)
		}
	}
	if len(progress) < 2 || !strings.HasSuffix(progress[len(progress)-1], "Completed ("+result+")") {
		t.Errorf("stderr does not show the states up to Completed (%s):\n%s", result, stderr)
	}
	seen := map[string]bool{}
	for _, l := range progress {
		state := strings.Fields(l)[1]
		if seen[state] {
			t.Errorf("state %s shown twice: one line per change expected:\n%s", state, stderr)
		}
		seen[state] = true
	}
}

// fastOpts are server options on real time whose runs complete in 200ms,
// for tests that only need runs to end.
func fastOpts() apitest.Options { return apitest.Options{StepDuration: 40 * time.Millisecond} }

// steppedFake is a fake whose runs take 40ms a state on a manual clock,
// and the stderr watcher that moves that clock one state on when the
// command shows a state: every state is seen once, whatever the load.
func steppedFake(t *testing.T) (*apitest.Server, func(string)) {
	t.Helper()
	const step = 40 * time.Millisecond
	clock := apitest.NewManualClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	s := newFake(t, apitest.Options{Clock: clock, StepDuration: step})
	return s, func(text string) {
		if stateShown.MatchString(text) {
			clock.Advance(step)
		}
	}
}

// stateShown matches a progress line, of one run or of several.
var stateShown = regexp.MustCompile(`(?m)^ *\d+\.\ds  (\S+  )?(NotStarted|Queued|WaitingToExecute|Executing|Finalizing|Completed)`)

// wrapperRequest is the smallest create-run body.
func wrapperRequest() api.ExportConnectionRunCreate {
	return api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC}
}
