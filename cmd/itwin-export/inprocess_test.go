package main

import (
	"bytes"
	"context"
	"testing"
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
