package api

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/oapi-codegen/runtime"
)

// resolved is the URL the request builders made before operationURL: path
// resolved against server by net/url, as a relative reference.
func resolved(server, path string) (string, error) {
	serverURL, err := url.Parse(server)
	if err != nil {
		return "", err
	}
	if path != "" && path[0] == '/' {
		path = "." + path
	}
	u, err := serverURL.Parse(path)
	if err != nil {
		return "", err
	}
	return u.String(), nil
}

// operationURLSeeds are servers and paths that take either way: written
// plainly, or with what makes net/url change the text (escapes, dot
// segments, user information, a query, upper case scheme, no final "/").
var operationURLSeeds = [][2]string{
	{"https://api.bentley.com/export/", "/connections/c1/runs"},
	{"http://127.0.0.1:8080/export/", "/connections/c1/runs/r1"},
	{"https://api.bentley.com/export", "/connections"},
	{"https://api.bentley.com/export/", "/connections/a%2Fb/runs"},
	{"https://api.bentley.com/export/", "/connections/../runs"},
	{"https://api.bentley.com/export/", "/connections/./runs"},
	{"https://api.bentley.com/export/", "/connections//runs"},
	{"https://api.bentley.com/a/../export/", "/connections"},
	{"HTTPS://API.bentley.com/export/", "/connections"},
	{"https://user:pw@api.bentley.com/export/", "/connections"},
	{"https://api.bentley.com/export/?x=1", "/connections"},
	{"https://api.bentley.com:/export/", "/connections"},
	{"https://api.bentley.com:443/export/", "/"},
	{"https://[::1]:8080/export/", "/connections"},
	{"https://api.bentley.com/ex%7Eport/", "/connections"},
	{"https://api.bentley.com/export/", "/connections/c@1:x/runs"},
	{"//api.bentley.com/export/", "/connections"},
	{"not a url/", "/connections"},
	{"https://h:x/", "/connections"},
	{"", "/connections"},
}

// TestOperationURL_IsTheResolvedURL: the URL the builders make is the one
// net/url resolves, on plainly written servers and paths and on others.
func TestOperationURL_IsTheResolvedURL(t *testing.T) {
	t.Parallel()
	for _, seed := range operationURLSeeds {
		checkOperationURL(t, seed[0], seed[1])
	}
}

// FuzzOperationURL: for any server and path, operationURL gives the URL
// (or the failure) that net/url's resolution gives.
func FuzzOperationURL(f *testing.F) {
	for _, seed := range operationURLSeeds {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(checkOperationURL)
}

func checkOperationURL(t *testing.T, server, path string) {
	got, err := operationURL(server, path)
	want, wantErr := resolved(server, path)
	if (err != nil) != (wantErr != nil) || got != want {
		t.Errorf("operationURL(%q, %q) = %q, %v; net/url resolves %q, %v", server, path, got, err, want, wantErr)
	}
}

// TestOperationURL_PlainCostsOneString: a plainly written server and path
// cost one string, the URL's.
func TestOperationURL_PlainCostsOneString(t *testing.T) {
	for _, params := range [][]string{nil, {"c1"}} {
		allocs := testing.AllocsPerRun(100, func() {
			format := "/connections/c1/runs"
			if params != nil {
				format = "/connections/%s/runs"
			}
			if _, err := operationURL("https://api.bentley.com/export/", format, params...); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 1 {
			t.Errorf("with parameters %q: %v allocations, want 1", params, allocs)
		}
	}
}

// TestExpandPath: each "%s" of the format takes the next parameter, in
// order, after the prefix.
func TestExpandPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prefix, format string
		params         []string
		want           string
	}{
		{"", "/connections", nil, "/connections"},
		{"https://h/export/", "connections", nil, "https://h/export/connections"},
		{"", "/connections/%s", []string{"c1"}, "/connections/c1"},
		{"", "/connections/%s/runs", []string{"a%2Fb"}, "/connections/a%2Fb/runs"},
		{"https://h/", "connections/%s/runs/%s", []string{"c1", "r1"}, "https://h/connections/c1/runs/r1"},
		{"", "/connections/%s/runs/%s", []string{"", ""}, "/connections//runs/"},
		{"", "/files/%s/complete", []string{"%s"}, "/files/%s/complete"},
	} {
		if got := expandPath(tc.prefix, tc.format, tc.params); got != tc.want {
			t.Errorf("expandPath(%q, %q, %q) = %q, want %q", tc.prefix, tc.format, tc.params, got, tc.want)
		}
	}
}

// styledRunURL is the URL NewGetExportConnectionRunRequest made before its
// path parameters were escaped by url.PathEscape: through
// runtime.StyleParamWithOptions, fmt.Sprintf and net/url's resolution.
func styledRunURL(server, connectionID, runID string) (string, error) {
	opts := runtime.StyleParamOptions{ParamLocation: runtime.ParamLocationPath, Type: "string"}
	p0, err := runtime.StyleParamWithOptions("simple", false, "connectionId", connectionID, opts)
	if err != nil {
		return "", err
	}
	p1, err := runtime.StyleParamWithOptions("simple", false, "runId", runID, opts)
	if err != nil {
		return "", err
	}
	return resolved(server, fmt.Sprintf("/connections/%s/runs/%s", p0, p1))
}

// FuzzRequestBuilder_AsStyleParam: for any ids, a request builder's URL is
// the one runtime.StyleParamWithOptions, fmt.Sprintf and net/url made.
func FuzzRequestBuilder_AsStyleParam(f *testing.F) {
	for _, seed := range [][2]string{{"c1", "r1"}, {"a/b", "r 1"}, {"..", "."}, {"%s", "%2F"}, {"é", "?#"}, {"", ""}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, connectionID, runID string) {
		const server = "https://api.bentley.com/export/"
		want, wantErr := styledRunURL(server, connectionID, runID)
		req, err := NewGetExportConnectionRunRequest(server, connectionID, runID)
		switch {
		case (err != nil) != (wantErr != nil):
			t.Errorf("NewGetExportConnectionRunRequest(%q, %q): error %v; want %q, %v", connectionID, runID, err, want, wantErr)
		case err == nil && req.URL.String() != want:
			t.Errorf("NewGetExportConnectionRunRequest(%q, %q) = %q; want %q", connectionID, runID, req.URL, want)
		}
	})
}
