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
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, `{"error":{"code":"RateLimitExceeded","message":"m"}}`)
			return
		}
		writeJSON(w, 200, `{"connection":{"id":"c1"}}`)
	})
	c := newClient(t, srv.base())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := c.GetConnection(context.Background(), "first"); err != nil {
			t.Error(err)
		}
	}()
	for len(srv.seen()) == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // the 429 has been read: the pause is on
	if _, err := c.GetConnection(context.Background(), "second"); err != nil {
		t.Fatal(err)
	}
	<-done
	seen := srv.seen()
	if len(seen) != 3 {
		t.Fatalf("server saw %d requests, want 3", len(seen))
	}
	for _, s := range seen[1:] {
		if gap := s.At.Sub(seen[0].At); gap < 900*time.Millisecond {
			t.Errorf("%s reached the server %v after the 429, inside its 1s Retry-After", s.URI, gap)
		}
	}
}

func TestBudgetSpacesRequests(t *testing.T) {
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"connection":{"id":"c1"}}`)
	})
	c := newClient(t, srv.base(), func(o *wrapper.Options) {
		o.Budget = wrapper.RateBudget{Requests: 20, Per: time.Second} // one every 50ms
	})
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
	seen := srv.seen()
	if span := seen[len(seen)-1].At.Sub(seen[0].At); span < 190*time.Millisecond {
		t.Errorf("5 requests within %v; a budget of 20/s spaces them 50ms apart (200ms)", span)
	}
}
