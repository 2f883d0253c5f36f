package wrapper_test

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

var (
	_ encoding.TextMarshaler   = wrapper.RunRef{}
	_ encoding.TextUnmarshaler = (*wrapper.RunRef)(nil)
)

func TestParseRunRef_GarbageIsAParseError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"garbage", `parse error: run reference "garbage" is not an absolute URL (a run's Location is https://.../connections/{id}/runs/{runId})`},
		{"::", `parse error: run reference "::" does not parse as a URL`},
		{"https://api.bentley.com/export/connections/c1", `parse error: run reference "https://api.bentley.com/export/connections/c1" does not name a run (/connections/{id}/runs/{runId})`},
		{"https://api.bentley.com/export/connections/c1/runs/r1?sig=SECRET", `parse error: run reference "https://api.bentley.com/export/connections/c1/runs/r1?sig=REDACTED" has a query or fragment; a run URL has neither`},
	} {
		_, err := wrapper.ParseRunRef(tc.in)
		var perr *wrapper.RunRefParseError
		if !errors.As(err, &perr) {
			t.Fatalf("ParseRunRef(%q) = %v (%T), want a *RunRefParseError", tc.in, err, err)
		}
		if !errors.Is(err, wrapper.ErrValidation) {
			t.Errorf("ParseRunRef(%q): %v does not match ErrValidation", tc.in, err)
		}
		if !errors.Is(err, wrapper.ErrMissingLocation) {
			t.Errorf("ParseRunRef(%q): %v no longer matches ErrMissingLocation", tc.in, err)
		}
		if errors.Is(err, wrapper.ErrForeignLocation) {
			t.Errorf("ParseRunRef(%q): %v matches ErrForeignLocation", tc.in, err)
		}
		if got := err.Error(); got != tc.want {
			t.Errorf("ParseRunRef(%q) error\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

// A job's saved state holds its RunRef as the run's Location, and reads it
// back with every id.
func TestRunRef_RoundTripsThroughJSON(t *testing.T) {
	t.Parallel()
	type jobState struct {
		Run   wrapper.RunRef  `json:"run"`
		Other *wrapper.RunRef `json:"other,omitempty"`
		Empty wrapper.RunRef  `json:"empty"`
	}
	ref, err := wrapper.ParseRunRef("https://api.bentley.com/export/connections/a%2Fb/runs/r1")
	if err != nil {
		t.Fatal(err)
	}
	ref.Existing = true // not part of the text
	b, err := json.Marshal(jobState{Run: ref})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"run":"https://api.bentley.com/export/connections/a%2Fb/runs/r1","empty":""}`; string(b) != want {
		t.Fatalf("JSON = %s, want %s", b, want)
	}
	var back jobState
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := jobState{Run: wrapper.RunRef{Location: ref.Location, ConnectionID: "a/b", RunID: "r1"}}
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestRunRef_UnmarshalTextRefusesGarbage(t *testing.T) {
	t.Parallel()
	var state struct {
		Run wrapper.RunRef `json:"run"`
	}
	err := json.Unmarshal([]byte(`{"run":"garbage"}`), &state)
	var perr *wrapper.RunRefParseError
	if !errors.As(err, &perr) || !errors.Is(err, wrapper.ErrValidation) {
		t.Fatalf("err = %v (%T), want a *RunRefParseError matching ErrValidation", err, err)
	}
	if diff := cmp.Diff(wrapper.RunRef{}, state.Run); diff != "" {
		t.Errorf("RunRef set despite the error (-want +got):\n%s", diff)
	}
	ref := wrapper.RunRef{Location: "https://api.bentley.com/export/connections/c1/runs/r1", ConnectionID: "c1", RunID: "r1"}
	kept := ref
	if err := kept.UnmarshalText([]byte("garbage")); err == nil {
		t.Fatal("UnmarshalText(garbage): no error")
	}
	if diff := cmp.Diff(ref, kept); diff != "" {
		t.Errorf("RunRef changed by a failed UnmarshalText (-want +got):\n%s", diff)
	}
}

// queuedThenDone answers a run Queued five times, then Completed with
// Success.
func queuedThenDone(n int, w http.ResponseWriter, r *http.Request) {
	state, result := "Queued", "Undetermined"
	if n >= 5 {
		state, result = "Completed", "Success"
	}
	writeJSON(w, 200, fmt.Sprintf(`{"run":{"id":"r1","connectionId":"c1","state":%q,"result":%q}}`, state, result))
}

func TestWaitRun_ZeroFieldsTakeTheClientsWaitOptions(t *testing.T) {
	t.Parallel()
	s := time.Second
	for _, tc := range []struct {
		name         string
		call         wrapper.WaitOptions
		wantSleeps   []time.Duration
		clientStates int // Progress calls the client's OnProgress gets
	}{
		{"all from the client", wrapper.WaitOptions{}, []time.Duration{3 * s, 6 * s, 10 * s, 10 * s, 10 * s}, 2},
		{"the call's MinInterval, the client's MaxInterval", wrapper.WaitOptions{MinInterval: s}, []time.Duration{s, 2 * s, 4 * s, 8 * s, 10 * s}, 2},
		{"the call's OnProgress", wrapper.WaitOptions{OnProgress: func(wrapper.Progress) {}}, []time.Duration{3 * s, 6 * s, 10 * s, 10 * s, 10 * s}, 0},
		{"the call's bounds", wrapper.WaitOptions{MinInterval: 2 * s, MaxInterval: 5 * s}, []time.Duration{2 * s, 4 * s, 5 * s, 5 * s, 5 * s}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newScripted(t, queuedThenDone)
			clock := newFakeClock()
			var states []api.ExecutionState
			c := newClient(t, srv.base(), func(o *wrapper.Options) {
				o.Clock = clock
				o.Wait = wrapper.WaitOptions{MinInterval: 3 * s, MaxInterval: 10 * s,
					OnProgress: func(p wrapper.Progress) { states = append(states, p.State) }}
			})
			ref, err := c.RunRefFor("c1", "r1")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitRun(context.Background(), ref, tc.call); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantSleeps, clock.Sleeps()); diff != "" {
				t.Errorf("waits between polls (-want +got):\n%s", diff)
			}
			if len(states) != tc.clientStates {
				t.Errorf("the client's OnProgress saw %v, want %d states", states, tc.clientStates)
			}
		})
	}
}

// The Logger gets an Info record per state of a waited run, with the
// connection the caller asked for.
func TestWaitRun_LogsStateChangesAtInfo(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, queuedThenDone)
	var buf bytes.Buffer
	c := newClient(t, srv.base(), func(o *wrapper.Options) {
		o.Clock = newFakeClock()
		o.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	ref, err := c.RunRefFor("c1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitRun(context.Background(), ref, wrapper.WaitOptions{}); err != nil {
		t.Fatal(err)
	}
	type record struct {
		Level, Msg, Connection, Run, State, Result string
		Elapsed                                    int64
	}
	var got []record
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		got = append(got, r)
	}
	s := int64(time.Second)
	want := []record{
		{Level: "INFO", Msg: "run state", Connection: "c1", Run: "r1", State: "Queued", Result: "Undetermined", Elapsed: 0},
		{Level: "INFO", Msg: "run state", Connection: "c1", Run: "r1", State: "Completed", Result: "Success", Elapsed: (2 + 4 + 8 + 16 + 30) * s},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log records (-want +got):\n%s", diff)
	}
}

func TestRunsWithOptions_AsksForThePageSize(t *testing.T) {
	t.Parallel()
	clock := apitest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fake := newFake(t, apitest.Options{Clock: clock, StepDuration: time.Second})
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"}).ID
	c := newClient(t, fake.URL)
	ctx := context.Background()
	var created []string
	for range 5 {
		ref, err := c.CreateRun(ctx, conn, ifcRequest())
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, ref.RunID)
		clock.Advance(time.Minute) // completed: the next create starts a run
	}
	list := func(seq func(func(api.ExportRun, error) bool)) []string {
		t.Helper()
		var ids []string
		for run, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, run.ID)
		}
		return ids
	}
	listed := func() []string {
		var uris []string
		for _, r := range fake.Requests() {
			if r.Method == http.MethodGet {
				uris = append(uris, r.URI)
			}
		}
		fake.ResetRequests()
		return uris
	}
	fake.ResetRequests()
	runs := "/export/connections/" + conn + "/runs"

	if diff := cmp.Diff(created, list(c.RunsWithOptions(ctx, conn, wrapper.ListOptions{PageSize: 2}))); diff != "" {
		t.Errorf("runs in pages of 2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{runs + "?%24top=2", runs + "?$skip=2&$top=2", runs + "?$skip=4&$top=2"}, listed()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(created, list(c.Runs(ctx, conn))); diff != "" {
		t.Errorf("Runs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{runs}, listed()); diff != "" {
		t.Errorf("Runs sends no $top (-want +got):\n%s", diff)
	}
	for run, err := range c.RunsWithOptions(ctx, conn, wrapper.ListOptions{PageSize: -1}) {
		if run.ID != "" || !errors.Is(err, wrapper.ErrValidation) {
			t.Errorf("PageSize -1: %+v, %v; want ErrValidation", run, err)
		}
	}
	if got := listed(); len(got) != 0 {
		t.Errorf("PageSize -1 sent %v", got)
	}
}
func TestParseRunRef_IDsAndRefusals(t *testing.T) {
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

func TestCreateRun_SendsTheContractRequest(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/export/connections/c1/runs/r1")
		w.WriteHeader(http.StatusAccepted)
	})
	c := newClient(t, srv.base(), func(o *wrapper.Options) { o.UserAgent = "itwin-export-test/1" })
	ref, err := c.CreateRun(context.Background(), "c1", ifcRequest())
	if err != nil {
		t.Fatal(err)
	}
	want := wrapper.RunRef{Location: srv.base() + "/connections/c1/runs/r1", ConnectionID: "c1", RunID: "r1"}
	if diff := cmp.Diff(want, ref); diff != "" {
		t.Errorf("run ref (-want +got):\n%s", diff)
	}
	got := srv.seen()
	if len(got) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(got))
	}
	r := got[0]
	if r.Method != http.MethodPost || r.URI != "/export/connections/c1/runs" {
		t.Errorf("request = %s %s", r.Method, r.URI)
	}
	headers := map[string]string{
		"Accept":        r.Header.Get("Accept"),
		"Authorization": r.Header.Get("Authorization"),
		"Content-Type":  r.Header.Get("Content-Type"),
		"User-Agent":    r.Header.Get("User-Agent"),
	}
	wantHeaders := map[string]string{
		"Accept":        "application/vnd.bentley.itwin-platform.v1+json",
		"Authorization": "Bearer " + testToken,
		"Content-Type":  "application/json",
		"User-Agent":    "itwin-export-test/1",
	}
	if diff := cmp.Diff(wantHeaders, headers); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	var body any
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"exportType": "IFC", "ifcVersion": "IFC4.3"}, body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestCreateRun_UnexpectedAnswers(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{}`)
	})
	_, err := newClient(t, srv.base()).CreateRun(context.Background(), "c1", ifcRequest())
	if !errors.Is(err, wrapper.ErrUnexpectedStatus) {
		t.Errorf("200 to a create: err = %v, want ErrUnexpectedStatus", err)
	}
}

