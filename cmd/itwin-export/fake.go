package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// outcomes maps the --outcome values of fake-server onto apitest outcomes.
var outcomes = map[string]apitest.Outcome{
	string(api.ExecutionResultSuccess):        apitest.OutcomeSuccess,
	string(api.ExecutionResultPartialSuccess): apitest.OutcomePartialSuccess,
	string(api.ExecutionResultError):          apitest.OutcomeError,
}

// lockedWriter serialises writes from the server's goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write writes p under the lock.
func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// cmdFakeServer is `itwin-export fake-server`.
func cmdFakeServer(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("fake-server", "fake-server [--addr 127.0.0.1:8080] [--step D] [--outcome RESULT] [--control]",
		`Serve the in-memory Export API of package apitest until interrupted (Ctrl-C
or SIGTERM), so that any client, in any language, can be tried against it. The
first line on stdout is its base URL (for example http://127.0.0.1:8080/export).
It accepts any non-empty bearer token, lets clients create connections
(POST /connections), and runs advance on real time, one state per --step, and
finish with --outcome. Every exchange is checked against openapi.yaml; a
violation is reported on stderr.

An OAuth2 authorization server lives on the same origin, so that login and
client credentials can be tried offline: /oauth/authorize (redirects straight
back with a code, as a consenting user would) and /oauth/token
(client_credentials, authorization_code with a PKCE S256 verifier,
refresh_token); set ITWIN_AUTHORIZE_URL and ITWIN_TOKEN_URL to them. The
authorizationUrl of the authorization information is a page of the fake too;
with --require-user-authorization, runs of User connections whose user has not
visited it complete with Error (the fake's model of the real service).`,
		"fake-server --addr 127.0.0.1:0",
		"fake-server & ITWIN_API_URL=http://127.0.0.1:8080/export ITWIN_ACCESS_TOKEN=anything itwin-export connection create --imodel my-imodel")
	var (
		addr    string
		step    time.Duration
		outcome string
		control bool
		// requireAuth: see apitest.OAuthOptions.RequireUserAuthorization.
		requireAuth bool
	)
	fs.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on, `HOST:PORT`; port 0 picks a free one")
	fs.DurationVar(&step, "step", time.Second, "`DURATION` of each state of a run (five steps to Completed)")
	fs.StringVar(&outcome, "outcome", string(api.ExecutionResultSuccess), "`RESULT` runs complete with: Success, PartialSuccess or Error")
	fs.BoolVar(&requireAuth, "require-user-authorization", false, "fail runs of User connections whose user has not visited the authorizationUrl")
	fs.BoolVar(&control, "control", false, "answer the control API under /_fake/ (scripted answers, recorded requests: conformance/control-api.yaml)")
	if _, code, done := fs.parse(args, 0, 0); done {
		return code
	}
	o, ok := outcomes[outcome]
	if !ok {
		return fs.usageError("--outcome %q is not one of Success, PartialSuccess, Error", outcome)
	}
	if step <= 0 {
		return fs.usageError("--step must be positive")
	}
	stderr := &lockedWriter{w: a.stderr}
	s, err := apitest.NewServerOn(addr, apitest.Options{
		StepDuration:   step,
		DefaultOutcome: o,
		OAuth:          apitest.OAuthOptions{RequireUserAuthorization: requireAuth},
		Control:        control,
		OnContractViolation: func(err error) {
			fmt.Fprintf(stderr, "contract violation: %s\n", oneLine(err.Error()))
		},
	})
	if err != nil {
		return a.fail(&usageError{msg: err.Error()})
	}
	fmt.Fprintln(a.stdout, s.URL)
	if host, _, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			fmt.Fprintln(stderr, "warning: listening beyond loopback; the fake accepts any bearer token")
		}
	}
	fmt.Fprintf(stderr, "fake Export API serving at %s (any non-empty bearer token; runs complete with %s after %s); interrupt to stop\n",
		s.URL, outcome, 5*step)
	fmt.Fprintf(stderr, "try: ITWIN_API_URL=%s ITWIN_ACCESS_TOKEN=anything itwin-export connection create --imodel my-imodel\n", s.URL)
	authorizeURL, tokenURL := s.OAuthURLs()
	fmt.Fprintf(stderr, "OAuth2: %s=%s %s=%s (any client id; login needs no secret)\n", envAuthorizeURL, authorizeURL, envTokenURL, tokenURL)
	<-ctx.Done()
	s.Close()
	fmt.Fprintln(stderr, "fake Export API stopped")
	return exitOK
}

// cmdDemo is `itwin-export demo`.
func cmdDemo(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("demo", "demo [--step D] [--verbose]",
		`Show the whole flow with no account and no network: start the in-memory
Export API of package apitest on a loopback port, create a connection through
the client library, create an export run, wait for it as 'run --wait' does and
print each step to stdout. Exits 0 when the run completes with Success.`,
		"demo",
		"demo --step 1s --verbose")
	var (
		step    time.Duration
		verbose bool
	)
	fs.DurationVar(&step, "step", 300*time.Millisecond, "`DURATION` of each state of the run (five steps to Completed)")
	fs.BoolVar(&verbose, "verbose", false, "log every HTTP exchange to stderr")
	if _, code, done := fs.parse(args, 0, 0); done {
		return code
	}
	if step <= 0 {
		return fs.usageError("--step must be positive")
	}
	out := a.stdout
	s := apitest.NewServer(apitest.Options{StepDuration: step})
	defer s.Close()
	fmt.Fprintf(out, "fake Export API (package apitest) listening at %s\n", s.URL)

	opts := wrapper.Options{BaseURL: s.URL, TokenSource: wrapper.StaticToken("demo-token"), UserAgent: userAgent}
	if verbose {
		opts.Logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	client, err := wrapper.New(opts)
	if err != nil {
		return a.fail(err)
	}

	auth := api.AuthenticationTypeService
	name := "itwin-export demo"
	conn, err := client.CreateConnection(ctx, api.ExportConnectionCreate{IModelID: "demo-imodel", DisplayName: &name, AuthenticationType: &auth})
	if err != nil {
		return a.fail(err)
	}
	fmt.Fprintf(out, "connection created: %s (iModel %s, authentication %s)\n", deref(conn.ID), deref(conn.IModelID), deref(conn.AuthenticationType))

	version := api.IFCVersionIFC43
	ref, err := client.CreateRun(ctx, deref(conn.ID), api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, IFCVersion: &version})
	if err != nil {
		return a.fail(err)
	}
	fmt.Fprintf(out, "run created: %s\n  at its Location %s\n", ref.RunID, ref.Location)
	fmt.Fprintf(out, "waiting for the run (each state lasts %s):\n", step)
	run, err := client.WaitRun(ctx, ref, wrapper.WaitOptions{
		MinInterval: max(step/3, time.Millisecond),
		MaxInterval: max(step/2, time.Millisecond),
		OnProgress: func(p wrapper.Progress) {
			fmt.Fprintf(out, "  %8s  %s\n", formatElapsed(p.Elapsed), stateText(p.Run))
		},
	})
	if run != nil {
		fmt.Fprintln(out, "the run as 'itwin-export status' shows it:")
		writeSummary(out, run, ref.Location)
	}
	if err != nil {
		return a.fail(err)
	}
	fmt.Fprintf(out, "done: result %s. Try 'itwin-export fake-server' to drive the same service yourself.\n", deref(run.Result))
	return exitOK
}
