package urlcheck

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustParse(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// apiBase is the base of the tests: the production API's.
func apiBase(t testing.TB) *url.URL {
	t.Helper()
	base, problem := Base("https://api.bentley.com/export")
	if problem != "" {
		t.Fatal(problem)
	}
	return base
}

// TestBase_Canonical: a base URL is kept in one form, scheme and host in
// lower case, no default port, no trailing slash; one with userinfo, a
// query, a fragment or no http(s) scheme is refused.
func TestBase_Canonical(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ raw, want, problem string }{
		{"https://API.Bentley.com:443/export/", "https://api.bentley.com/export", ""},
		{"HTTPS://api.bentley.com/export//", "https://api.bentley.com/export", ""},
		{"http://LocalHost:80/export", "http://localhost/export", ""},
		{"http://127.0.0.1:8080/export", "http://127.0.0.1:8080/export", ""},
		{"https://[::1]:443/export", "https://[::1]/export", ""},
		{"https://[::1]:8443/export", "https://[::1]:8443/export", ""},
		{"https://api.bentley.com", "https://api.bentley.com", ""},
		{"ftp://api.bentley.com/export", "", "must be an absolute http(s) URL"},
		{"/export", "", "must be an absolute http(s) URL"},
		{"https://", "", "must be an absolute http(s) URL"},
		{"https://a b/", "", "must be an absolute http(s) URL"},
		{"https://user:pw@api.bentley.com/export", "", "must have no userinfo, query or fragment"},
		{"https://api.bentley.com/export?x=1", "", "must have no userinfo, query or fragment"},
		{"https://api.bentley.com/export?", "", "must have no userinfo, query or fragment"},
		{"https://api.bentley.com/export#f", "", "must have no userinfo, query or fragment"},
	} {
		base, problem := Base(tc.raw)
		got := ""
		if base != nil {
			got = base.String()
		}
		if got != tc.want || problem != tc.problem {
			t.Errorf("Base(%q) = %q, %q; want %q, %q", tc.raw, got, problem, tc.want, tc.problem)
		}
	}
}

// TestSameOrigin_ComparesAsRFC3986: scheme and host in any case, an empty
// port the scheme's default; userinfo is never the same origin.
func TestSameOrigin_ComparesAsRFC3986(t *testing.T) {
	t.Parallel()
	base := apiBase(t)
	for raw, want := range map[string]bool{
		"https://api.bentley.com/x":          true,
		"HTTPS://API.BENTLEY.COM:443/x":      true,
		"https://api.bentley.com:/x":         true,
		"https://api.bentley.com:8443/x":     false,
		"http://api.bentley.com/x":           false,
		"https://u@api.bentley.com/x":        false,
		"https://api.bentley.com.evil.com/x": false,
		"/export/x":                          false,
	} {
		if got := SameOrigin(mustParse(t, raw), base); got != want {
			t.Errorf("SameOrigin(%q) = %t, want %t", raw, got, want)
		}
	}
	local, _ := Base("http://localhost/export")
	if !SameOrigin(mustParse(t, "http://LOCALHOST:80/x"), local) {
		t.Error("http's default port 80 is not its empty port")
	}
}

// TestIsLoopback_NamesAndAddresses: localhost in any case and loopback
// addresses, nothing else.
func TestIsLoopback_NamesAndAddresses(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.9.9.9": true, "::1": true,
		"localhost.example.com": false, "10.0.0.1": false, "api.bentley.com": false, "": false, "[::1]": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %t, want %t", host, got, want)
		}
	}
}

