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
	var stdout, stderr syncBuffer
	code := run(ctx, args, bytes.NewReader(nil), &stdout, &stderr, func(k string) string { return env[k] })
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}
