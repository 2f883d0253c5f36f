package wrapper_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestEveryOperationValidatesFirst: an id that cannot be a path segment, or
// a body the API would refuse, is an ErrValidation and nothing is sent.
func TestEveryOperationValidatesFirst(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent: %s %s", r.Method, r.RequestURI)
	})
	c := newClient(t, srv.base())
	ctx := context.Background()
	firstErr := func(seq func(func(api.ExportConnection, error) bool)) (err error) {
		seq(func(_ api.ExportConnection, e error) bool { err = e; return false })
		return err
	}
	firstRunErr := func(seq func(func(api.ExportRun, error) bool)) (err error) {
		seq(func(_ api.ExportRun, e error) bool { err = e; return false })
		return err
	}
	calls := map[string]func() error{
		"GetConnection":    func() error { _, err := c.GetConnection(ctx, ".."); return err },
		"DeleteConnection": func() error { return c.DeleteConnection(ctx, " ") },
		"CreateConnection": func() error { _, err := c.CreateConnection(ctx, api.ExportConnectionCreate{}); return err },
		"CreateConnection authenticationType": func() error {
			_, err := c.CreateConnection(ctx, api.ExportConnectionCreate{IModelID: "m1", AuthenticationType: ptr(api.AuthenticationType("Robot"))})
			return err
		},
		"Connections":       func() error { return firstErr(c.Connections(ctx, "")) },
		"Runs":              func() error { return firstRunErr(c.Runs(ctx, ".")) },
		"RunRefFor":         func() error { _, err := c.RunRefFor("c1", ""); return err },
		"AuthorizationInfo": func() error { _, err := c.AuthorizationInformation(ctx, "/relative"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, wrapper.ErrValidation) {
			t.Errorf("%s: err = %v, want ErrValidation", name, err)
		}
	}
}

func TestNewRefusesUnusableBaseURLs(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"not a url", "ftp://api.bentley.com/export", "/export", "https://user:pw@api.bentley.com/export",
		"https://api.bentley.com/export?x=1", "https://api.bentley.com/export#f", "https://api.bentley.com/export?"} {
		if _, err := wrapper.New(wrapper.Options{BaseURL: base, TokenSource: wrapper.StaticToken(testToken)}); err == nil || strings.Contains(err.Error(), "pw") {
			t.Errorf("%q: err = %v, want a refusal that does not repeat the password", base, err)
		}
	}
}

// TestOperationsSendTheContractRequests: each operation's method, path and
// query, as the server sees them, and the answers it decodes.
func TestOperationsSendTheContractRequests(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			writeJSON(w, http.StatusCreated, `{"connection":{"id":"c 1","iModelId":"m1"}}`)
		case http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, 200, `{"connection":{"id":"c 1"},"connections":[{"id":"c 1"}],"runs":[]}`)
		}
	})
	c := newClient(t, srv.base())
	ctx := context.Background()
	conn, err := c.CreateConnection(ctx, api.ExportConnectionCreate{IModelID: "m1"})
	if err != nil || conn.ID != "c 1" {
		t.Fatalf("CreateConnection: %+v, %v", conn, err)
	}
	if err := c.DeleteConnection(ctx, "c 1"); err != nil {
		t.Fatal(err)
	}
	for _, err := range c.Runs(ctx, "c 1") {
		t.Fatal(err)
	}
	for _, err := range c.Connections(ctx, "m/1") {
		if err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, s := range srv.seen() {
		got = append(got, s.Method+" "+s.URI)
	}
	want := []string{"POST /export/connections", "DELETE /export/connections/c%201", "GET /export/connections/c%201/runs", "GET /export/connections?imodelId=m%2F1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