// TestResolve_CanonicalOrRefused: a Location on the API's origin resolves
// to its one canonical URL with dot segments removed (percent-encoded ones
// included); anything else is refused with its kind and the URL as
// resolved, for the caller to redact.
func TestResolve_CanonicalOrRefused(t *testing.T) {
	t.Parallel()
	base := apiBase(t)
	req := mustParse(t, "https://api.bentley.com/export/connections/c1/runs")
	const run = "https://api.bentley.com/export/connections/c1/runs/r1"
	for _, tc := range []struct {
		ref, want string
		problem   *Problem
	}{
		{"//Api.BentleY.Com:/export/connections/c1/runs/r1", run, nil},
		{"HTTPS://API.BENTLEY.COM:443/export/connections/c1/runs/r1", run, nil},
		{"/export/a/%2E%2e/connections/c1/runs/r1", run, nil},
		{"/export/connections/c1/runs/./r1", run, nil},
		{"r1", "https://api.bentley.com/export/connections/c1/r1", nil},
		{"/export/connections/a%2Fb/runs/r1", "https://api.bentley.com/export/connections/a%2Fb/runs/r1", nil},
		{"", "", &Problem{Kind: Missing, Reason: "the answer has no Location"}},
		{" \t", "", &Problem{Kind: Missing, Reason: "the answer has no Location"}},
		{"::", "", &Problem{Kind: Missing, URL: "::", Reason: "does not parse as a URL"}},
		{"https://evil.example.com/export/x?sig=S", "", &Problem{Kind: Foreign, URL: "https://evil.example.com/export/x?sig=S",
			Reason: "not the API's scheme, host and port; refused before any request"}},
		{"http://api.bentley.com/export/x", "", &Problem{Kind: Foreign, URL: "http://api.bentley.com/export/x",
			Reason: "not the API's scheme, host and port; refused before any request"}},
		{"/export/%2e%2e/admin", "", &Problem{Kind: Foreign, URL: "https://api.bentley.com/admin",
			Reason: "not under the API's base path /export"}},
		{"/exportx/connections/c1", "", &Problem{Kind: Foreign, URL: "https://api.bentley.com/exportx/connections/c1",
			Reason: "not under the API's base path /export"}},
		{"/export", "", &Problem{Kind: Foreign, URL: "https://api.bentley.com/export", Reason: "not under the API's base path /export"}},
		{"/export/%zz/../x", "", &Problem{Kind: Missing, URL: "/export/%zz/../x", Reason: "does not parse as a URL"}},
	} {
		u, problem := Resolve(base, req, tc.ref)
		got := ""
		if u != nil {
			got = u.String()
		}
		if got != tc.want {
			t.Errorf("Resolve(%q) = %q, want %q", tc.ref, got, tc.want)
		}
		if diff := cmp.Diff(tc.problem, problem); diff != "" {
			t.Errorf("Resolve(%q) problem (-want +got):\n%s", tc.ref, diff)
		}
	}
}

// TestProblem_ErrorLeavesTheURLOut: the text of a Problem is its reason
// alone; the URL, which may carry a signature, is the caller's to redact.
func TestProblem_ErrorLeavesTheURLOut(t *testing.T) {
	t.Parallel()
	p := &Problem{Kind: Foreign, URL: "https://evil.example.com/?sig=SECRET", Reason: "not the API's scheme, host and port"}
	if got := p.Error(); got != p.Reason || strings.Contains(got, "SECRET") {
		t.Errorf("Error() = %q", got)
	}
}

