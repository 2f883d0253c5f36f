package api

import (
	"net/url"
	"testing"
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
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := operationURL("https://api.bentley.com/export/", "/connections/c1/runs"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 1 {
		t.Errorf("%v allocations, want 1", allocs)
	}
}
