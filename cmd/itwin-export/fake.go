package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
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

// fakeServerCmd is `itwin-export fake-server`.
type fakeServerCmd struct {
	addr    string
	step    time.Duration
	outcome string
	// requireAuth: see apitest.OAuthOptions.RequireUserAuthorization.
	requireAuth bool
	// control: see apitest.Options.Control.
	control bool
	// rateLimit: see apitest.Options.RateLimit and RateWindow (ratelimit.go).
	rateLimit rateLimitFlag
	// blobRate is --blob-rate: RATE[@LATENCY] (apitest.Options.BlobRate
	// and BlobFirstByte).
	blobRate string
	// refreshTokens and refreshDelay: see apitest.OAuthOptions.RefreshTokens
	// and RefreshDelay.
	refreshTokens string
	refreshDelay  time.Duration
}

// refreshPolicies maps the --refresh-tokens values onto apitest policies.
var refreshPolicies = map[string]apitest.RefreshTokenPolicy{
	apitest.RotateRefreshTokens.String(): apitest.RotateRefreshTokens,
	apitest.ReuseRefreshTokens.String():  apitest.ReuseRefreshTokens,
}

// fakeTry is the command line fake-server suggests: it waits for the URL
// line, so it runs as written after go build.
const fakeTry = `fake-server --addr 127.0.0.1:0 > fake.url & until [ -s fake.url ]; do sleep 0.1; done; ITWIN_API_URL=$(head -n 1 fake.url) ITWIN_ACCESS_TOKEN=anything ./itwin-export connection create --imodel my-imodel`

// newFakeServerCmd returns `itwin-export fake-server`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newFakeServerCmd(f *factory, runF func(*fakeServerCmd, []string) error) *cobra.Command {
	c := &fakeServerCmd{}
	fs := leaf(f, c, runF, spec{use: "fake-server [--addr 127.0.0.1:8080] [--step D] [--outcome RESULT] [--require-user-authorization] [--refresh-tokens rotate|reuse] [--refresh-delay D] [--control] [--blob-rate RATE[@LATENCY]] [--rate-limit N/DURATION]", short: "serve the in-memory Export API on a local port until interrupted",
		long: `Serve the in-memory Export API of package apitest until interrupted (Ctrl-C
or SIGTERM), so that any client, in any language, can be tried against it. The
first line on stdout is its base URL (for example http://127.0.0.1:8080/export).
It accepts any non-empty bearer token, lets clients create connections
(POST /connections), and runs advance on real time, one state per --step, and
finish with --outcome. Every exchange is checked against openapi.yaml; a
violation is reported on stderr.

The Storage API is beside it (.../storage), and file contents come from a
second loopback origin that refuses requests carrying an Authorization header.
An OAuth2 authorization server lives on the same origin, so that login and
client credentials can be tried offline: /oauth/authorize (redirects straight
back with a code, as a consenting user would) and /oauth/token
(client_credentials, authorization_code with a PKCE S256 verifier,
refresh_token); set ` + envAuthorizeURL + ` and ` + envTokenURL + ` to them. The
authorizationUrl of the authorization information is a page of the fake too;
with --require-user-authorization, runs of User connections whose user has not
visited it complete with Error (the fake's model of the real service). Refresh
tokens are good for one use (--refresh-tokens rotate) unless --refresh-tokens
reuse; --refresh-delay holds each refresh that long, so that concurrent
refreshes of one saved session overlap.`,
		examples: []string{
			"fake-server --addr 127.0.0.1:0",
			fakeTry}})
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on, `HOST:PORT`; port 0 picks a free one")
	fs.DurationVar(&c.step, "step", time.Second, "`DURATION` of each state of a run (five steps to Completed)")
	fs.StringVar(&c.outcome, "outcome", string(api.ExecutionResultSuccess), "`RESULT` runs complete with: Success, PartialSuccess or Error")
	fs.BoolVar(&c.requireAuth, "require-user-authorization", false, "fail runs of User connections whose user has not visited the authorizationUrl")
	fs.StringVar(&c.refreshTokens, "refresh-tokens", apitest.RotateRefreshTokens.String(), "`POLICY` of the token endpoint: rotate (each refresh token good for one use) or reuse")
	fs.DurationVar(&c.refreshDelay, "refresh-delay", 0, "hold each refresh_token grant this `DURATION` before answering it")
	fs.BoolVar(&c.control, "control", false, "answer the control API under /_fake/ (scripted answers, recorded requests: conformance/control-api.yaml)")
	fs.StringVar(&c.blobRate, "blob-rate", "", "cap each connection of the blob origin as a long link does: `SPEC` is RATE[@LATENCY], bytes a second (suffix KiB, MiB or GiB) and the wait for each answer's first byte, for example 16MiB@30ms (default no cap)")
	fs.Var(&c.rateLimit, "rate-limit", "answer 429 with Retry-After beyond `LIMIT` requests per bearer token, written N/DURATION (for example 500/1m), shared by every client of the server (default none)")
	return fs.cmd
}

