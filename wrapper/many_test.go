package wrapper_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

func TestExportMany_KeepsOrderAndGoesOnAfterFailures(t *testing.T) {
	fake := newFake(t, apitest.Options{StepDuration: 2 * time.Millisecond})
	var ids []string
	for i := range 6 {
		id := fake.AddConnection(api.ExportConnectionCreate{IModelID: fmt.Sprintf("m%d", i)}).ID
		if i == 2 {
			fake.SetOutcome(id, apitest.OutcomeError)
		}
		ids = append(ids, id)
	}
	ids = append(ids, "missing")
	c := newClient(t, fake.URL)
	var mu sync.Mutex
	reported := map[string]bool{}
	results := c.ExportMany(context.Background(), ids, ifcRequest(), wrapper.ManyOptions{
		Parallel: 3,
		Wait:     wrapper.WaitOptions{MinInterval: time.Millisecond, MaxInterval: 4 * time.Millisecond},
		OnResult: func(r wrapper.ExportResult) { mu.Lock(); reported[r.ConnectionID] = true; mu.Unlock() },
	})
	var got []string
	for i, r := range results {
		got = append(got, r.ConnectionID)
		switch {
		case i == 2:
			if !errors.Is(r.Err, wrapper.ErrRunFailed) || r.Run == nil {
				t.Errorf("%s: %v", r.ConnectionID, r.Err)
			}
		case r.ConnectionID == "missing":
			if !errors.Is(r.Err, wrapper.ErrNotFound) || r.Ref.Location != "" {
				t.Errorf("missing: ref %+v, err %v", r.Ref, r.Err)
			}
		default:
			if r.Err != nil || r.Run.Result != api.ExecutionResultSuccess || r.Ref.ConnectionID != r.ConnectionID {
				t.Errorf("%s: run %+v, err %v", r.ConnectionID, r.Run, r.Err)
			}
		}
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if len(reported) != len(ids) {
		t.Errorf("OnResult saw %d connections, want %d", len(reported), len(ids))
	}
}

func TestExportMany_CreateOnly(t *testing.T) {
	fake := newFake(t, apitest.Options{StepDuration: time.Minute})
	a := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"}).ID
	b := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m2"}).ID
	results := newClient(t, fake.URL).ExportMany(context.Background(), []string{a, b}, ifcRequest(), wrapper.ManyOptions{CreateOnly: true})
	for _, r := range results {
		if r.Err != nil || r.Run != nil || r.Ref.RunID == "" {
			t.Errorf("%+v", r)
		}
	}
	for _, r := range fake.Requests() {
		if r.Method != http.MethodPost {
			t.Errorf("CreateOnly sent %s %s", r.Method, r.URI)
		}
	}
}

// TestExportMany_ProgressSaysWhoseItIs: one OnProgress serves every export,
// and each Progress names the connection of its export, even when a 303 sent
// that export to the active run of another connection of the iModel.
func TestExportMany_ProgressSaysWhoseItIs(t *testing.T) {
	t.Parallel()
	// The runs move only when the clock does, and the clock moves only once
	// both exports have seen their run: the active run is still active when
	// the export through the second connection creates.
	clock := apitest.NewManualClock(time.Unix(1_700_000_000, 0))
	fake := newFake(t, apitest.Options{Clock: clock, StepDuration: time.Second})
	first := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"}).ID
	second := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"}).ID
	other := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m2"}).ID
	c := newClient(t, fake.URL)
	active, err := c.CreateRun(context.Background(), first, ifcRequest())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string][]wrapper.Progress{}
	started, done := make(chan struct{}), make(chan struct{})
	go func() {
		select {
		case <-started:
		case <-done:
			return
		}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				clock.Advance(time.Second)
			}
		}
	}()
	// A bound, so that a Progress for the wrong connection fails instead
	// of waiting for ever on a clock that never moves.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	results := c.ExportMany(ctx, []string{second, other}, ifcRequest(), wrapper.ManyOptions{
		Wait: wrapper.WaitOptions{MinInterval: time.Millisecond, MaxInterval: 2 * time.Millisecond,
			OnProgress: func(p wrapper.Progress) {
				mu.Lock()
				defer mu.Unlock()
				seen[p.ConnectionID] = append(seen[p.ConnectionID], p)
				if len(seen) == 2 && len(seen[p.ConnectionID]) == 1 {
					close(started)
				}
			}},
	})
	close(done)
	for _, r := range results {
		if r.Err != nil {
			t.Fatalf("%s: %v", r.ConnectionID, r.Err)
		}
	}
	if !results[0].Ref.Existing || results[0].Ref.RunID != active.RunID {
		t.Fatalf("the export through %s did not find the active run: %+v", second, results[0].Ref)
	}
	if len(seen) != 2 || len(seen[second]) == 0 || len(seen[other]) == 0 {
		t.Fatalf("progress by connection: %v, want reports for %s and %s only", seen, second, other)
	}
	for i, r := range results {
		for _, p := range seen[r.ConnectionID] {
			if diff := cmp.Diff(r.Ref, p.Ref); diff != "" {
				t.Errorf("%d %s: Progress.Ref (-want +got):\n%s", i, r.ConnectionID, diff)
			}
			if p.Run.ID != r.Ref.RunID || p.State != p.Run.State {
				t.Errorf("%d %s: progress of run %s in %s, want run %s", i, r.ConnectionID, p.Run.ID, p.State, r.Ref.RunID)
			}
		}
	}
	if got := seen[second][0].Run.ConnectionID; got != first {
		t.Errorf("the run's own connection is %s, want %s (the active run's)", got, first)
	}
}