func TestCreateRun_ConcurrentCallsMakeOneRun(t *testing.T) {
	t.Parallel()
	fake := newFake(t, apitest.Options{ProcessingWindow: 50 * time.Millisecond, StepDuration: time.Minute})
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"})
	c := newClient(t, fake.URL, func(o *wrapper.Options) {
		o.Retry = wrapper.RetryPolicy{MaxAttempts: 20, MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}
	})
	const callers = 50
	refs := make([]wrapper.RunRef, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			refs[i], errs[i] = c.CreateRun(context.Background(), conn.ID, ifcRequest())
		}()
	}
	close(start)
	wg.Wait()
	created := 0
	for i := range callers {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !refs[i].Existing {
			created++
		}
		if refs[i].Location != refs[0].Location {
			t.Errorf("caller %d got %s, caller 0 got %s", i, refs[i].Location, refs[0].Location)
		}
	}
	if created != 1 {
		t.Errorf("%d callers saw a new run (202), want exactly 1", created)
	}
	if n := fake.RunCount(conn.ID); n != 1 {
		t.Errorf("apitest created %d runs, want 1", n)
	}
	posts := 0
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost {
			posts++
		}
	}
	t.Logf("%d POSTs for %d callers: the rest were 409s retried", posts, callers)
}

func TestCreateRun_SecondWhileActiveIsExisting(t *testing.T) {
	t.Parallel()
	fake := newFake(t, apitest.Options{StepDuration: time.Minute})
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"})
	c := newClient(t, fake.URL)
	first, err := c.CreateRun(context.Background(), conn.ID, ifcRequest())
	if err != nil {
		t.Fatal(err)
	}
	fake.ResetRequests()
	second, err := c.CreateRun(context.Background(), conn.ID, ifcRequest())
	if err != nil {
		t.Fatal(err)
	}
	if first.Existing || !second.Existing || second.Location != first.Location {
		t.Errorf("first %+v, second %+v", first, second)
	}
	var methods []string
	for _, r := range fake.Requests() {
		methods = append(methods, r.Method)
	}
	if diff := cmp.Diff([]string{http.MethodPost}, methods); diff != "" {
		t.Errorf("requests after the first create (-want +got):\n%s", diff)
	}
}

