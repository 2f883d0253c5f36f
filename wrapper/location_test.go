package wrapper_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/wrapper"
)

func TestCreateRun303IsAnExistingRunAndNotFollowed(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("the client followed the 303: %s %s", r.Method, r.RequestURI)
		}
		w.Header().Set("Location", "runs/active-run")
		w.WriteHeader(http.StatusSeeOther)
	})
	c := newClient(t, srv.base())
	ref, err := c.CreateRun(context.Background(), "c1", ifcRequest())
	if err != nil {
		t.Fatal(err)
	}
	// "runs/active-run" resolves against .../connections/c1/runs (RFC 3986).
	want := wrapper.RunRef{Location: srv.base() + "/connections/c1/runs/active-run", ConnectionID: "c1", RunID: "active-run", Existing: true}
	if diff := cmp.Diff(want, ref); diff != "" {
		t.Errorf("run ref (-want +got):\n%s", diff)
	}
	if n := len(srv.seen()); n != 1 {
		t.Errorf("server saw %d requests, want only the POST", n)
	}
}

func TestForeignLocationIsRefusedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	other := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		t.Errorf("the foreign host received %s %s (Authorization set: %t)", r.Method, r.RequestURI, r.Header.Get("Authorization") != "")
	})
	// Same loopback address, another port: another origin.
	foreign := other.base() + "/connections/c1/runs/r1"
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", foreign)
		w.WriteHeader(http.StatusAccepted)
	})
	c := newClient(t, srv.base())
	_, err := c.CreateRun(context.Background(), "c1", ifcRequest())
	if !errors.Is(err, wrapper.ErrForeignLocation) {
		t.Fatalf("err = %v, want ErrForeignLocation", err)
	}
	var le *wrapper.LocationError
	if !errors.As(err, &le) || le.Location != foreign {
		t.Errorf("LocationError = %+v", le)
	}
	// A saved reference to the foreign host is refused by GetRun too.
	ref, err := wrapper.ParseRunRef(foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetRun(context.Background(), ref); !errors.Is(err, wrapper.ErrForeignLocation) {
		t.Errorf("GetRun err = %v, want ErrForeignLocation", err)
	}
	if n := len(other.seen()); n != 0 {
		t.Errorf("foreign host received %d requests", n)
	}
}

func TestLocationProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, location string
		want           error
	}{
		{"empty", "", wrapper.ErrMissingLocation},
		{"malformed", "http://[::1", wrapper.ErrMissingLocation},
		{"back at the create URL", "/export/connections/c1/runs", wrapper.ErrMissingLocation},
		{"not a run", "/export/connections/c1", wrapper.ErrMissingLocation},
		{"outside the base path", "/other/connections/c1/runs/r1", wrapper.ErrForeignLocation},
		{"dot segments out of the base", "/export/../connections/c1/runs/r1", wrapper.ErrForeignLocation},
		{"encoded dot segments out of the base", "/export/%2e%2e/admin/connections/c1/runs/r1", wrapper.ErrForeignLocation},
		{"encoded dot segments in any case", "/export/%2E%2e/admin/connections/c1/runs/r1", wrapper.ErrForeignLocation},
		{"half-encoded dot segments", "/export/.%2e/admin/connections/c1/runs/r1", wrapper.ErrForeignLocation},
		{"another scheme", "ftp://127.0.0.1/export/connections/c1/runs/r1", wrapper.ErrForeignLocation},
		{"userinfo", "//user:pw@HOST/export/connections/c1/runs/r1", wrapper.ErrForeignLocation},
		{"another host", "https://api.example.net/export/connections/c1/runs/r1", wrapper.ErrForeignLocation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var srv *scripted
			srv = newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n > 0 {
					t.Errorf("unexpected request %s %s", r.Method, r.RequestURI)
				}
				w.Header().Set("Location", strings.ReplaceAll(tc.location, "HOST", srv.Listener.Addr().String()))
				w.WriteHeader(http.StatusAccepted)
			})
			_, err := newClient(t, srv.base()).CreateRun(context.Background(), "c1", ifcRequest())
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), ":pw@") {
				t.Errorf("error repeats a password: %v", err)
			}
		})
	}
}
