package wrapper

import (
	"errors"
	"net/url"
	"path"
	"strings"
	"testing"
)

// TestResolve_IsCanonical: a Location on the API's origin, however its
// scheme, host and port are written, resolves to the one canonical URL, with
// dot segments removed, percent-encoded ones included; one that leaves the
// base path once they are removed is refused.
func TestResolve_IsCanonical(t *testing.T) {
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

// FuzzResolveLocation: whatever Location comes back, the client either
// refuses it or resolves it to the API's own origin, in canonical form
// (lower-case scheme and host, no default port), under its base path with
// no dot segment left, percent-encoded or not; where it names a run, the ids
// round-trip. It refuses as foreign only what RFC 3986 resolution puts on
// another origin (scheme and host compared in any case, an empty port the
// default one) or outside the base path.
func FuzzResolveLocation(f *testing.F) {
	for _, s := range []string{
		"/export/connections/c1/runs/r1", "runs/r1", "r1", "../runs/r1", "./r1",
		"https://api.bentley.com/export/connections/c1/runs/r1",
		"https://api.bentley.com:443/export/connections/c1/runs/r1",
		"https://evil.example.com/export/connections/c1/runs/r1",
		"//evil.example.com/export/connections/c1/runs/r1",
		"https://user:pw@api.bentley.com/export/connections/c1/runs/r1",
		"http://api.bentley.com/export/connections/c1/runs/r1",
		"/export/connections/a%2Fb/runs/r%3F1", "/export/../connections/c1/runs/r1",
		"/export/connections/c1/runs/r1#frag", "/export/connections/c1/runs",
		"https://api.bentley.com.evil.example.com/export/connections/c1/runs/r1",
		"https://api.bentley.com@evil.example.com/export/connections/c1/runs/r1",
		"\\\\evil.example.com/export", "/%2e%2e/connections/c1/runs/r1", "", " ", "::",
		"/export/connections/c1/runs/r1/", "/export/connections/c1/runs/..", "/exportx/connections/c1/runs/r1",
		"/export/connections/c:1/runs/r@1", "/export/a/connections/c1/runs/r1", "/export/connections/c1/runs/r 1",
		"//Api.BentleY.Com:/export/", "HTTPS://API.BENTLEY.COM:443/export/connections/c1/runs/r1",
		"/export/%2e%2e/admin/connections/c1/runs/r1", "/export/a/%2E./connections/c1/runs/r1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, location string) {
		c := fuzzClient(t)
		req, _ := url.Parse("https://api.bentley.com/export/connections/c1/runs")
		u, err := c.resolve(req, location)
		if err != nil {
			if !errors.Is(err, ErrMissingLocation) && !errors.Is(err, ErrForeignLocation) {
				t.Fatalf("%q: unclassified refusal %v", location, err)
			}
			if rel, perr := url.Parse(location); perr == nil && errors.Is(err, ErrForeignLocation) && apiByRFC3986(req.ResolveReference(rel)) {
				t.Fatalf("%q: refused as foreign, but RFC 3986 puts it on the API's origin under its base path: %v", location, err)
			}
			return
		}
		if u.Scheme != "https" || u.Host != "api.bentley.com" || u.User != nil {
			t.Fatalf("%q resolved to %s: foreign or not canonical", location, u)
		}
		if p := u.EscapedPath(); !strings.HasPrefix(p, "/export/") || hasDotSegment(p) {
			t.Fatalf("%q resolved outside the base path or with a dot segment: %s", location, u)
		}
		if again, err := c.resolve(req, u.String()); err != nil || again.String() != u.String() {
			t.Fatalf("%q: the resolved %s is not canonical: again %v, %v", location, u, again, err)
		}
		ref, err := runRefFromURL(u)
		if err != nil {
			return
		}
		again, err := ParseRunRef(ref.Location)
		if err != nil || again != ref {
			t.Fatalf("%q: ref %+v does not round-trip: %+v, %v", location, ref, again, err)
		}
		if back, err := c.RunRefFor(ref.ConnectionID, ref.RunID); err == nil && back.Location == ref.Location && (back.ConnectionID != ref.ConnectionID || back.RunID != ref.RunID) {
			t.Fatalf("ids do not round-trip: %+v vs %+v", ref, back)
		}
	})
}

// apiByRFC3986 is the test's own reading of a resolved URL: https, host
// api.bentley.com in any case, port empty or 443, no userinfo, and a path
// that, with "%2e" read as a dot and dot segments removed by path.Clean, is
// under /export/. Paths with an empty segment are left out: path.Clean and
// RFC 3986 treat them differently.
func apiByRFC3986(u *url.URL) bool {
	if !strings.EqualFold(u.Scheme, "https") || !strings.EqualFold(u.Hostname(), "api.bentley.com") || (u.Port() != "" && u.Port() != "443") || u.User != nil {
		return false
	}
	p := u.EscapedPath()
	if strings.Contains(p, "//") {
		return false
	}
	p = strings.NewReplacer("%2e", ".", "%2E", ".").Replace(p)
	return strings.HasPrefix(path.Clean(p), "/export/")
}

// hasDotSegment reports whether an escaped path has a "." or ".." segment,
// percent-encoded or not.
func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if s := strings.NewReplacer("%2e", ".", "%2E", ".").Replace(seg); s == "." || s == ".." {
			return true
		}
	}
	return false
}

// TestBlobURL_RefusalsAreLocationErrors: each kind of refused link is a
// *LocationError matching its sentinel, its signature redacted.
func TestBlobURL_RefusalsAreLocationErrors(t *testing.T) {
	t.Parallel()
	req, err := url.Parse("https://api.bentley.com/storage/files/f1/download")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		loc, location string
		kind          error
	}{
		{"", "", ErrMissingLocation},
		{"::", "::", ErrMissingLocation},
		{"https://u:pw@acct.blob.core.windows.net/c/f?sig=SECRET", "https://u:REDACTED@acct.blob.core.windows.net/c/f?sig=REDACTED", ErrForeignLocation},
		{"http://acct.blob.core.windows.net/c/f?sig=SECRET", "http://acct.blob.core.windows.net/c/f?sig=REDACTED", ErrInsecureLink},
	} {
		u, err := blobURL(req, tc.loc)
		var le *LocationError
		if u != nil || !errors.As(err, &le) || !errors.Is(err, tc.kind) || le.Location != tc.location {
			t.Errorf("blobURL(%q) = %v, %#v; want a *LocationError matching %v at %q", tc.loc, u, err, tc.kind, tc.location)
		}
	}
	if u, err := blobURL(req, "https://acct.blob.core.windows.net/c/f?sig=S"); err != nil || u.Host != "acct.blob.core.windows.net" {
		t.Errorf("an https link: %v, %v", u, err)
	}
}

// TestResolve_RefusalScrubsTheClientsSecrets: the Location of a refused
// URL is redacted of the client's own secrets too, not only of patterns.
func TestResolve_RefusalScrubsTheClientsSecrets(t *testing.T) {
	t.Parallel()
	c, err := New(Options{BaseURL: "https://api.bentley.com/export", TokenSource: StaticToken("t"), Secrets: []string{"client-secret-1"}})
	if err != nil {
		t.Fatal(err)
	}
	req, err := url.Parse("https://api.bentley.com/export/connections/c1/runs")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.resolve(req, "https://evil.example.com/client-secret-1?sig=S")
	var le *LocationError
	if !errors.As(err, &le) || !errors.Is(err, ErrForeignLocation) || le.Location != "https://evil.example.com/REDACTED?sig=REDACTED" {
		t.Errorf("resolve: %#v", err)
	}
}