// TestLink_HTTPSOrLoopbackOnly: a content link is https, or plain http to a
// loopback address; with userinfo it is foreign, and it must be there.
func TestLink_HTTPSOrLoopbackOnly(t *testing.T) {
	t.Parallel()
	req := mustParse(t, "https://api.bentley.com/storage/files/f1/download")
	for _, tc := range []struct {
		loc, want string
		kind      Kind
	}{
		{"https://acct.blob.core.windows.net/c/f.ifc?sig=S", "https://acct.blob.core.windows.net/c/f.ifc?sig=S", 0},
		{"HTTPS://acct.blob.core.windows.net/c/f.ifc", "https://acct.blob.core.windows.net/c/f.ifc", 0},
		{"http://127.0.0.1:10000/c/f.ifc", "http://127.0.0.1:10000/c/f.ifc", 0},
		{"http://localhost/c/f.ifc", "http://localhost/c/f.ifc", 0},
		{"/blob/f.ifc", "https://api.bentley.com/blob/f.ifc", 0},
		{"http://acct.blob.core.windows.net/c/f.ifc?sig=S", "", Insecure},
		{"ftp://acct.blob.core.windows.net/c/f.ifc", "", Insecure},
		{"https://u:p@acct.blob.core.windows.net/c/f.ifc", "", Foreign},
		{"", "", Missing},
		{"::", "", Missing},
	} {
		u, problem := Link(req, tc.loc)
		got, kind := "", Kind(0)
		if u != nil {
			got = u.String()
		}
		if problem != nil {
			kind = problem.Kind
		}
		if got != tc.want || kind != tc.kind {
			t.Errorf("Link(%q) = %q, kind %d; want %q, kind %d", tc.loc, got, kind, tc.want, tc.kind)
		}
	}
}

