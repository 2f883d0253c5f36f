package redisbudget_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/redisbudget"
	"github.com/itwin-export/itwin-export/wrapper"
)

// syncBuffer is a log destination safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLimiter(t *testing.T, opts redisbudget.Options) *redisbudget.Limiter {
	t.Helper()
	l, err := redisbudget.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLimiter_SharesTheBudget(t *testing.T) {
	srv := startRedis(t)
	budget := wrapper.RateBudget{Requests: 20, Per: time.Second} // one request every 50ms
	a := newLimiter(t, redisbudget.Options{Client: newClient(t, srv.URL()), App: "app-1", Budget: budget})
	b := newLimiter(t, redisbudget.Options{Client: newClient(t, srv.URL()), App: "app-1", Budget: budget})
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for _, l := range []*redisbudget.Limiter{a, b} {
		wg.Go(func() {
			for range 5 {
				if err := l.Wait(ctx); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	// Ten requests of one budget, the first at once: nine intervals at
	// least, whichever process took each slot. Two budgets would allow
	// ten requests in four intervals.
	if elapsed := time.Since(start); elapsed < 9*budget.Per/20 {
		t.Errorf("10 slots of a budget of 20/s taken by two sharers in %v: less than 9 intervals", elapsed)
	}
}

func TestLimiter_PauseIsShared(t *testing.T) {
	srv := startRedis(t)
	a := newLimiter(t, redisbudget.Options{Client: newClient(t, srv.URL()), App: "app-1"})
	b := newLimiter(t, redisbudget.Options{Client: newClient(t, srv.URL()), App: "app-1"})
	other := newLimiter(t, redisbudget.Options{Client: newClient(t, srv.URL()), App: "app-2"})
	ctx := context.Background()
	if got := b.Paused(ctx); got != 0 {
		t.Fatalf("Paused before any 429 = %v, want 0", got)
	}
	a.Pause(ctx, time.Minute)
	a.Pause(ctx, time.Second) // shorter: does not cut the first one short
	if got := b.Paused(ctx); got <= 50*time.Second || got > time.Minute {
		t.Errorf("the other sharer's Paused = %v, want just under 1m", got)
	}
	if got := other.Paused(ctx); got != 0 {
		t.Errorf("another application's Paused = %v, want 0", got)
	}
	// The key holds the pause's end, in Unix milliseconds.
	raw, err := newClient(t, srv.URL()).Get(ctx, "itwin-export:app-1:pause").Result()
	if err != nil {
		t.Fatal(err)
	}
	end, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || time.UnixMilli(end).Before(time.Now().Add(50*time.Second)) {
		t.Errorf("pause key = %q, want the pause's end in Unix milliseconds", raw)
	}
	// A Wait in the pause waits it out, bounded by its context.
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := b.Wait(wctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait in a pause, context ending first = %v, want context.DeadlineExceeded", err)
	}
}

func TestLimiter_FallsBackWhenRedisStops(t *testing.T) {
	srv := startRedis(t)
	var logs syncBuffer
	l := newLimiter(t, redisbudget.Options{Client: newClient(t, srv.URL()), App: "app-1",
		Budget: wrapper.RateBudget{Requests: 1000, Per: time.Second}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				if err := l.Wait(ctx); err != nil {
					t.Errorf("Wait with Redis stopped = %v, want nil (the process's own budget)", err)
				}
			}
		})
	}
	wg.Wait()
	// The pause is kept by the fallback.
	l.Pause(ctx, time.Minute)
	if got := l.Paused(ctx); got <= 50*time.Second {
		t.Errorf("Paused on the fallback = %v, want just under 1m", got)
	}
	if n := strings.Count(logs.String(), "Redis cannot be reached"); n != 1 {
		t.Errorf("logged %d times that Redis cannot be reached, want once:\n%s", n, logs.String())
	}
}

// A Redis that accepts connections and never answers costs each call a
// round trip's Timeout, once: then the Limiter keeps to its own budget.
func TestLimiter_SilentRedisHangsNoCall(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	var logs syncBuffer
	l := newLimiter(t, redisbudget.Options{Client: newClient(t, "redis://"+ln.Addr().String()), App: "app-1",
		Timeout: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for range 3 {
		if err := l.Wait(context.Background()); err != nil {
			t.Errorf("Wait with a silent Redis = %v, want nil", err)
		}
	}
	if n := strings.Count(logs.String(), "Redis cannot be reached"); n != 1 {
		t.Errorf("logged %d times that Redis cannot be reached, want once:\n%s", n, logs.String())
	}
}

func TestLimiter_FailWithoutRedis(t *testing.T) {
	l := newLimiter(t, redisbudget.Options{Client: newClient(t, "redis://127.0.0.1:"+strconv.Itoa(freePort(t))),
		App: "app-1", FailWithoutRedis: true})
	if err := l.Wait(context.Background()); !errors.Is(err, redisbudget.ErrUnavailable) {
		t.Errorf("Wait = %v, want ErrUnavailable", err)
	}
}

func TestNew_Refuses(t *testing.T) {
	c := newClient(t, "redis://127.0.0.1:1")
	for name, opts := range map[string]redisbudget.Options{
		"no client":       {App: "app"},
		"no app":          {Client: c},
		"negative budget": {Client: c, App: "app", Budget: wrapper.RateBudget{Requests: -1}},
	} {
		if _, err := redisbudget.New(opts); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestNewClient_NeverShowsThePassword(t *testing.T) {
	for _, u := range []string{
		"redis://:s3cretpass@127.0.0.1:notaport",
		"redis://user:s3cretpass@[::1",
		"http://:s3cretpass@127.0.0.1:6379",
		"redis://127.0.0.1:6379/notadb?password=s3cretpass",
		"redis://s3cretpass@127.0.0.1:6379/x",
	} {
		_, err := redisbudget.NewClient(u)
		if err == nil {
			t.Errorf("NewClient(%q) succeeded", redisbudget.RedactURL(u))
			continue
		}
		if strings.Contains(err.Error(), "s3cretpass") {
			t.Errorf("NewClient error shows the password: %v", err)
		}
	}
	if got := redisbudget.RedactURL("rediss://me:s3cretpass@redis.example:6380/2"); got != "rediss://me:REDACTED@redis.example:6380/2" {
		t.Errorf("RedactURL = %q", got)
	}
}

func TestAppKey(t *testing.T) {
	if got := redisbudget.AppKey("my-client", "https://api.bentley.com/export"); got != "my-client" {
		t.Errorf("with a client id: %q", got)
	}
	if got := redisbudget.AppKey("", "https://API.bentley.com/export"); got != "api.bentley.com" {
		t.Errorf("without: %q, want the API's host", got)
	}
}

// TestLimiter_SharesAgainWhenRedisReturns: after an outage the Limiter asks
// Redis again once RetryAfter has passed, says so once, and shares again.
func TestLimiter_SharesAgainWhenRedisReturns(t *testing.T) {
	srv := startRedis(t)
	var logs syncBuffer
	budget := wrapper.RateBudget{Requests: 100, Per: time.Second} // 10ms apart
	l := newLimiter(t, redisbudget.Options{Client: newClient(t, srv.URL()), App: "app-1", Budget: budget,
		RetryAfter: 50 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	srv.Stop()
	if err := l.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	srv = srv.Restart(t)
	// Each Wait on the fallback budget takes 10ms: within 100 of them the
	// 50ms are over and Redis is asked again.
	for i := 0; i < 100 && !strings.Contains(logs.String(), "Redis answers again"); i++ {
		if err := l.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "Redis answers again"); n != 1 {
		t.Fatalf("logged %d times that Redis answers again, want once:\n%s", n, logs.String())
	}
	l.Pause(ctx, time.Minute)
	other := newLimiter(t, redisbudget.Options{Client: newClient(t, srv.URL()), App: "app-1"})
	if got := other.Paused(ctx); got <= 50*time.Second {
		t.Errorf("another sharer's Paused after Redis returned = %v, want just under 1m", got)
	}
}
