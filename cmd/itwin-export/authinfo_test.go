package main

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/itwin-export/itwin-export/apitest"
)

// TestAuthInfo shows the authorization information, plain and as JSON.
func TestAuthInfo(t *testing.T) {
	s := newFake(t, manualOpts())
	env := envFor(s.URL)
	r := runCLI(t, env, "auth-info")
	wantCode(t, r, exitOK)
	// The fake's authorization page is on its origin, named by a random ticket.
	page := strings.TrimSuffix(s.URL, "/export") + apitest.ExportAuthorizePath + "?ticket=T"
	ticket := regexp.MustCompile(`ticket=[0-9a-f]{32}`)
	want := "authorized: false\nauthorization-url: " + page + "&redirect_url=" + url.QueryEscape(defaultRedirectURL) + "\n"
	if d := diff(want, ticket.ReplaceAllString(r.stdout, "ticket=T")); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	gets := requestsTo(t, s, "GET", "/export/authorizationinformation")
	if len(gets) != 1 || gets[0].URI != "/export/authorizationinformation?redirectUrl="+url.QueryEscape(defaultRedirectURL) {
		t.Errorf("requests: %q", gets)
	}

	r = runCLI(t, env, "auth-info", "--json", "--redirect-url", "https://app.example.com/cb")
	wantCode(t, r, exitOK)
	want = `{
  "_links": {
    "authorizationUrl": {
      "href": "` + page + `&redirect_url=https%3A%2F%2Fapp.example.com%2Fcb"
    }
  },
  "isUserAuthorized": false
}
`
	if d := diff(want, ticket.ReplaceAllString(r.stdout, "ticket=T")); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
