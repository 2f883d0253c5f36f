package conformance_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
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

// tokenEverywhere is a download that sends the bearer token with every
// request, the blob's included: the Performer of a client that treats the
// blob link like any other API URL. Its result is the blob's status.
func tokenEverywhere(ctx context.Context, _ conformance.ClientConfig, apiURL string, op conformance.Operation) conformance.Outcome {
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+conformance.Token)
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	file := strings.TrimSuffix(apiURL, "/export") + "/storage/files/" + op.FileID
	if _, err := get(file); err != nil {
		return conformance.Outcome{Result: "transport", Detail: err.Error()}
	}
	link, err := get(file + "/download")
	if err != nil {
		return conformance.Outcome{Result: "transport", Detail: err.Error()}
	}
	blob, err := get(link.Header.Get("Location"))
	if err != nil {
		return conformance.Outcome{Result: "transport", Detail: err.Error()}
	}
	return conformance.Outcome{Result: "status " + strconv.Itoa(blob.StatusCode)}
}

// TestTokenToTheBlobFails: a download that sends the token to the blob
// origin fails download-blob-without-credentials, on the blob request.
func TestTokenToTheBlobFails(t *testing.T) {
	fake := startFake(t)
	i := slices.IndexFunc(loadScenarios(t), func(s conformance.Scenario) bool { return s.Name == "download-blob-without-credentials" })
	failures, err := conformance.Run(context.Background(), fake, loadScenarios(t)[i], tokenEverywhere)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`result "status 400", want "ok"`, "GET * on blob: request 1 (GET /exports/"} {
		if !slices.ContainsFunc(failures, func(f string) bool { return strings.HasPrefix(f, want) }) {
			t.Errorf("no failure %q among %q", want, failures)
		}
	}
}
