package apitest_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

// TestConnectionsAreBoundedByDefault adds one connection more than the server
// keeps by default: the oldest is forgotten.
func TestConnectionsAreBoundedByDefault(t *testing.T) {
	s := newServer(t, apitest.Options{})
	first := addConnection(s, "m0")
	var last string
	for range 1000 {
		last = addConnection(s, "m1")
	}
	wantError(t, call(t, http.MethodGet, s.URL+"/connections/"+first, ""),
		http.StatusNotFound, "ConnectionNotFound", "Requested Connection is not available.")
	if r := call(t, http.MethodGet, s.URL+"/connections/"+last, ""); r.status != http.StatusOK {
		t.Errorf("newest connection: %d", r.status)
	}
}

// TestRunsAreBoundedByDefault creates one run more than the server keeps of a
// connection by default: the oldest is forgotten, the count goes on.
func TestRunsAreBoundedByDefault(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock, StepDuration: time.Second})
	id := addConnection(s, "m1")
	var locations []string
	for range 101 {
		r := createRun(t, s, id)
		if r.status != http.StatusAccepted {
			t.Fatalf("create run: %d %s", r.status, r.body)
		}
		locations = append(locations, r.header.Get("Location"))
		clock.Advance(5 * time.Second) // Completed: the next create is accepted
	}
	origin := s.URL[:len(s.URL)-len("/export")]
	wantError(t, call(t, http.MethodGet, origin+locations[0], ""),
		http.StatusNotFound, "RunNotFound", "Requested Run is not available.")
	if r := call(t, http.MethodGet, origin+locations[100], ""); r.status != http.StatusOK {
		t.Errorf("newest run: %d", r.status)
	}
	page := decode[api.ExportRunsResponse](t, call(t, http.MethodGet, s.URL+"/connections/"+id+"/runs?$top=1000", ""))
	if len(page.Runs) != 100 {
		t.Errorf("the runs list holds %d runs, want 100", len(page.Runs))
	}
	if n := s.RunCount(id); n != 101 {
		t.Errorf("RunCount = %d, want 101", n)
	}
}

// TestKeepConnectionsSparesActiveRuns trims with KeepConnections 2: the
// oldest connection without an active run goes first.
func TestKeepConnectionsSparesActiveRuns(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock, StepDuration: time.Minute, KeepConnections: 2, KeepRuns: 1})
	busy := addConnection(s, "m1")
	if r := createRun(t, s, busy); r.status != http.StatusAccepted {
		t.Fatalf("create run: %d", r.status)
	}
	idle := addConnection(s, "m2")
	newest := addConnection(s, "m3")
	for id, want := range map[string]int{busy: http.StatusOK, idle: http.StatusNotFound, newest: http.StatusOK} {
		if r := call(t, http.MethodGet, s.URL+"/connections/"+id, ""); r.status != want {
			t.Errorf("GET connection: %d, want %d", r.status, want)
		}
	}
	clock.Advance(5 * time.Minute) // the run is Completed
	if r := createRun(t, s, busy); r.status != http.StatusAccepted {
		t.Fatalf("second run: %d", r.status)
	}
	page := decode[api.ExportRunsResponse](t, call(t, http.MethodGet, s.URL+"/connections/"+busy+"/runs", ""))
	if len(page.Runs) != 1 || s.RunCount(busy) != 2 {
		t.Errorf("KeepRuns 1: %d runs listed, RunCount %d; want 1 and 2", len(page.Runs), s.RunCount(busy))
	}
}