// TestRemoveDotSegments_RFC3986: the examples of RFC 3986 section 5.2.4
// and percent-encoded dots in any case.
func TestRemoveDotSegments_RFC3986(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/a/b/c/./../../g": "/a/g",
		"/a/b/../c":        "/a/c",
		"/a/b/.":           "/a/b/",
		"/a/b/..":          "/a/",
		"/../a":            "/a",
		"/a/%2E%2e/b":      "/b",
		"/a/%2e/b":         "/a/b",
		"/a/.../b":         "/a/.../b",
		"/a/..b/c":         "/a/..b/c",
		"/a/b":             "/a/b",
	} {
		if got := removeDotSegments(in); got != want {
			t.Errorf("removeDotSegments(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRunIDs_FromTheEnd: the ids are the last four segments', decoded one
// by one; anything else, or a URL with userinfo, a query or a fragment,
// says why not.
func TestRunIDs_FromTheEnd(t *testing.T) {
	t.Parallel()
	const notARun = "does not name a run (/connections/{id}/runs/{runId})"
	for _, tc := range []struct{ url, conn, run, problem string }{
		{"https://h/export/connections/c1/runs/r1", "c1", "r1", ""},
		{"https://h/connections/a%2Fb/runs/r%3F1", "a/b", "r?1", ""},
		{"https://h/export/connections/c1/runs", "", "", notARun},
		{"https://h/export/connexions/c1/runs/r1", "", "", notARun},
		{"https://h/export/connections/c1/runs/r1/", "", "", notARun},
		{"https://h/export/connections//runs/r1", "", "", "has an empty or invalid id"},
		{"https://h/export/connections/c1/runs/%2e%2e", "", "", "has an empty or invalid id"},
		{"https://u@h/export/connections/c1/runs/r1", "", "", "carries user information"},
		{"https://h/export/connections/c1/runs/r1?x=1", "", "", "has a query or fragment; a run URL has neither"},
		{"https://h/export/connections/c1/runs/r1#f", "", "", "has a query or fragment; a run URL has neither"},
	} {
		conn, run, problem := RunIDs(mustParse(t, tc.url))
		if conn != tc.conn || run != tc.run || problem != tc.problem {
			t.Errorf("RunIDs(%q) = %q, %q, %q; want %q, %q, %q", tc.url, conn, run, problem, tc.conn, tc.run, tc.problem)
		}
	}
}

// TestIDUnder_OneItemOfTheCollection: the id of {base}/{collection}/{id}
// (and /{suffix}), decoded; any other origin, collection, suffix or depth
// is not an id.
func TestIDUnder_OneItemOfTheCollection(t *testing.T) {
	t.Parallel()
	base, _ := Base("https://api.bentley.com/storage")
	req := mustParse(t, "https://api.bentley.com/storage/folders/f1/files")
	for _, tc := range []struct {
		href, collection, suffix, want string
		ok                             bool
	}{
		{"https://api.bentley.com/storage/folders/f1", "folders", "", "f1", true},
		{"/storage/folders/a%2Fb", "folders", "", "a/b", true},
		{"../../files/x1/complete", "files", "complete", "x1", true},
		{"HTTPS://API.BENTLEY.COM:443/storage/files/x1/complete", "files", "complete", "x1", true},
		{"/storage/files/x1", "files", "complete", "", false},
		{"/storage/files/x1/y/complete", "files", "complete", "", false},
		{"/storage/folders/", "folders", "", "", false},
		{"/storage/files/f1", "folders", "", "", false},
		{"https://evil.example.com/storage/folders/f1", "folders", "", "", false},
		{"/other/folders/f1", "folders", "", "", false},
		{"::", "folders", "", "", false},
	} {
		got, ok := IDUnder(base, req, tc.href, tc.collection, tc.suffix)
		if got != tc.want || ok != tc.ok {
			t.Errorf("IDUnder(%q, %q, %q) = %q, %t; want %q, %t", tc.href, tc.collection, tc.suffix, got, ok, tc.want, tc.ok)
		}
	}
}

// TestEndpoint_HTTPSOrLoopback: a token endpoint is an absolute https URL,
// or http to a loopback address, without userinfo; each problem is named,
// the URL quoted redacted.
func TestEndpoint_HTTPSOrLoopback(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"https://ims.bentley.com/connect/token":    "",
		"http://127.0.0.1:8080/token":              "",
		"http://localhost/token":                   "",
		"not a url":                                `"not a url" is not an absolute URL (https://host/path)`,
		"https://ims.bentley.com/%zz":              `"https://ims.bentley.com/%zz" does not parse as a URL`,
		"ftp://ims.bentley.com/token":              `"ftp://ims.bentley.com/token": scheme "ftp" is not https`,
		"https://id:s3cret@ims.bentley.com/token":  `"https://id:REDACTED@ims.bentley.com/token" carries user information; credentials go in the request, not the URL`,
		"http://ims.bentley.com/token?sig=SECRET1": `"http://ims.bentley.com/token?sig=REDACTED": plain http is allowed only to a loopback address; use https`,
	} {
		if got := Endpoint(raw); got != want {
			t.Errorf("Endpoint(%q) = %q, want %q", raw, got, want)
		}
	}
}

// FuzzResolve: for any base and any Location, Resolve either refuses with
// a kind, or gives a URL on the base's origin, in its canonical form,
// under its path, with no dot segment left, which resolves to itself
// again; Link gives only https or loopback http, without userinfo. Nothing
// panics.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{
		"/export/connections/c1/runs/r1", "runs/r1", "../runs/r1", "./r1",
		"HTTPS://API.BENTLEY.COM:443/export/connections/c1/runs/r1",
		"//evil.example.com/export/x", "https://user:pw@api.bentley.com/export/x",
		"/export/%2e%2e/admin", "/export/a/%2E./b", "/%2e%2e/export/x", "\\\\evil.example.com/export",
		"", " ", "::", "/export/%zz/../x", "http://127.0.0.1:10000/c/f.ifc?sig=S",
	} {
		f.Add(seedBase, s)
	}
	f.Add("http://LOCALHOST:80/a/b/", "../b/c")
	f.Add("https://[::1]:8443/export", "//[::1]:8443/export/./x")
	f.Fuzz(func(t *testing.T, rawBase, ref string) {
		base, req, ok := fuzzedBase(rawBase)
		if !ok {
			return
		}
		u, p := Resolve(base, req, ref)
		if p != nil {
			if u != nil || (p.Kind != Missing && p.Kind != Foreign) || p.Reason == "" {
				t.Fatalf("Resolve(%q, %q): %v, problem %+v", base, ref, u, p)
			}
		} else {
			if u.Scheme != base.Scheme || u.Host != base.Host || u.User != nil {
				t.Fatalf("Resolve(%q, %q) = %s: foreign or not canonical", base, ref, u)
			}
			p := u.EscapedPath()
			if !strings.HasPrefix(p, base.EscapedPath()+"/") || removeDotSegments(p) != p {
				t.Fatalf("Resolve(%q, %q) = %s: outside the base path or with a dot segment", base, ref, u)
			}
			if again, problem := Resolve(base, req, u.String()); problem != nil || again.String() != u.String() {
				t.Fatalf("Resolve(%q, %q) = %s, not canonical: again %v, %+v", base, ref, u, again, problem)
			}
		}
		if l, p := Link(req, ref); p == nil {
			secure := l.Scheme == "https" || (l.Scheme == "http" && IsLoopback(l.Hostname()))
			if !secure || l.User != nil {
				t.Fatalf("Link(%q) = %s: insecure or with userinfo", ref, l)
			}
		}
	})
}

