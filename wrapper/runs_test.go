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

// Options.Clock does every wait of the client: a Retry-After, the
// client-wide pause it starts, the polls.
func TestOptionsClock_DoesTheRetryAfterAndThePolls(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "7")
			writeJSON(w, http.StatusTooManyRequests, `{"error":{"code":"RateLimitExceeded","message":"slow down"}}`)
			return
		}
		queuedThenDone(n-1, w, r)
	})
	clock := newFakeClock()
	start := clock.Now()
	c := newClient(t, srv.base(), func(o *wrapper.Options) {
		o.Clock = clock
		o.Retry.MaxRetryAfter = time.Minute
	})
	ref, err := c.RunRefFor("c1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	var elapsed []time.Duration
	if _, err := c.WaitRun(context.Background(), ref, wrapper.WaitOptions{OnProgress: func(p wrapper.Progress) { elapsed = append(elapsed, p.Elapsed) }}); err != nil {
		t.Fatal(err)
	}
	s := time.Second
	if diff := cmp.Diff([]time.Duration{7 * s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s}, clock.Sleeps()); diff != "" {
		t.Errorf("waits on the clock (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{7 * s, 67 * s}, elapsed); diff != "" {
		t.Errorf("Progress.Elapsed (-want +got):\n%s", diff)
	}
	if got := clock.Now().Sub(start); got != 67*s {
		t.Errorf("the clock moved %v, want 67s", got)
	}
	if n := len(srv.seen()); n != 7 {
		t.Errorf("%d requests, want 7 (a 429, then six polls)", n)
	}
}

func TestManualClock_SleepMovesTheClockForClientAndService(t *testing.T) {
	t.Parallel()
	var _ wrapper.Clock = (*apitest.ManualClock)(nil)
	clock := apitest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	start := clock.Now()
	if err := clock.Sleep(context.Background(), 90*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := clock.Now().Sub(start); got != 90*time.Second {
		t.Errorf("Sleep(90s) moved the clock %v", got)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("stopped")
	cancel(cause)
	if err := clock.Sleep(ctx, time.Hour); !errors.Is(err, cause) {
		t.Errorf("Sleep after the context ended: %v, want its cause", err)
	}
	if got := clock.Now().Sub(start); got != 90*time.Second {
		t.Errorf("a Sleep after the context ended moved the clock to +%v", got)
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
