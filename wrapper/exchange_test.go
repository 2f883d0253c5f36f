package wrapper

import (
	"context"
	"testing"
	"time"
)

// TestWatchdogOnlyWhenALimitCanComeFirst: an attempt whose context ends
// before any per-exchange limit could gets no watchdog (the context ends it
// first either way); any other attempt gets one.
func TestWatchdogOnlyWhenALimitCanComeFirst(t *testing.T) {
	t.Parallel()
	c, err := New(Options{BaseURL: "https://api.example.com/export", TokenSource: StaticToken("t"),
		ResponseHeaderTimeout: time.Minute, BodyIdleTimeout: 30 * time.Second, BodyTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		deadline time.Duration // 0: none
		want     bool
	}{
		{"no deadline", 0, true},
		{"deadline after the idle limit", time.Hour, true},
		{"deadline before every limit", 10 * time.Second, false},
	} {
		ctx := context.Background()
		if tc.deadline > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, tc.deadline)
			defer cancel()
		}
		actx, dog := c.watch(ctx)
		if got := dog != nil; got != tc.want {
			t.Errorf("%s: watchdog %v, want %v", tc.name, got, tc.want)
		}
		if dog == nil && actx != ctx {
			t.Errorf("%s: no watchdog, yet a context of its own", tc.name)
		}
		dog.stop()
	}
}