// seedBase is the base URL of most fuzz seeds: the API's.
const seedBase = "https://api.bentley.com/export"

// fuzzedBase is the base URL rawBase names, if Base accepts it, and the URL
// of a create request under it, which the fuzzed references answer.
func fuzzedBase(rawBase string) (base, req *url.URL, ok bool) {
	base, problem := Base(rawBase)
	if problem != "" {
		return nil, nil, false
	}
	return base, base.JoinPath("connections", "c1", "runs"), true
}

// FuzzResolve_AsNetURL: Resolve gives what net/url's resolution followed by
// UnderBase gives, for every reference: the absolute paths it completes
// itself included.
func FuzzResolve_AsNetURL(f *testing.F) {
	for _, s := range []string{
		"/export/connections/c1/runs/r1", "/export/connections/c1/runs/r1?x=1#f", "/export/a/../connections/c1/runs/r1",
		"/export/%2e%2e/admin", "/export/a/%2E./b", "/export/c%2Fd/runs/r", "/export/./", "/export/..", "/", "//evil.example.com/export/x",
		"///export/x", "/\\evil.example.com/export", "runs/r1", "../runs/r1", "?q", "#f", "https://api.bentley.com/export/x",
		"mailto:/export/x", "/export/%zz", "/export/a b", "/export/a%20b/../c", "/export/a!b", "/export/r(1)*'", "/export/a$b&c+d,e;f=g:h@i~j_k-l",
	} {
		f.Add(seedBase, s)
	}
	f.Add("http://127.0.0.1:8080/a/b", "/a/b/./c/../d")
	f.Fuzz(func(t *testing.T, rawBase, ref string) {
		base, req, ok := fuzzedBase(rawBase)
		if !ok {
			return
		}
		got, gotProblem := Resolve(base, req, ref)
		var want *url.URL
		var wantProblem *Problem
		if rel, err := url.Parse(ref); strings.TrimSpace(ref) == "" || err != nil {
			want, wantProblem = nil, gotProblem // the refusals before resolution are Resolve's own
		} else {
			want, wantProblem = UnderBase(base, req.ResolveReference(rel))
		}
		if (gotProblem == nil) != (wantProblem == nil) {
			t.Fatalf("Resolve(%q, %q): problem %+v, net/url's resolution %+v", base, ref, gotProblem, wantProblem)
		}
		if gotProblem != nil {
			if gotProblem.Kind != wantProblem.Kind || gotProblem.Reason != wantProblem.Reason || gotProblem.URL != wantProblem.URL {
				t.Fatalf("Resolve(%q, %q): problem %+v, net/url's resolution %+v", base, ref, gotProblem, wantProblem)
			}
			return
		}
		if *got != *want || got.String() != want.String() || got.EscapedPath() != want.EscapedPath() {
			t.Fatalf("Resolve(%q, %q) = %s (path %q), net/url's resolution %s (path %q)", base, ref, got, got.Path, want, want.Path)
		}
	})
}
