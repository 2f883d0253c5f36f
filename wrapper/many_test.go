package wrapper_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

func TestExportManyKeepsOrderAndGoesOnAfterFailures(t *testing.T) {
	fake := newFake(t, apitest.Options{StepDuration: 2 * time.Millisecond})
	var ids []string
	for i := range 6 {
		id := *fake.AddConnection(api.ExportConnectionCreate{IModelID: fmt.Sprintf("m%d", i)}).ID
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
			if r.Err != nil || *r.Run.Result != api.ExecutionResultSuccess || r.Ref.ConnectionID != r.ConnectionID {
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

func TestExportManyCreateOnly(t *testing.T) {
	fake := newFake(t, apitest.Options{StepDuration: time.Minute})
	a := *fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"}).ID
	b := *fake.AddConnection(api.ExportConnectionCreate{IModelID: "m2"}).ID
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

// TestRateLimitPausesTheWholeClient: once one request meets a 429 with
// Retry-After, the client's other requests wait it out too instead of each
// meeting their own 429.
func TestRateLimitPausesTheWholeClient(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, `{"error":{"code":"RateLimitExceeded","message":"m"}}`)
			return
		}
		writeJSON(w, 200, `{"connection":{"id":"c1"}}`)
	})
	c := newClient(t, srv.base())
	clock := withClock(c)
	// While the first call waits out its 429, a second call starts: it
	// must wait out the same Retry-After instead of meeting its own 429.
	second := false
	clock.onSleep = func(context.Context, time.Duration) {
		if !second {
			second = true
			if _, err := c.GetConnection(context.Background(), "second"); err != nil {
				t.Error(err)
			}
		}
	}
	if _, err := c.GetConnection(context.Background(), "first"); err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, s := range srv.seen() {
		uris = append(uris, s.URI)
	}
	if diff := cmp.Diff([]string{"/export/connections/first", "/export/connections/second", "/export/connections/first"}, uris); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, time.Second}, clock.Sleeps()); diff != "" {
		t.Errorf("waits: the first call's retry, the second call's pause (-want +got):\n%s", diff)
	}
}

func TestBudgetSpacesRequests(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"connection":{"id":"c1"}}`)
	})
	c := newClient(t, srv.base(), func(o *wrapper.Options) {
		o.Budget = wrapper.RateBudget{Requests: 20, Per: time.Second} // one every 50ms
	})
	clock := withClock(c)
	clock.frozen = true // the five start at the same instant
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.GetConnection(context.Background(), "c1"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	waits := clock.Sleeps()
	slices.Sort(waits)
	ms := time.Millisecond
	if diff := cmp.Diff([]time.Duration{50 * ms, 100 * ms, 150 * ms, 200 * ms}, waits); diff != "" {
		t.Errorf("waits: the first goes at once, the others 50ms apart (-want +got):\n%s", diff)
	}
}
