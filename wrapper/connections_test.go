package wrapper_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestConnectionOperations_SendTheContractRequests: each operation's method,
// path and query, as the server sees them, and the answers it decodes.
func TestConnectionOperations_SendTheContractRequests(t *testing.T) {
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

func TestConnectionOperations_AgainstTheFake(t *testing.T) {
	t.Parallel()
	fake := newFake(t, apitest.Options{StepDuration: time.Minute})
	c := newClient(t, fake.URL)
	ctx := context.Background()
	created, err := c.CreateConnection(ctx, api.ExportConnectionCreate{IModelID: "m1", DisplayName: ptr("nightly")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetConnection(ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created, got); diff != "" {
		t.Errorf("get (-created +got):\n%s", diff)
	}
	for range 3 {
		fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"})
	}
	n := 0
	for conn, err := range c.Connections(ctx, "m1") {
		if err != nil {
			t.Fatal(err)
		}
		if conn.IModelID != "m1" {
			t.Errorf("connection of another iModel: %+v", conn)
		}
		n++
	}
	if n != 4 {
		t.Errorf("listed %d connections, want 4", n)
	}
	if _, err := c.CreateRun(ctx, created.ID, ifcRequest()); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteConnection(ctx, created.ID); !errors.Is(err, wrapper.ErrConflict) {
		t.Errorf("delete with an active run: err = %v, want ErrConflict", err)
	}
	runs := 0
	for _, err := range c.Runs(ctx, created.ID) {
		if err != nil {
			t.Fatal(err)
		}
		runs++
	}
	if runs != 1 {
		t.Errorf("listed %d runs, want 1", runs)
	}
	other := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m2"})
	if err := c.DeleteConnection(ctx, other.ID); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, err := c.GetConnection(ctx, other.ID); !errors.Is(err, wrapper.ErrNotFound) {
		t.Errorf("get after delete: err = %v, want ErrNotFound", err)
	}
}

func TestAuthorizationInformation_AgainstTheFake(t *testing.T) {
	t.Parallel()
	c := newClient(t, newFake(t, apitest.Options{}).URL)
	info, err := c.AuthorizationInformation(context.Background(), "https://app.example.com/signin")
	if err != nil {
		t.Fatal(err)
	}
	if info.Links == nil || info.Links.AuthorizationURL == nil || info.Links.AuthorizationURL.Href == "" {
		t.Errorf("authorization information without a URL: %+v", info)
	}
}

func TestGetConnection_PathIDsStayInTheirSegment(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"connection":{"id":"x"}}`)
	})
	c := newClient(t, srv.base())
	ids := map[string]string{
		"a/b":       "/export/connections/a%2Fb",
		"a?b":       "/export/connections/a%3Fb",
		"a#b":       "/export/connections/a%23b",
		"100%":      "/export/connections/100%25",
		"a/../../b": "/export/connections/a%2F..%2F..%2Fb",
		"a b":       "/export/connections/a%20b",
	}
	for id, want := range ids {
		if _, err := c.GetConnection(context.Background(), id); err != nil {
			t.Fatalf("%q: %v", id, err)
		}
		got := srv.seen()
		if uri := got[len(got)-1].URI; uri != want {
			t.Errorf("id %q reached the server as %s, want %s", id, uri, want)
		}
	}
}
