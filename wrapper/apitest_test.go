package wrapper_test

import (
	"context"
	"errors"
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

// newFake starts apitest with contract validation failing the test.
func newFake(t *testing.T, opts apitest.Options) *apitest.Server {
	t.Helper()
	opts.OnContractViolation = func(err error) { t.Errorf("contract violation: %v", err) }
	s := apitest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

func TestConcurrentCreateRunMakesOneRun(t *testing.T) {
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

func TestExportAgainstTheFake(t *testing.T) {
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

func TestResumeFromASavedLocation(t *testing.T) {
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

func TestSecondCreateWhileActiveIsExisting(t *testing.T) {
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

func TestConnectionsAgainstTheFake(t *testing.T) {
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

func TestAuthorizationInformationAgainstTheFake(t *testing.T) {
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

func TestForbiddenAndUnauthorizedFromTheFake(t *testing.T) {
	t.Parallel()
	fake := newFake(t, apitest.Options{
		ValidToken: func(tok string) bool { return tok == testToken },
		MayUse:     func(tok, id string) bool { return false },
	})
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"})
	_, err := newClient(t, fake.URL).CreateRun(context.Background(), conn.ID, ifcRequest())
	if !errors.Is(err, wrapper.ErrForbidden) {
		t.Errorf("err = %v, want ErrForbidden", err)
	}
	bad, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken("wrong-token-value")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.GetConnection(context.Background(), conn.ID)
	if !errors.Is(err, wrapper.ErrUnauthorized) {
		t.Errorf("err = %v, want ErrUnauthorized", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-token-value") {
		t.Errorf("error carries the token: %v", err)
	}
}

// TestCreateRunThroughAnotherConnectionOfTheIModel: the API keeps one active
// run per iModel, so a create through a second connection of the iModel
// comes back Existing, naming the run and connection that hold it, and that
// run can be followed.
func TestCreateRunThroughAnotherConnectionOfTheIModel(t *testing.T) {
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
