package apitest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

func TestConnectionCreateGetDelete(t *testing.T) {
	s := newServer(t, apitest.Options{})
	r := call(t, http.MethodPost, s.URL+"/connections", `{"iModelId":"7dbd531d","displayName":"30","authenticationType":"Service"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create: status %d, body %s", r.status, r.body)
	}
	created := decode[api.ExportConnectionResponse](t, r).Connection
	if !guidID.MatchString(created.ID) || !guidID.MatchString(created.ITwinID) {
		t.Fatalf("ids are not GUIDs: %+v", created)
	}
	id, twin := created.ID, created.ITwinID
	want := api.ExportConnection{
		ID:                 id,
		DisplayName:        "30",
		IModelID:           "7dbd531d",
		ITwinID:            twin,
		AuthenticationType: api.AuthenticationTypeService,
		Links: &api.ExportConnectionLinks{
			IModel: &api.Link{Href: "https://api.bentley.com/imodels/7dbd531d"},
			ITwin:  &api.Link{Href: "https://api.bentley.com/itwins/" + twin},
		},
	}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("created connection (-want +got):\n%s", diff)
	}

	got := call(t, http.MethodGet, s.URL+"/connections/"+id, "")
	if diff := cmp.Diff(want, decode[api.ExportConnectionResponse](t, got).Connection); got.status != http.StatusOK || diff != "" {
		t.Errorf("get: status %d (-want +got):\n%s", got.status, diff)
	}

	if r := call(t, http.MethodDelete, s.URL+"/connections/"+id, ""); r.status != http.StatusNoContent || len(r.body) != 0 {
		t.Errorf("delete: status %d, body %q; want 204 and no body", r.status, r.body)
	}
	wantError(t, call(t, http.MethodGet, s.URL+"/connections/"+id, ""),
		http.StatusNotFound, "ConnectionNotFound", "Requested Connection is not available.")
	wantError(t, call(t, http.MethodDelete, s.URL+"/connections/"+id, ""),
		http.StatusNotFound, "ConnectionNotFound", "Requested Connection is not available.")
}

func TestConnectionDefaultsToUserAuthentication(t *testing.T) {
	s := newServer(t, apitest.Options{})
	c := decode[api.ExportConnectionResponse](t, call(t, http.MethodPost, s.URL+"/connections", `{"iModelId":"m1"}`)).Connection
	if c.AuthenticationType != api.AuthenticationTypeUser || c.DisplayName != "" {
		t.Errorf("connection = %+v, want authenticationType User and no displayName", c)
	}
	seeded := s.AddConnection(api.ExportConnectionCreate{IModelID: "m1"})
	if seeded.AuthenticationType != api.AuthenticationTypeUser || seeded.IModelID != "m1" {
		t.Errorf("AddConnection = %+v", seeded)
	}
}

func TestConnectionCreateInvalidBody(t *testing.T) {
	s := newServer(t, apitest.Options{})
	for _, tc := range []struct {
		name, body string
		want       []api.ErrorDetails
	}{
		{"not JSON", `{"iModelId":`, []api.ErrorDetails{
			d("InvalidRequestBody", "Request body is not valid JSON.", "")}},
		{"not an object", `["m1"]`, []api.ErrorDetails{
			d("InvalidRequestBody", "Request body must be a JSON object.", "")}},
		{"missing iModelId", `{"displayName":"x"}`, []api.ErrorDetails{
			d("MissingRequiredParameter", "iModelId was not provided.", "iModelId")}},
		{"every problem", `{"iModelId":"","displayName":3,"authenticationType":"Robot","owner":"me"}`, []api.ErrorDetails{
			d("InvalidValue", "iModelId must not be empty.", "iModelId"),
			d("InvalidValue", "displayName must be a string.", "displayName"),
			d("InvalidValue", "Provided authenticationType value is not valid; expected one of User, Service.", "authenticationType"),
			d("UnknownProperty", "owner is not a known property.", "owner"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, http.MethodPost, s.URL+"/connections", tc.body)
			wantError(t, r, http.StatusUnprocessableEntity, "InvalidExportConnectionRequest", "Cannot perform operation.", tc.want...)
		})
	}
}

func TestConnectionsPaging(t *testing.T) {
	s := newServer(t, apitest.Options{})
	var want []string
	for range 5 {
		want = append(want, addConnection(s, "m 1"))
		addConnection(s, "m2")
	}
	base := s.URL + "/connections?imodelId=m+1&"

	// Walk the pages by their next links.
	var got []string
	var pages []api.PagingLinks
	next := s.URL + "/connections?imodelId=m+1&$top=2"
	for next != "" {
		r := call(t, http.MethodGet, next, "")
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", next, r.status, r.body)
		}
		page := decode[api.ExportConnectionsResponse](t, r)
		for _, c := range page.Connections {
			got = append(got, c.ID)
		}
		pages = append(pages, *page.Links)
		next = ""
		if page.Links.Next != nil {
			next = page.Links.Next.Href
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("connections of m 1 (-want +got):\n%s", diff)
	}
	link := func(skip string) *api.Link { return &api.Link{Href: base + "$skip=" + skip + "&$top=2"} }
	wantPages := []api.PagingLinks{
		{Self: link("0"), Next: link("2")},
		{Self: link("2"), Prev: link("0"), Next: link("4")},
		{Self: link("4"), Prev: link("2")},
	}
	if diff := cmp.Diff(wantPages, pages); diff != "" {
		t.Errorf("paging links (-want +got):\n%s", diff)
	}

	// The default page holds all five; $top is capped at 1000; a page past
	// the end is empty.
	all := decode[api.ExportConnectionsResponse](t, call(t, http.MethodGet, s.URL+"/connections?imodelId=m+1", ""))
	if len(all.Connections) != 5 || all.Links.Next != nil || all.Links.Self.Href != base+"$skip=0&$top=100" {
		t.Errorf("default page: %d connections, links %+v", len(all.Connections), all.Links)
	}
	capped := decode[api.ExportConnectionsResponse](t, call(t, http.MethodGet, s.URL+"/connections?imodelId=m2&$top=5000", ""))
	if !strings.HasSuffix(capped.Links.Self.Href, "$skip=0&$top=1000") {
		t.Errorf("capped self link = %s", capped.Links.Self.Href)
	}
	past := call(t, http.MethodGet, s.URL+"/connections?imodelId=m2&$skip=10", "")
	if page := decode[api.ExportConnectionsResponse](t, past); past.status != http.StatusOK || len(page.Connections) != 0 ||
		page.Links.Next != nil || page.Links.Self.Href != s.URL+"/connections?imodelId=m2&$skip=10&$top=100" {
		t.Errorf("page past the end: %d %s", past.status, past.body)
	}
	if page := decode[api.ExportConnectionsResponse](t, call(t, http.MethodGet, s.URL+"/connections?imodelId=none", "")); len(page.Connections) != 0 {
		t.Errorf("unknown iModel: %+v", page)
	}
}

func TestConnectionsListInvalidParameters(t *testing.T) {
	s := newServer(t, apitest.Options{})
	const code, msg = "InvalidExportConnectionsRequest", "Cannot perform operation."
	wantError(t, call(t, http.MethodGet, s.URL+"/connections", ""), http.StatusUnprocessableEntity, code, msg,
		d("MissingRequiredParameter", "imodelId was not provided.", "imodelId"))
	wantError(t, call(t, http.MethodGet, s.URL+"/connections?imodelId=m&$top=0", ""), http.StatusUnprocessableEntity, code, msg,
		d("InvalidValue", "Provided $top value is not valid; it must be at least 1.", "$top"))
	wantError(t, call(t, http.MethodGet, s.URL+"/connections?imodelId=m&$skip=-1", ""), http.StatusUnprocessableEntity, code, msg,
		d("InvalidValue", "Provided $skip value is not valid; it must not be negative.", "$skip"))
	wantError(t, call(t, http.MethodGet, s.URL+"/connections?imodelId=m&$top=many", ""), http.StatusUnprocessableEntity, code, msg,
		d("InvalidValue", "Provided $top value is not valid.", "$top"))
}

func TestConnectionDeleteWhileRunIsActive(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock, StepDuration: time.Minute})
	id := addConnection(s, "m1")
	if r := createRun(t, s, id); r.status != http.StatusAccepted {
		t.Fatalf("create run: %d", r.status)
	}
	clock.Advance(5*time.Minute - time.Nanosecond) // Finalizing
	wantError(t, call(t, http.MethodDelete, s.URL+"/connections/"+id, ""),
		http.StatusConflict, "ConnectionAlreadyInUse", "Connection is already being processed.")
	clock.Advance(time.Nanosecond) // Completed
	if r := call(t, http.MethodDelete, s.URL+"/connections/"+id, ""); r.status != http.StatusNoContent {
		t.Errorf("delete after completion: %d %s", r.status, r.body)
	}
	if n := s.RunCount(id); n != 1 {
		t.Errorf("RunCount after delete = %d, want 1", n)
	}
}

func TestConnectionLinksLastRun(t *testing.T) {
	s := newServer(t, apitest.Options{})
	id := addConnection(s, "m1")
	before := decode[api.ExportConnectionResponse](t, call(t, http.MethodGet, s.URL+"/connections/"+id, "")).Connection
	if before.Links.LastRun != nil {
		t.Errorf("lastRun before any run: %+v", before.Links.LastRun)
	}
	location := createRun(t, s, id).header.Get("Location")
	after := decode[api.ExportConnectionResponse](t, call(t, http.MethodGet, s.URL+"/connections/"+id, "")).Connection
	want := strings.TrimSuffix(s.URL, "/export") + location
	if after.Links.LastRun == nil || after.Links.LastRun.Href != want {
		t.Errorf("lastRun = %+v, want %s", after.Links.LastRun, want)
	}
}

func TestUnknownRoute(t *testing.T) {
	s := newServer(t, apitest.Options{})
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/export/nothing"},
		{http.MethodPut, "/export/connections"},
		{http.MethodGet, "/other"},
	} {
		r := call(t, tc.method, strings.TrimSuffix(s.URL, "/export")+tc.path, "")
		wantError(t, r, http.StatusNotFound, "NotFound", "The requested resource does not exist.")
	}
}

// TestConnectionsOfOneIModelShareTheITwin: an iModel belongs to one iTwin:
// every connection of it names the same iTwinId; another iModel's differ.
func TestConnectionsOfOneIModelShareTheITwin(t *testing.T) {
	s := newServer(t, apitest.Options{})
	a := s.AddConnection(api.ExportConnectionCreate{IModelID: "building-a"})
	b := s.AddConnection(api.ExportConnectionCreate{IModelID: "building-a"})
	c := s.AddConnection(api.ExportConnectionCreate{IModelID: "building-c"})
	if a.ITwinID == "" || b.ITwinID == "" || c.ITwinID == "" || a.ITwinID != b.ITwinID || a.ITwinID == c.ITwinID {
		t.Fatalf("iTwinIds %v %v %v: want the first two equal, the third another", a.ITwinID, b.ITwinID, c.ITwinID)
	}
}
