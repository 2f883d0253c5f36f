package apitest_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

func TestUnauthorizedWithoutBearerToken(t *testing.T) {
	s := newServer(t, apitest.Options{})
	id := addConnection(s, "m1")
	for name, header := range map[string]map[string]string{
		"no header":    {},
		"basic":        {"Authorization": "Basic dXNlcjpwYXNz"},
		"empty bearer": {"Authorization": "Bearer "},
		"no scheme":    {"Authorization": token},
	} {
		t.Run(name, func(t *testing.T) {
			r := callWith(t, http.MethodGet, s.URL+"/connections/"+id, "", header)
			wantError(t, r, http.StatusUnauthorized, "HeaderNotFound",
				"Header Authorization was not found in the request. Access denied.")
			if got := r.header.Get("WWW-Authenticate"); got != "Bearer" {
				t.Errorf("WWW-Authenticate = %q", got)
			}
		})
	}
}

func TestUnauthorizedWithInvalidToken(t *testing.T) {
	s := newServer(t, apitest.Options{ValidToken: func(tok string) bool { return tok == token }})
	id := addConnection(s, "m1")
	r := callWith(t, http.MethodGet, s.URL+"/connections/"+id, "", map[string]string{"Authorization": "Bearer expired"})
	wantError(t, r, http.StatusUnauthorized, "InvalidToken", "The access token is not valid.")
	if r := call(t, http.MethodGet, s.URL+"/connections/"+id, ""); r.status != http.StatusOK {
		t.Errorf("valid token: status %d, want 200", r.status)
	}
}

func TestForbiddenWhenMayUseSaysNo(t *testing.T) {
	var denied string
	s := newServer(t, apitest.Options{MayUse: func(tok, connectionID string) bool {
		return tok != token || connectionID != denied
	}})
	allowed := addConnection(s, "m1")
	denied = addConnection(s, "m1")
	// Give the denied connection a run first, with a token that may use it.
	other := map[string]string{"Authorization": "Bearer other"}
	created := callWith(t, http.MethodPost, s.URL+"/connections/"+denied+"/runs", `{"exportType":"IFC"}`, other)
	if created.status != http.StatusAccepted {
		t.Fatalf("create run with the other token: %d", created.status)
	}
	runURL := s.URL + created.header.Get("Location")[len("/export"):]

	for _, tc := range []struct{ method, url, body string }{
		{http.MethodGet, s.URL + "/connections/" + denied, ""},
		{http.MethodDelete, s.URL + "/connections/" + denied, ""},
		{http.MethodGet, s.URL + "/connections/" + denied + "/runs", ""},
		{http.MethodPost, s.URL + "/connections/" + denied + "/runs", `{"exportType":"IFC"}`},
		{http.MethodGet, runURL, ""},
	} {
		r := call(t, tc.method, tc.url, tc.body)
		wantError(t, r, http.StatusForbidden, "InsufficientPermissions",
			"The user has insufficient permissions for the requested operation.")
	}

	// Lists leave out what the token may not use.
	list := decode[api.ExportConnectionsResponse](t, call(t, http.MethodGet, s.URL+"/connections?imodelId=m1", ""))
	var ids []string
	for _, c := range list.Connections {
		ids = append(ids, c.ID)
	}
	if diff := cmp.Diff([]string{allowed}, ids); diff != "" {
		t.Errorf("listed connections (-want +got):\n%s", diff)
	}
}