// TestCreateRun_ThroughAnotherConnectionOfTheIModel: the API keeps one active
// run per iModel, so a create through a second connection of the iModel
// comes back Existing, naming the run and connection that hold it, and that
// run can be followed.
func TestCreateRun_ThroughAnotherConnectionOfTheIModel(t *testing.T) {
	t.Parallel()
	fake := newFake(t, apitest.Options{StepDuration: time.Minute})
	first := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"}).ID
	second := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"}).ID
	c := newClient(t, fake.URL)
	ctx := context.Background()
	created, err := c.CreateRun(ctx, first, ifcRequest())
	if err != nil {
		t.Fatal(err)
	}
	existing, err := c.CreateRun(ctx, second, ifcRequest())
	if err != nil {
		t.Fatal(err)
	}
	want := created
	want.Existing = true
	if d := cmp.Diff(want, existing); d != "" {
		t.Errorf("create through the second connection (-want +got):\n%s", d)
	}
	run, err := c.GetRun(ctx, existing)
	if err != nil || run.ConnectionID != first || run.ID != created.RunID {
		t.Errorf("GetRun: %+v, %v", run, err)
	}
	if n := fake.RunCount(second); n != 0 {
		t.Errorf("RunCount(second) = %d, want 0", n)
	}
}

