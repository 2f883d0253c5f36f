package wrapper_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/wrapper"
)

func TestListAll_FollowsNextLinks(t *testing.T) {
	t.Parallel()
	pages := []string{
		`{"connections":[{"id":"c1"},{"id":"c2"}],"_links":{"next":{"href":"connections?imodelId=m1&$skip=2&$top=2"}}}`,
		`{"connections":[{"id":"c3"}],"_links":{"next":{"href":"HOST/export/connections?imodelId=m1&$skip=3&$top=2"}}}`,
		`{"connections":[],"_links":{}}`,
	}
	var srv *scripted
	srv = newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, strings.ReplaceAll(pages[n], "HOST", srv.URL))
	})
	c := newClient(t, srv.base())
	var ids []string
	for conn, err := range c.Connections(context.Background(), "m1") {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, conn.ID)
	}
	if diff := cmp.Diff([]string{"c1", "c2", "c3"}, ids); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	var uris []string
	for _, s := range srv.seen() {
		uris = append(uris, s.URI)
	}
	wantURIs := []string{"/export/connections?imodelId=m1", "/export/connections?imodelId=m1&$skip=2&$top=2", "/export/connections?imodelId=m1&$skip=3&$top=2"}
	if diff := cmp.Diff(wantURIs, uris); diff != "" {
		t.Errorf("pages fetched (-want +got):\n%s", diff)
	}
}

func TestListAll_PagingLinkProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, next string
		want       error
		requests   int
	}{
		{"loop", "/export/connections/c1/runs", wrapper.ErrMalformedResponse, 1},
		{"foreign", "https://elsewhere.example.com/export/connections/c1/runs?$skip=1", wrapper.ErrForeignLocation, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, fmt.Sprintf(`{"runs":[{"id":"r%d"}],"_links":{"next":{"href":%q}}}`, n, tc.next))
			})
			c := newClient(t, srv.base())
			var got []string
			var err error
			for run, e := range c.Runs(context.Background(), "c1") {
				if e != nil {
					err = e
					break
				}
				got = append(got, run.ID)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
			if diff := cmp.Diff([]string{"r0"}, got); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
			if n := len(srv.seen()); n != tc.requests {
				t.Errorf("%d requests, want %d", n, tc.requests)
			}
		})
	}
}
