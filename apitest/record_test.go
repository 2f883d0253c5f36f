package apitest_test

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/itwin-export/itwin-export/apitest"
)

func TestRequestsAreRecorded(t *testing.T) {
	s := newServer(t, apitest.Options{})
	id := addConnection(s, "m1")
	callWith(t, http.MethodGet, s.URL+"/connections/a%2Fb?imodelId=x%2Fy&$top=2", "", map[string]string{"X-Test": "one"})
	createRun(t, s, id)

	got := s.Requests()
	want := []apitest.RecordedRequest{
		{Method: http.MethodGet, URI: "/export/connections/a%2Fb?imodelId=x%2Fy&$top=2", Path: "/export/connections/a%2Fb"},
		{Method: http.MethodPost, URI: "/export/connections/" + id + "/runs", Path: "/export/connections/" + id + "/runs",
			Body: []byte(`{"exportType":"IFC","ifcVersion":"IFC4.3"}`)},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(apitest.RecordedRequest{}, "Header")); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	if h := got[0].Header; h.Get("X-Test") != "one" || h.Get("Authorization") != "" {
		t.Errorf("first request's headers: %v", h)
	}
	if h := got[1].Header; h.Get("Authorization") != "Bearer "+token || h.Get("Content-Type") != "application/json" {
		t.Errorf("second request's headers: %v", h)
	}

	// Requests returns copies.
	got[0].Header.Set("X-Test", "changed")
	got[1].Body[0] = 'X'
	again := s.Requests()
	if again[0].Header.Get("X-Test") != "one" || again[1].Body[0] != '{' {
		t.Error("changing what Requests returned changed the server's record")
	}

	s.ResetRequests()
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests after ResetRequests", n)
	}
}

func TestConnectionsAccepted(t *testing.T) {
	s := newServer(t, apitest.Options{})
	url := s.URL + "/connections?imodelId=m1"
	reused := &http.Client{Transport: &http.Transport{}}
	defer reused.CloseIdleConnections()
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := reused.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if n := s.ConnectionsAccepted(); n != 1 {
		t.Errorf("ConnectionsAccepted = %d after three requests on one connection, want 1", n)
	}
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for range 2 {
		resp, err := fresh.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := s.ConnectionsAccepted(); n != 3 {
		t.Errorf("ConnectionsAccepted = %d, want 3", n)
	}
}

// TestCloseEndsEverything closes a server while a request hangs: the request
// fails, Close returns, and no server goroutine is left.
func TestCloseEndsEverything(t *testing.T) {
	s := newServer(t, apitest.Options{})
	s.InjectFault(apitest.Fault{Kind: apitest.FaultHang})
	failed := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, s.URL+"/connections?imodelId=m1", nil)
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		failed <- err
	}()
	for len(s.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	s.Close()
	s.Close() // idempotent
	select {
	case err := <-failed:
		if err == nil {
			t.Error("the hung request got an answer")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the hung request did not end at Close")
	}
	if _, err := http.Get(s.URL + "/connections?imodelId=m1"); err == nil {
		t.Error("the server still answers after Close")
	}
	// A goroutine Close waited for may still be returning its last frames:
	// give it a moment, as goleak does.
	leaks := []string{"net/http.(*conn).serve", "net/http.(*Server).Serve", "apitest.(*Server)"}
	var stacks string
	for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		stacks = string(buf[:runtime.Stack(buf, true)])
		if !slices.ContainsFunc(leaks, func(l string) bool { return strings.Contains(stacks, l) }) || time.Now().After(deadline) {
			break
		}
	}
	for _, leak := range leaks {
		if strings.Contains(stacks, leak) {
			t.Errorf("a goroutine in %s outlived Close:\n%s", leak, stacks)
		}
	}
}

// TestRecordKeepsABoundedWindow pins the window of Requests: the newest
// RecordRequests requests, bodies cut at RecordBodyBytes, older requests
// forgotten while the record is over RecordBytes.
func TestRecordKeepsABoundedWindow(t *testing.T) {
	post := func(s *apitest.Server, body string) {
		callWith(t, http.MethodPost, s.URL+"/connections/c1/runs", body, nil) // unauthenticated: recorded too
	}
	type kept struct {
		Body    string
		Omitted apitest.Omitted
	}
	bodies := func(rs []apitest.RecordedRequest) []kept {
		var out []kept
		for _, r := range rs {
			out = append(out, kept{string(r.Body), r.BodyOmitted})
		}
		return out
	}

	s := newServer(t, apitest.Options{RecordRequests: 3, RecordBodyBytes: 4})
	for _, b := range []string{"first", "two", "three", "four", "fifth"} {
		post(s, b)
	}
	if diff := cmp.Diff([]kept{{"thre", 1}, {"four", 0}, {"fift", 1}}, bodies(s.Requests())); diff != "" {
		t.Errorf("the window of three requests, bodies cut at 4 bytes (-want +got):\n%s", diff)
	}

	// Each of these requests records about 150 bytes (headers included).
	s = newServer(t, apitest.Options{RecordBytes: 400})
	for _, b := range []string{"aaaa", "bbbb", "cccc", "dddd"} {
		post(s, b)
	}
	if got := bodies(s.Requests()); len(got) == 0 || len(got) > 3 || got[len(got)-1] != (kept{"dddd", 0}) {
		t.Errorf("bodies kept within 400 bytes: %q; want the newest and at most three", got)
	}

	s = newServer(t, apitest.Options{RecordRequests: -1})
	post(s, "gone")
	if n := len(s.Requests()); n != 0 {
		t.Errorf("RecordRequests -1 recorded %d requests", n)
	}
}
