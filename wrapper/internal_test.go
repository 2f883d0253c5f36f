package wrapper

import (
	"errors"
	"net/url"
	"testing"
)

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
	req, err := url.Parse("https://api.bentley.com/export/connections/c1/runs")
	if err != nil {
		t.Fatal(err)
	}
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