// futureRun is a run answer with members the contract does not know, in an
// order of the API's own: GetRunRaw and WaitRun's progress pass the run
// object on byte for byte.
const futureRun = `{"run": {"state": "Completed", "id": "r1", "result": "Success", "priority": {"level": 3, "queue": "nightly"},
  "jobs": [{"id": "j1", "state": "Completed", "result": "Success", "tasks": [{"id": "t1", "state": "Completed", "result": "Success", "exportOutputFileId": "f1", "sizeBytes": 1024}]}]}, "etag": "x"}`

func TestGetRunRaw_KeepsWhatTheContractDoesNotKnow(t *testing.T) {
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

const failedRun = `{"run":{"id":"r1","connectionId":"c1","state":"Completed","result":"Error","jobs":[{"id":"j1","state":"Completed","result":"Error","tasks":[
 {"id":"t1","state":"Completed","result":"Error","error":{"errorCode":"TAE_BRW_1000","message":"Failed to orchestrate file processing.","details":"Error exit code received from bridge wrapper. Details from wrapper: ''.","bridgeExitCode":-7002,"system":"Exporter","phase":"export_file","category":"other","descriptionKey":"FailedToExport","description":"Failed to export your file.","kbArticleLink":"https://kb.example.com/1","canUserFix":true}},
 {"id":"t2","state":"Completed","result":"Success","exportOutputFileId":"f2"}]}]}}`

func TestWaitRun_ReportsStatesAndClassifiesTheResult(t *testing.T) {
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

func TestWaitRun_BacksOffBetweenBounds(t *testing.T) {
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

func TestWaitRun_EndsWithTheContext(t *testing.T) {
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

// TestWaitRun_RunsTheContractDoesNotDescribe: a Completed run without a
// result, and a state outside the contract's enum, are malformed answers,
// reported at once: neither a failed run nor something to wait on.
func TestWaitRun_RunsTheContractDoesNotDescribe(t *testing.T) {
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
			var re *wrapper.UnusableResponseError
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

func TestWaitRun_ResumesFromASavedLocation(t *testing.T) {
	t.Parallel()
	fake := newFake(t, apitest.Options{StepDuration: 5 * time.Millisecond})
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"})
	first := newClient(t, fake.URL)
	ref, err := first.CreateRun(context.Background(), conn.ID, ifcRequest())
	if err != nil {
		t.Fatal(err)
	}
	saved := ref.Location // what a process writes down before it stops

	second := newClient(t, fake.URL)
	resumed, err := wrapper.ParseRunRef(saved)
	if err != nil {
		t.Fatal(err)
	}
	run, err := second.WaitRun(context.Background(), resumed, wrapper.WaitOptions{MinInterval: 2 * time.Millisecond, MaxInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != ref.RunID || run.State != api.ExecutionStateCompleted {
		t.Errorf("run = %+v", run)
	}
}

func TestWaitRun_ProgressNamesTheRefsConnection(t *testing.T) {
	t.Parallel()
	fake := newFake(t, apitest.Options{StepDuration: 2 * time.Millisecond})
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"}).ID
	c := newClient(t, fake.URL)
	ref, err := c.CreateRun(context.Background(), conn, ifcRequest())
	if err != nil {
		t.Fatal(err)
	}
	var got []wrapper.Progress
	if _, err := c.WaitRun(context.Background(), ref, wrapper.WaitOptions{MinInterval: time.Millisecond,
		OnProgress: func(p wrapper.Progress) { got = append(got, p) }}); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no progress reported")
	}
	for _, p := range got {
		if p.ConnectionID != conn || p.Ref != ref {
			t.Errorf("progress for %q, %+v; want %q, %+v", p.ConnectionID, p.Ref, conn, ref)
		}
	}
}

func TestExport_AgainstTheFake(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		outcome apitest.Outcome
		result  api.ExecutionResult
		wantErr error
	}{
		{apitest.OutcomeSuccess, api.ExecutionResultSuccess, nil},
		{apitest.OutcomePartialSuccess, api.ExecutionResultPartialSuccess, wrapper.ErrRunFailed},
		{apitest.OutcomeError, api.ExecutionResultError, wrapper.ErrRunFailed},
	} {
		t.Run(string(tc.result), func(t *testing.T) {
			clock := apitest.NewManualClock(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
			fake := newFake(t, apitest.Options{Clock: clock, StepDuration: time.Minute, AbsoluteLocation: tc.outcome == apitest.OutcomeError})
			conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"})
			fake.SetOutcome(conn.ID, tc.outcome)
			c := newClient(t, fake.URL)
			var states []api.ExecutionState
			ref, run, err := c.Export(context.Background(), conn.ID, ifcRequest(), wrapper.WaitOptions{
				MinInterval: time.Millisecond,
				OnProgress: func(p wrapper.Progress) {
					states = append(states, p.State)
					clock.Advance(time.Minute) // the next poll sees the next state
				},
			})
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			want := []api.ExecutionState{api.ExecutionStateNotStarted, api.ExecutionStateQueued, api.ExecutionStateWaitingToExecute,
				api.ExecutionStateExecuting, api.ExecutionStateFinalizing, api.ExecutionStateCompleted}
			if diff := cmp.Diff(want, states); diff != "" {
				t.Errorf("states (-want +got):\n%s", diff)
			}
			if run.Result != tc.result || run.ID != ref.RunID || run.ConnectionID != conn.ID {
				t.Errorf("run = %+v", run)
			}
			if ref.Location != fake.URL+"/connections/"+conn.ID+"/runs/"+ref.RunID {
				t.Errorf("Location = %s", ref.Location)
			}
			var re *wrapper.RunError
			if errors.As(err, &re) && (len(re.Tasks) == 0 || re.Tasks[0].Error.ErrorCode == nil) {
				t.Errorf("RunError carries no task error: %+v", re)
			}
		})
	}
}
