package conformance_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/itwin-export/itwin-export/conformance"
)

// brokenTransport makes the Go client misbehave the way a binding without
// one of the traps' few lines would, so that the matching scenario must fail.
type brokenTransport func(next http.RoundTripper, req *http.Request) (*http.Response, error)

func (b brokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return b(http.DefaultTransport, req)
}

// followLocation sends a GET to the Location of resp with req's headers
// (the token included), as a client that follows redirects or Locations
// without looking where they lead.
func followLocation(next http.RoundTripper, req *http.Request, resp *http.Response) (*http.Response, error) {
	target, err := req.URL.Parse(resp.Header.Get("Location"))
	if err != nil {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	follow, err := http.NewRequestWithContext(req.Context(), http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, err
	}
	follow.Header = req.Header.Clone()
	follow.Header.Del("Content-Type")
	return next.RoundTrip(follow)
}

// replay sends req again with the body it had.
func replay(next http.RoundTripper, req *http.Request, body []byte) (*http.Response, error) {
	again := req.Clone(req.Context())
	again.Body = io.NopCloser(bytes.NewReader(body))
	return next.RoundTrip(again)
}

// brokenClients are Go clients each missing one trap's lines, the scenario
// that guards the trap, and the failure lines (prefixes) it must report.
var brokenClients = []struct {
	name, scenario string
	broken         brokenTransport
	want           []string
}{{
	name: "follows 303", scenario: "create-303-not-followed",
	broken: func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err == nil && resp.StatusCode == http.StatusSeeOther {
			return followLocation(next, req, resp)
		}
		return resp, err
	},
	want: []string{`result "unexpectedStatus", want "existing"`, "GET * on api: saw 1 requests, want 0"},
}, {
	name: "sends the token to a foreign Location", scenario: "create-foreign-location-refused",
	broken: func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err == nil && resp.StatusCode == http.StatusAccepted {
			if _, err := followLocation(next, req, resp); err != nil {
				return nil, err
			}
			resp.Body = http.NoBody
		}
		return resp, err
	},
	want: []string{"* * on foreign: saw 1 requests, want 0"},
}, {
	name: "retries a create after 500", scenario: "create-500-not-retried",
	broken: func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
		body, _ := io.ReadAll(req.Body)
		resp, err := replay(next, req, body)
		if err == nil && req.Method == http.MethodPost && resp.StatusCode >= 500 {
			resp.Body.Close()
			return replay(next, req, body)
		}
		return resp, err
	},
	want: []string{`result "ok", want "server"`, "POST /export/connections/*/runs on api: saw 2 requests, want 1"},
}, {
	name: "ignores Retry-After", scenario: "create-429-retry-after-within-cap",
	broken: func(next http.RoundTripper, req *http.Request) (*http.Response, error) {
		body, _ := io.ReadAll(req.Body)
		resp, err := replay(next, req, body)
		if err == nil && resp.StatusCode == http.StatusTooManyRequests {
			resp.Body.Close()
			return replay(next, req, body)
		}
		return resp, err
	},
	want: []string{"POST /export/connections/*/runs on api: request 2 came "},
}}

// TestBrokenClientsFail: each broken variant of the Go client fails the
// scenario that guards the trap it ignores, with the failure that names it,
// while the correct client passes the same scenario (TestGoClient).
func TestBrokenClientsFail(t *testing.T) {
	fake := startFake(t)
	scenarios := loadScenarios(t)
	for _, c := range brokenClients {
		t.Run(c.name, func(t *testing.T) {
			i := slices.IndexFunc(scenarios, func(s conformance.Scenario) bool { return s.Name == c.scenario })
			if i < 0 {
				t.Fatalf("no scenario %s", c.scenario)
			}
			failures, err := conformance.Run(context.Background(), fake, scenarios[i], conformance.GoClient(&http.Client{Transport: c.broken}))
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range c.want {
				if !slices.ContainsFunc(failures, func(f string) bool { return strings.HasPrefix(f, want) }) {
					t.Errorf("no failure %q among %q", want, failures)
				}
			}
		})
	}
}
