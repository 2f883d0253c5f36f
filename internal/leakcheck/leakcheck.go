// Package leakcheck ends a test binary with a goroutine leak check: every
// test package of this module calls Main from its TestMain, so a goroutine
// that outlives the tests (a hung request, a forgotten server, a timer loop)
// fails the run.
package leakcheck

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Main runs the tests with Run and exits with its code.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the tests, then returns a failing code if goroutines other than
// the test runner's are still alive, for a TestMain that has cleaning up to
// do before it exits. Idle keep-alive connections of http.DefaultTransport
// are closed first: they are a cache, not a leak.
func Run(m *testing.M) int {
	code := m.Run()
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t.CloseIdleConnections()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "leakcheck: goroutines outlived the tests: %v\n", err)
			code = 1
		}
	}
	return code
}
