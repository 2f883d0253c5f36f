package apitest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

func TestAuthorizationInformation(t *testing.T) {
	for _, authorized := range []bool{false, true} {
		s := newServer(t, apitest.Options{UserAuthorized: authorized})
		redirect := "https://myUrl.com/back?x=1&y=2"
		r := call(t, http.MethodGet, s.URL+"/authorizationinformation?redirectUrl="+url.QueryEscape(redirect), "")
		if r.status != http.StatusOK {
			t.Fatalf("status %d, body %s", r.status, r.body)
		}
		got := decode[api.AuthorizationInformationResponse](t, r)
		href := authorizationHref(t, got)
		// The link is the fake's own page, named by a random ticket.
		prefix := strings.TrimSuffix(s.URL, "/export") + apitest.ExportAuthorizePath + "?ticket="
		if !strings.HasPrefix(href, prefix) || !strings.HasSuffix(href, "&redirect_url=https%3A%2F%2FmyUrl.com%2Fback%3Fx%3D1%26y%3D2") {
			t.Errorf("authorizationUrl %q, want %s...&redirect_url=<the redirect URL>", href, prefix)
		}
		want := api.AuthorizationInformationResponse{AuthorizationInformation: api.AuthorizationInformation{
			IsUserAuthorized: &authorized,
			Links:            &api.AuthorizationInformationLinks{AuthorizationURL: &api.Link{Href: href}},
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("authorized %v (-want +got):\n%s", authorized, diff)
		}
	}
}

func TestAuthorizationInformationInvalidRedirect(t *testing.T) {
	s := newServer(t, apitest.Options{})
	const code, msg = "InvalidAuthorizationInformationRequest", "Cannot perform operation."
	for _, redirect := range []string{"myUrl.com", "/relative/path", "https://", "%zz"} {
		r := call(t, http.MethodGet, s.URL+"/authorizationinformation?redirectUrl="+url.QueryEscape(redirect), "")
		wantError(t, r, http.StatusUnprocessableEntity, code, msg, d("InvalidValue", "redirectUrl must be a valid URL.", "$redirectUrl"))
	}
	wantError(t, call(t, http.MethodGet, s.URL+"/authorizationinformation", ""), http.StatusUnprocessableEntity, code, msg,
		d("MissingRequiredParameter", "redirectUrl was not provided.", "$redirectUrl"))
}
