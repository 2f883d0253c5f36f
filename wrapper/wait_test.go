package wrapper_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

const failedRun = `{"run":{"id":"r1","connectionId":"c1","state":"Completed","result":"Error","jobs":[{"id":"j1","state":"Completed","result":"Error","tasks":[
 {"id":"t1","state":"Completed","result":"Error","error":{"errorCode":"TAE_BRW_1000","message":"Failed to orchestrate file processing.","details":"Error exit code received from bridge wrapper. Details from wrapper: ''.","bridgeExitCode":-7002,"system":"Exporter","phase":"export_file","category":"other","descriptionKey":"FailedToExport","description":"Failed to export your file.","kbArticleLink":"https://kb.example.com/1","canUserFix":true}},
 {"id":"t2","state":"Completed","result":"Success","exportOutputFileId":"f2"}]}]}}`

func TestWaitRunReportsStatesAndClassifiesTheResult(t *testing.T) {
	t.Parallel()
	states := []string{"NotStarted", "Queued", "Queued", "Executing", "Executing", "Finalizing"}
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n < len(states) {
			writeJSON(w, 200, fmt.Sprintf(`{"run":{"id":"r1","connectionId":"c1","state":%q,"result":"Undetermined"}}`, states[n]))
			return
		}
		writeJSON(w, 200, failedRun)
	})
	c := newClient(t, srv.base())
	ref, err := c.RunRefFor("c1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	var seenStates []api.ExecutionState
	run, err := c.WaitRun(context.Background(), ref, wrapper.WaitOptions{
		MinInterval: time.Millisecond, MaxInterval: 4 * time.Millisecond,
		OnProgress: func(p wrapper.Progress) { seenStates = append(seenStates, p.State) },
	})
	want := []api.ExecutionState{api.ExecutionStateNotStarted, api.ExecutionStateQueued, api.ExecutionStateExecuting, api.ExecutionStateFinalizing, api.ExecutionStateCompleted}
	if diff := cmp.Diff(want, seenStates); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if !errors.Is(err, wrapper.ErrRunFailed) {
		t.Fatalf("err = %v, want ErrRunFailed", err)
	}
	var re *wrapper.RunError
	if !errors.As(err, &re) {
		t.Fatal("not a *RunError")
	}
	if run == nil || re.Run != run || re.Result != api.ExecutionResultError {
		t.Errorf("run %v, RunError %+v", run, re)
	}
	wantTasks := []wrapper.TaskFailure{{JobID: "j1", TaskID: "t1", Error: api.TaskError{
		ErrorCode: ptr("TAE_BRW_1000"), Message: ptr("Failed to orchestrate file processing."),
		Details: ptr("Error exit code received from bridge wrapper. Details from wrapper: ''."), BridgeExitCode: ptr(int64(-7002)),
		System: ptr("Exporter"), Phase: ptr("export_file"), Category: ptr("other"), DescriptionKey: ptr("FailedToExport"),
		Description: ptr("Failed to export your file."), KbArticleLink: ptr("https://kb.example.com/1"), CanUserFix: ptr(true),
	}}}
	if diff := cmp.Diff(wantTasks, re.Tasks); diff != "" {
		t.Errorf("task errors (-want +got):\n%s", diff)
	}
	wantText := "run r1 completed with result Error; task t1: TAE_BRW_1000: Failed to export your file. (user can fix: true) (see https://kb.example.com/1)"
	if err.Error() != wantText {
		t.Errorf("error text\n got %s\nwant %s", err, wantText)
	}
	if n := len(srv.seen()); n != len(states)+1 {
		t.Errorf("%d polls, want %d", n, len(states)+1)
	}
}

func TestWaitRunBacksOffBetweenBounds(t *testing.T) {
	t.Parallel()
	states := []string{"Queued", "Executing", "Executing", "Executing", "Executing", "Executing", "Completed"}
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, fmt.Sprintf(`{"run":{"id":"r1","state":%q,"result":%q}}`, states[n], map[bool]string{true: "Success", false: "Undetermined"}[n == len(states)-1]))
	})
	c := newClient(t, srv.base())
	clock := withClock(c)
	ref, _ := c.RunRefFor("c1", "r1")
	var elapsed []time.Duration
	run, err := c.WaitRun(context.Background(), ref, wrapper.WaitOptions{MinInterval: 20 * time.Millisecond, MaxInterval: 80 * time.Millisecond,
		OnProgress: func(p wrapper.Progress) { elapsed = append(elapsed, p.Elapsed) }})
	if err != nil || run.Result != api.ExecutionResultSuccess {
		t.Fatalf("run %v, err %v", run, err)
	}
	// 20ms after each change of state, then doubling to the 80ms cap.
	ms := time.Millisecond
	if diff := cmp.Diff([]time.Duration{20 * ms, 20 * ms, 40 * ms, 80 * ms, 80 * ms, 80 * ms}, clock.Sleeps()); diff != "" {
		t.Errorf("waits between polls (-want +got):\n%s", diff)
	}
	// Progress comes at each change of state, timed on the client's clock.
	if diff := cmp.Diff([]time.Duration{0, 20 * ms, 320 * ms}, elapsed); diff != "" {
		t.Errorf("Progress.Elapsed (-want +got):\n%s", diff)
	}
}

