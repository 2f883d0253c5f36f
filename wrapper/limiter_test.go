package wrapper_test

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/wrapper"
)

func TestLocalLimiter_SpacesRequestsEvenly(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := wrapper.NewLocalLimiterOnClock(wrapper.RateBudget{Requests: 3, Per: 3 * time.Second}, clock.Now, clock.Sleep)
	for range 4 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// The first request goes at once, each next one a third of the period
	// after the one before.
	if diff := cmp.Diff([]time.Duration{time.Second, time.Second, time.Second}, clock.Sleeps()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestLocalLimiter_DefaultPeriodIsAMinute(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := wrapper.NewLocalLimiterOnClock(wrapper.RateBudget{Requests: 120}, clock.Now, clock.Sleep)
	for range 2 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]time.Duration{500 * time.Millisecond}, clock.Sleeps()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestLocalLimiter_Pause(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := wrapper.NewLocalLimiterOnClock(wrapper.RateBudget{}, clock.Now, clock.Sleep)
	ctx := context.Background()
	if got := l.Paused(ctx); got != 0 {
		t.Errorf("Paused before any 429 = %v, want 0", got)
	}
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	l.Pause(ctx, 5*time.Second)
	l.Pause(ctx, time.Second) // shorter: does not cut the first one short
	if got := l.Paused(ctx); got != 5*time.Second {
		t.Errorf("Paused = %v, want 5s", got)
	}
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := l.Paused(ctx); got != 0 {
		t.Errorf("Paused after the wait = %v, want 0", got)
	}
	if diff := cmp.Diff([]time.Duration{5 * time.Second}, clock.Sleeps()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestLocalLimiter_WaitEndsWithTheContext(t *testing.T) {
	t.Parallel()
	l := wrapper.NewLocalLimiter(wrapper.RateBudget{})
	l.Pause(context.Background(), time.Hour)
	ctx, cancel := context.WithCancelCause(context.Background())
	stop := errors.New("stopped by the test")
	cancel(stop)
	if err := l.Wait(ctx); !errors.Is(err, stop) {
		t.Errorf("Wait in a pause with an ended context = %v, want the context's cause", err)
	}
}

// recordingLimiter is a Limiter that lets every request go at once and
// records what the client asked of it.
type recordingLimiter struct {
	mu     sync.Mutex
	waits  int
	pauses []time.Duration
}

func (l *recordingLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	l.waits++
	l.mu.Unlock()
	return ctx.Err()
}

func (l *recordingLimiter) Pause(_ context.Context, d time.Duration) {
	l.mu.Lock()
	l.pauses = append(l.pauses, d)
	l.mu.Unlock()
}

func (l *recordingLimiter) Paused(context.Context) time.Duration { return 0 }

func TestOptions_LimiterIsConsultedByEveryRequest(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "3")
			writeJSON(w, http.StatusTooManyRequests, `{"error":{"code":"RateLimitExceeded","message":"slow down"}}`)
			return
		}
		w.Header().Set("Location", "/export/connections/c1/runs/r1")
		w.WriteHeader(http.StatusAccepted)
	})
	lim := &recordingLimiter{}
	c := newClient(t, srv.base(), func(o *wrapper.Options) { o.Limiter = lim })
	withClock(c)
	if _, err := c.CreateRun(context.Background(), "c1", ifcRequest()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.seen()); n != 2 || lim.waits != 2 {
		t.Errorf("server saw %d requests, the limiter %d waits; want 2 and 2", n, lim.waits)
	}
	if diff := cmp.Diff([]time.Duration{3 * time.Second}, lim.pauses); diff != "" {
		t.Errorf("pauses reported (-want +got):\n%s", diff)
	}
}

func TestOptions_SharedLimiterPausesEveryClient(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "4")
			writeJSON(w, http.StatusTooManyRequests, `{"error":{"code":"RateLimitExceeded","message":"slow down"}}`)
			return
		}
		w.Header().Set("Location", "/export/connections/c1/runs/r1")
		w.WriteHeader(http.StatusAccepted)
	})
	clock := newFakeClock()
	shared := wrapper.NewLocalLimiterOnClock(wrapper.RateBudget{}, clock.Now, clock.Sleep)
	noRetry := wrapper.RetryPolicy{MaxAttempts: 1}
	first := newClient(t, srv.base(), func(o *wrapper.Options) { o.Limiter, o.Retry = shared, noRetry })
	second := newClient(t, srv.base(), func(o *wrapper.Options) { o.Limiter, o.Retry = shared, noRetry })
	wrapper.SetClock(first, clock.Now, clock.Sleep)
	wrapper.SetClock(second, clock.Now, clock.Sleep)

	_, err := first.CreateRun(context.Background(), "c1", ifcRequest())
	if !errors.Is(err, wrapper.ErrRateLimited) {
		t.Fatalf("first client: %v, want ErrRateLimited", err)
	}
	// The second client has met no 429 itself, yet waits out the first's.
	if _, err := second.CreateRun(context.Background(), "c1", ifcRequest()); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]time.Duration{4 * time.Second}, clock.Sleeps()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestNew_BudgetAndLimiterBothSet(t *testing.T) {
	t.Parallel()
	_, err := wrapper.New(wrapper.Options{TokenSource: wrapper.StaticToken(testToken),
		Budget: wrapper.RateBudget{Requests: 10}, Limiter: wrapper.NewLocalLimiter(wrapper.RateBudget{})})
	if err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("New with Budget and Limiter: %v, want an error saying to set one", err)
	}
}

// Two clients of one application spend one budget and pause together: a
// 429 met by either makes both wait out its Retry-After.
func ExampleLocalLimiter() {
	shared := wrapper.NewLocalLimiter(wrapper.RateBudget{Requests: 490, Per: time.Minute})
	exports, err := wrapper.New(wrapper.Options{TokenSource: wrapper.StaticToken("token"), Limiter: shared})
	if err != nil {
		panic(err)
	}
	downloads, err := wrapper.New(wrapper.Options{TokenSource: wrapper.StaticToken("token"), Limiter: shared})
	if err != nil {
		panic(err)
	}
	_, _ = exports, downloads
}

// TestNoRedisLinked: the Limiter seam costs programs that import wrapper no
// Redis client; only redisbudget's users link one.
func TestNoRedisLinked(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/itwin-export/itwin-export/wrapper").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "redis") {
			t.Errorf("wrapper links %s", dep)
		}
	}
}

// TestLocalLimiter_RateLimitPausesTheWholeClient: once one request meets a
// 429 with Retry-After, the client's other requests wait it out too instead
// of each meeting their own 429.
func TestLocalLimiter_RateLimitPausesTheWholeClient(t *testing.T) {
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

func TestOptions_BudgetSpacesRequests(t *testing.T) {
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
