package main

import (
	"context"
	"testing"
)

// TestRunsCommand lists the runs of a connection.
func TestRunsCommand(t *testing.T) {
	s := newFake(t, manualOpts())
	conn := addConnection(t, s)
	env := envFor(s.URL)
	r := runCLI(t, env, "runs", "--connection", conn)
	wantCode(t, r, exitOK)
	if r.stdout != "" {
		t.Errorf("no runs, yet stdout:\n%s", r.stdout)
	}
	r = runCLI(t, env, "runs", "--connection", conn, "--json")
	wantCode(t, r, exitOK)
	if d := diff("[]\n", r.stdout); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	ref, err := newClient(t, s.URL).CreateRun(context.Background(), conn, wrapperRequest())
	if err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, env, "runs", "--connection", conn)
	wantCode(t, r, exitOK)
	if d := diff(ref.RunID+"\tNotStarted\tUndetermined\t2025-01-02T03:04:05Z\t\n", r.stdout); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	r = runCLI(t, env, "runs", "--connection", conn, "--json")
	wantCode(t, r, exitOK)
	if d := diff([]any{rawRun(t, ref.Location)}, decodeJSON(t, r.stdout)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	r = runCLI(t, env, "runs", "--connection", "no-such-connection")
	wantCode(t, r, exitRefused)
}
