package wrapper

// Fuzz targets. `make fuzz` runs each for a bounded time; `go test` runs
// their seeds (f.Add and testdata/fuzz) as ordinary tests.

import (
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func fuzzClient(t testing.TB) *Client {
	c, err := New(Options{BaseURL: "https://api.bentley.com/export", TokenSource: StaticToken("fuzz-token-value")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzAPIErrorBody: any error body, however broken, gives a classified error
// with a bounded, redacted excerpt and never panics.
func FuzzAPIErrorBody(f *testing.F) {
	f.Add(422, []byte(`{"error":{"code":"InvalidConnectionRunRequest","message":"Cannot perform operation.","details":[{"code":"InvalidValue","message":"m","target":"exportType"}]}}`))
	f.Add(401, []byte(`<html><body>401 Unauthorized</body></html>`))
	f.Add(500, []byte(``))
	f.Add(404, []byte(`{"error":{"code":"ConnectionNotF`))
	f.Add(429, []byte(`{"error":null}`))
	f.Add(403, []byte(`{"error":{"code":1,"message":["x"],"details":"no"}}`))
	f.Add(400, []byte("\xff\xfe bearer abc.def sig=SECRET"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = 400 + abs(status)%200
		c := fuzzClient(t)
		u, _ := url.Parse("https://api.bentley.com/export/connections/c1")
		h := http.Header{}
		h.Set("Retry-After", "7")
		e := c.apiError(&exchange{op: opGetConnection, url: u, status: status, header: h, body: body})
		if e.StatusCode != status || e.RetryAfter != 7*time.Second {
			t.Fatalf("status %d retry %v", e.StatusCode, e.RetryAfter)
		}
		if len(e.Body) > maxExcerpt || !utf8.ValidString(e.Body) {
			t.Fatalf("excerpt of %d bytes, valid UTF-8 %t", len(e.Body), utf8.ValidString(e.Body))
		}
		text := e.Error()
		if strings.Contains(text, "fuzz-token-value") {
			t.Fatalf("error carries the token: %s", text)
		}
		assertNoSignature(t, text)
		if status >= 500 && !e.Is(ErrServer) {
			t.Fatalf("%d not classified as a server error", status)
		}
	})
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

// FuzzParseRetryAfter: seconds, dates and garbage never panic, never give a
// negative wait, and whole seconds parse exactly.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "1", "30", "3600", "-1", "1.5", " 7 ", "abc", "", "99999999999999999999999",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "9223372036"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if d < 0 {
			t.Fatalf("%q: negative wait %v", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("%q: no wait but %v", v, d)
		}
		var n uint64
		if isDigits(strings.TrimSpace(v)) && len(strings.TrimSpace(v)) < 10 {
			for _, r := range strings.TrimSpace(v) {
				n = n*10 + uint64(r-'0')
			}
			if !ok || d != time.Duration(n)*time.Second {
				t.Fatalf("%q: got %v %t, want %ds", v, d, ok, n)
			}
		}
	})
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func abs(n int) int {
	if n < 0 {
		if n == -n {
			return 0
		}
		return -n
	}
	return n
}
