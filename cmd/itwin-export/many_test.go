package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/apitest"
)

// TestRunSeveralConnections: one run per connection, results in the order
// given, failures on stderr, and the exit code the worst of them.
func TestRunSeveralConnections(t *testing.T) {
	t.Parallel()
	s, watch := steppedFake(t)
	good := addConnection(t, s)
	failing := addConnection(t, s)
	s.SetOutcome(failing, apitest.OutcomeError)
	r := runWatched(t, context.Background(), envFor(s.URL), watch, "run", "--connection", good, "--connection", "no-such-connection", "--connection", failing,
		"--parallel", "2", "--wait", "--poll-interval", "10ms")
	// 404 (exit 4) is worse than a failed run (exit 3).
	wantCode(t, r, exitRefused)
	goodLoc := runLocation(s, good, onlyRun(t, s, good).ID)
	failingLoc := runLocation(s, failing, onlyRun(t, s, failing).ID)
	want := good + "\tSuccess\t" + goodLoc + "\n" +
		"no-such-connection\tfailed\t-\n" +
		failing + "\tError\t" + failingLoc + "\n"
	if d := diff(want, r.stdout); d != "" {
		t.Errorf("stdout (-want +got):\n%s", d)
	}
	for _, part := range []string{
		"itwin-export: connection no-such-connection: not found:",
		"itwin-export: connection " + failing + ": run did not succeed:",
		good + "  Completed (Success)",
	} {
		if !strings.Contains(r.stderr, part) {
			t.Errorf("stderr lacks %q:\n%s", part, r.stderr)
		}
	}
}

// TestRunConnectionsFile: ids from a file (comments and blank lines
// skipped), created without waiting, reported as a JSON array.
func TestRunConnectionsFile(t *testing.T) {
	s := newFake(t, manualOpts())
	a, b := addConnection(t, s), addConnection(t, s)
	file := filepath.Join(t.TempDir(), "connections.txt")
	if err := os.WriteFile(file, []byte("# nightly\n"+a+"\n\n  "+b+"  \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	first := runCLI(t, envFor(s.URL), "run", "--connections-file", file)
	wantCode(t, first, exitOK)
	locA, locB := runLocation(s, a, onlyRun(t, s, a).ID), runLocation(s, b, onlyRun(t, s, b).ID)
	if d := diff(a+"\tcreated\t"+locA+"\n"+b+"\tcreated\t"+locB+"\n", first.stdout); d != "" {
		t.Errorf("stdout (-want +got):\n%s", d)
	}
	again := runCLI(t, envFor(s.URL), "run", "--connections-file", file, "--json")
	wantCode(t, again, exitOK)
	want := []any{
		map[string]any{"connectionId": a, "location": locA, "runId": onlyRun(t, s, a).ID, "existing": true, "exitCode": 0.0},
		map[string]any{"connectionId": b, "location": locB, "runId": onlyRun(t, s, b).ID, "existing": true, "exitCode": 0.0},
	}
	if d := diff(any(want), decodeJSON(t, again.stdout)); d != "" {
		t.Errorf("--json (-want +got):\n%s", d)
	}
}

func TestRunSeveralUsageErrors(t *testing.T) {
	s := newFake(t, manualOpts())
	for _, args := range [][]string{
		{"run", "--connection", "a", "--connection", "b", "--parallel", "0"},
		{"run", "--connections-file", filepath.Join(t.TempDir(), "missing.txt")},
	} {
		r := runCLI(t, envFor(s.URL), args...)
		wantCode(t, r, exitUsage)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("the server received %d requests", n)
	}
}

// TestRunRequestsPerMinute: the budget spaces the requests of a run of
// several connections (600 a minute: one every 100ms).
func TestRunRequestsPerMinute(t *testing.T) {
	s := newFake(t, manualOpts())
	ids := []string{addConnection(t, s), addConnection(t, s), addConnection(t, s)}
	start := time.Now()
	r := runCLI(t, envFor(s.URL), "run", "--connection", ids[0], "--connection", ids[1], "--connection", ids[2],
		"--parallel", "3", "--requests-per-minute", "600")
	elapsed := time.Since(start)
	wantCode(t, r, exitOK)
	if n := len(requestsTo(t, s, "POST", "/export/connections/*/runs")); n != 3 {
		t.Errorf("%d creates, want 3", n)
	}
	if elapsed < 200*time.Millisecond {
		t.Errorf("3 requests in %v; 600 a minute spaces them 100ms apart", elapsed)
	}
	bad := runCLI(t, envFor(s.URL), "run", "--connection", ids[0], "--requests-per-minute", "-1")
	wantCode(t, bad, exitUsage)
}