func TestWaitRunEndsWithTheContext(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"run":{"id":"r1","state":"Queued","result":"Undetermined"}}`)
	})
	c := newClient(t, srv.base())
	clock := withClock(c)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	clock.onSleep = func(_ context.Context, _ time.Duration) {
		if len(clock.Sleeps()) == 3 {
			cancel(context.DeadlineExceeded) // the deadline passes during the third wait
		}
	}
	ref, _ := c.RunRefFor("c1", "r1")
	_, err := c.WaitRun(ctx, ref, wrapper.WaitOptions{MinInterval: 10 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if n := len(srv.seen()); n != 3 {
		t.Errorf("%d polls, want 3: none after the context ended", n)
	}
}

func TestParseRunRef(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want wrapper.RunRef
		err  error
	}{
		{"https://api.bentley.com/export/connections/c1/runs/r1", wrapper.RunRef{Location: "https://api.bentley.com/export/connections/c1/runs/r1", ConnectionID: "c1", RunID: "r1"}, nil},
		{"http://127.0.0.1:9/export/connections/a%2Fb/runs/r%3F1", wrapper.RunRef{Location: "http://127.0.0.1:9/export/connections/a%2Fb/runs/r%3F1", ConnectionID: "a/b", RunID: "r?1"}, nil},
		{"/export/connections/c1/runs/r1", wrapper.RunRef{}, wrapper.ErrMissingLocation},
		{"https://api.bentley.com/export/connections/c1/runs", wrapper.RunRef{}, wrapper.ErrMissingLocation},
		{"https://api.bentley.com/export/connections/c1/runs/r1?x=1", wrapper.RunRef{}, wrapper.ErrMissingLocation},
		{"https://api.bentley.com/export/connections/../runs/r1", wrapper.RunRef{}, wrapper.ErrMissingLocation},
		{"::", wrapper.RunRef{}, wrapper.ErrMissingLocation},
	} {
		got, err := wrapper.ParseRunRef(tc.in)
		if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
			t.Errorf("%s: err = %v, want %v", tc.in, err, tc.err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestPathIDsStayInTheirSegment(t *testing.T) {
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

func TestConnectionsFollowsNextLinks(t *testing.T) {
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

func TestPagingLinkProblems(t *testing.T) {
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

// futureRun is a run answer with members the contract does not know, in an
// order of the API's own: GetRunRaw and WaitRun's progress pass the run
// object on byte for byte.
const futureRun = `{"run": {"state": "Completed", "id": "r1", "result": "Success", "priority": {"level": 3, "queue": "nightly"},
  "jobs": [{"id": "j1", "state": "Completed", "result": "Success", "tasks": [{"id": "t1", "state": "Completed", "result": "Success", "exportOutputFileId": "f1", "sizeBytes": 1024}]}]}, "etag": "x"}`

func TestRawRunKeepsWhatTheContractDoesNotKnow(t *testing.T) {
	t.Parallel()
	want := futureRun[len(`{"run": `):strings.LastIndex(futureRun, `, "etag"`)]
	s := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, futureRun) })
	c := newClient(t, s.base())
	ref, err := c.RunRefFor("c1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	run, raw, err := c.GetRunRaw(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, string(raw)); d != "" {
		t.Errorf("GetRunRaw (-want +got):\n%s", d)
	}
	if run.ID != "r1" || run.State != api.ExecutionStateCompleted {
		t.Errorf("decoded run: %+v", run)
	}
	var progress []string
	if _, err := c.WaitRun(context.Background(), ref, wrapper.WaitOptions{MinInterval: time.Millisecond, OnProgress: func(p wrapper.Progress) {
		progress = append(progress, string(p.RawRun))
	}}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{want}, progress); d != "" {
		t.Errorf("Progress.RawRun (-want +got):\n%s", d)
	}
}

// TestRunsTheContractDoesNotDescribe: a Completed run without a result, and
// a state outside the contract's enum, are malformed answers, reported at
// once: neither a failed run nor something to wait on.
func TestRunsTheContractDoesNotDescribe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, run, reason string
	}{
		{"completed without result", `{"id":"r1","state":"Completed"}`, `the run is Completed but has no "result"`},
		{"completed with an empty result", `{"id":"r1","state":"Completed","result":""}`, `the run is Completed but has no "result"`},
		{"unknown state", `{"id":"r1","state":"Paused","result":"Undetermined"}`, `the run's state "Paused" is not one the contract defines`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, `{"run":`+tc.run+`}`)
			})
			c := newClient(t, srv.base())
			clock := withClock(c)
			ref, _ := c.RunRefFor("c1", "r1")
			_, err := c.WaitRun(failSafe(t), ref, wrapper.WaitOptions{})
			var re *wrapper.ResponseError
			if !errors.As(err, &re) || !errors.Is(err, wrapper.ErrMalformedResponse) || errors.Is(err, wrapper.ErrRunFailed) {
				t.Fatalf("err = %v (%T), want ErrMalformedResponse only", err, err)
			}
			if re.Reason != tc.reason {
				t.Errorf("reason %q, want %q", re.Reason, tc.reason)
			}
			if n, waits := len(srv.seen()), clock.Sleeps(); n != 1 || len(waits) != 0 {
				t.Errorf("%d polls and waits %v, want 1 poll and no wait", n, waits)
			}
			if _, err := c.GetRun(context.Background(), ref); !errors.Is(err, wrapper.ErrMalformedResponse) {
				t.Errorf("GetRun: err = %v, want ErrMalformedResponse", err)
			}
		})
	}
}