// exec serves until ctx ends.
func (c *fakeServerCmd) exec(ctx context.Context, a *app, _ []string) error {
	o, ok := outcomes[c.outcome]
	if !ok {
		return flagErrorf("--outcome %q is not one of Success, PartialSuccess, Error", c.outcome)
	}
	if c.step <= 0 {
		return flagErrorf("--step must be positive")
	}
	policy, ok := refreshPolicies[c.refreshTokens]
	if !ok {
		return flagErrorf("--refresh-tokens %q is not one of rotate, reuse", c.refreshTokens)
	}
	if c.refreshDelay < 0 {
		return flagErrorf("--refresh-delay must not be negative")
	}
	rate, firstByte, err := parseBlobRate(c.blobRate)
	if err != nil {
		return flagErrorf("--blob-rate %q: %v", c.blobRate, err)
	}
	stderr := &lockedWriter{w: a.stderr}
	s, err := apitest.NewServerOn(c.addr, apitest.Options{
		BlobRate:       rate,
		BlobFirstByte:  firstByte,
		StepDuration:   c.step,
		DefaultOutcome: o,
		OAuth: apitest.OAuthOptions{RequireUserAuthorization: c.requireAuth,
			RefreshTokens: policy, RefreshDelay: c.refreshDelay},
		Control:    c.control,
		RateLimit:  c.rateLimit.n,
		RateWindow: c.rateLimit.per,
		OnContractViolation: func(err error) {
			fmt.Fprintf(stderr, "contract violation: %s\n", a.out.line(err.Error()))
		},
	})
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	fmt.Fprintln(a.stdout, s.URL)
	if host, _, err := net.SplitHostPort(c.addr); err == nil && !isLoopback(host) {
		fmt.Fprintln(stderr, "warning: listening beyond loopback; the fake accepts any bearer token")
	}
	fmt.Fprintf(stderr, "fake Export API serving at %s (any non-empty bearer token; runs complete with %s after %s); interrupt to stop\n",
		s.URL, c.outcome, 5*c.step)
	fmt.Fprintf(stderr, "try: ITWIN_API_URL=%s ITWIN_ACCESS_TOKEN=anything ./itwin-export connection create --imodel my-imodel\n", s.URL)
	authorizeURL, tokenURL := s.OAuthURLs()
	fmt.Fprintf(stderr, "OAuth2: %s=%s %s=%s (any client id; login needs no secret)\n", envAuthorizeURL, authorizeURL, envTokenURL, tokenURL)
	<-ctx.Done()
	s.Close()
	fmt.Fprintln(stderr, "fake Export API stopped")
	return nil
}

// parseBlobRate reads RATE[@LATENCY]: bytes a second, with an optional
// KiB, MiB or GiB suffix (and "/s"), then a duration. "" is no cap.
func parseBlobRate(v string) (int64, time.Duration, error) {
	if v == "" {
		return 0, 0, nil
	}
	rate, latency, found := strings.Cut(v, "@")
	var d time.Duration
	if found {
		var err error
		if d, err = time.ParseDuration(latency); err != nil || d < 0 {
			return 0, 0, fmt.Errorf("LATENCY must be a duration such as 30ms")
		}
	}
	rate = strings.TrimSuffix(rate, "/s")
	unit := int64(1)
	for suffix, u := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if r, ok := strings.CutSuffix(rate, suffix); ok {
			rate, unit = r, u
		}
	}
	n, err := strconv.ParseFloat(rate, 64)
	if err != nil || n <= 0 || n*float64(unit) > 1<<40 {
		return 0, 0, fmt.Errorf("RATE must be a positive number of bytes a second, such as 16MiB")
	}
	return int64(n * float64(unit)), d, nil
}

// isLoopback reports whether host (a name or an IP, without port) is a
// loopback address: the only place plain http may carry credentials.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
