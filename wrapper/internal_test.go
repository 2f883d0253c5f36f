package wrapper

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
)

// TestEndpointsMatchTheContract holds the client's one URL builder to the
// generated request builders, which follow openapi.yaml, for every operation
// the client calls.
func TestEndpointsMatchTheContract(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"https://api.bentley.com/export", "http://127.0.0.1:8080/export", "https://proxy.example.com/a%2Fb/export"} {
		c, err := New(Options{BaseURL: base, TokenSource: StaticToken("t")})
		if err != nil {
			t.Fatal(err)
		}
		server := c.baseURL() + "/"
		for _, id := range []string{"c1", "a/b", "a?b#c", "100%", "a b", "é", "..a", "a;b,c", "VRZHoBhrnkGrAev0-_-d_xwvyrzjgaVGka5wU967Q7M"} {
			for _, tc := range []struct {
				got  *url.URL
				want func() (*http.Request, error)
			}{
				{c.endpoint(nil, "connections"), func() (*http.Request, error) {
					return api.NewCreateExportConnectionRequestWithBody(server, "application/json", nil)
				}},
				{c.endpoint(nil, "connections", id), func() (*http.Request, error) { return api.NewGetExportConnectionRequest(server, id) }},
				{c.endpoint(nil, "connections", id, "runs"), func() (*http.Request, error) {
					return api.NewCreateExportConnectionRunRequestWithBody(server, id, "application/json", nil)
				}},
				{c.endpoint(nil, "connections", id, "runs", id+"r"), func() (*http.Request, error) {
					return api.NewGetExportConnectionRunRequest(server, id, id+"r")
				}},
				{c.endpoint(url.Values{"imodelId": {id}}, "connections"), func() (*http.Request, error) {
					return api.NewGetExportConnectionsRequest(server, &api.GetExportConnectionsParams{ImodelID: id})
				}},
				{c.endpoint(url.Values{"redirectUrl": {"https://app.example.com/cb?x=" + id}}, "authorizationinformation"), func() (*http.Request, error) {
					return api.NewGetAuthorizationInformationRequest(server, &api.GetAuthorizationInformationParams{RedirectURL: "https://app.example.com/cb?x=" + id})
				}},
			} {
				want, err := tc.want()
				if err != nil {
					t.Fatal(err)
				}
				if tc.got.String() != want.URL.String() {
					t.Errorf("base %s, id %q: %s, the generated builder says %s", base, id, tc.got, want.URL)
				}
			}
		}
	}
}

// TestOptionsLimits: zero limits take the defaults, negative ones mean none,
// others are kept.
func TestOptionsLimits(t *testing.T) {
	t.Parallel()
	type limits struct {
		Header, Idle, Body time.Duration
		Pages              int
	}
	for _, tc := range []struct {
		opts Options
		want limits
	}{
		{Options{}, limits{DefaultResponseHeaderTimeout, DefaultBodyIdleTimeout, DefaultBodyTimeout, DefaultMaxPages}},
		{Options{ResponseHeaderTimeout: -1, BodyIdleTimeout: -1, BodyTimeout: -1, MaxPages: -1}, limits{0, 0, 0, DefaultMaxPages}},
		{Options{ResponseHeaderTimeout: time.Second, BodyIdleTimeout: 2 * time.Second, BodyTimeout: 3 * time.Second, MaxPages: 7}, limits{time.Second, 2 * time.Second, 3 * time.Second, 7}},
	} {
		tc.opts.TokenSource = StaticToken("t")
		c, err := New(tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		got := limits{c.headerTimeout, c.idleTimeout, c.bodyTimeout, c.maxPages}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", tc.opts, diff)
		}
	}
}

// TestResolveIsCanonical: a Location on the API's origin, however its
// scheme, host and port are written, resolves to the one canonical URL, with
// dot segments removed, percent-encoded ones included; one that leaves the
// base path once they are removed is refused.
func TestResolveIsCanonical(t *testing.T) {
	t.Parallel()
	c, err := New(Options{BaseURL: "https://API.Bentley.com:443/export/", TokenSource: StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.baseURL(); got != "https://api.bentley.com/export" {
		t.Errorf("base %s, want https://api.bentley.com/export", got)
	}
	req := c.endpoint(nil, "connections", "c1", "runs")
	const run = "https://api.bentley.com/export/connections/c1/runs/r1"
	for _, tc := range []struct {
		location, want string
		err            error
	}{
		{"//Api.BentleY.Com:/export/connections/c1/runs/r1", run, nil},
		{"HTTPS://API.BENTLEY.COM:443/export/connections/c1/runs/r1", run, nil},
		{"https://api.bentley.com:/export/connections/c1/runs/r1", run, nil},
		{"/export/a/%2E%2e/connections/c1/runs/r1", run, nil},
		{"/export/connections/c1/runs/./r1", run, nil},
		{"r1", "https://api.bentley.com/export/connections/c1/r1", nil},
		{"/export/connections/a%2Fb/runs/r1", "https://api.bentley.com/export/connections/a%2Fb/runs/r1", nil},
		{"/export/%2e%2e/admin/connections/c1/runs/r1", "", ErrForeignLocation},
		{"/export/%2e%2E", "", ErrForeignLocation},
		{"https://api.bentley.com:8443/export/connections/c1/runs/r1", "", ErrForeignLocation},
		{"http://api.bentley.com/export/connections/c1/runs/r1", "", ErrForeignLocation},
		{"//Api.BentleY.Com:/export/", "https://api.bentley.com/export/", nil},
	} {
		u, err := c.resolve(req, tc.location)
		switch {
		case tc.err != nil && !errors.Is(err, tc.err):
			t.Errorf("%q: err = %v, want %v", tc.location, err, tc.err)
		case tc.err == nil && (err != nil || u.String() != tc.want):
			t.Errorf("%q resolved to %v, %v; want %s", tc.location, u, err, tc.want)
		}
	}
}
