package bounded

import (
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"
)

// TestWatch_OnlyWhenALimitCanComeFirst: an exchange whose context ends
// before any limit could gets no watchdog (the context ends it first either
// way), nor does one with every limit off; any other exchange gets one.
func TestWatch_OnlyWhenALimitCanComeFirst(t *testing.T) {
	t.Parallel()
	limits := Limits{Header: time.Minute, Idle: 30 * time.Second}
	for _, tc := range []struct {
		name     string
		limits   Limits
		deadline time.Duration // 0: none
		want     bool
	}{
		{"no deadline", limits, 0, true},
		{"deadline after the idle limit", limits, time.Hour, true},
		{"deadline before every limit", limits, 10 * time.Second, false},
		{"every limit off", Limits{}, 0, false},
	} {
		ctx := context.Background()
		if tc.deadline > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, tc.deadline)
			defer cancel()
		}
		wctx, dog := Watch(ctx, tc.limits)
		if got := dog != nil; got != tc.want {
			t.Errorf("%s: watchdog %v, want %v", tc.name, got, tc.want)
		}
		if dog == nil && wctx != ctx {
			t.Errorf("%s: no watchdog, yet a context of its own", tc.name)
		}
		dog.Stop()
	}
}

// TestWatchdog_HeaderLimit: no headers within the header limit cancel the
// exchange's context with a stall that matches os.ErrDeadlineExceeded and
// names the limit.
func TestWatchdog_HeaderLimit(t *testing.T) {
	t.Parallel()
	ctx, dog := Watch(context.Background(), Limits{Header: 5 * time.Millisecond, Idle: time.Hour})
	defer dog.Stop()
	<-ctx.Done()
	err := dog.Cause(ctx, ctx.Err())
	if !errors.Is(err, os.ErrDeadlineExceeded) || err.Error() != "no response headers within 5ms" {
		t.Errorf("cause %v, want the header stall matching os.ErrDeadlineExceeded", err)
	}
}

// stalled is a body whose reads wait for ctx's end.
type stalled struct{ ctx context.Context }

func (s stalled) Read([]byte) (int, error) { <-s.ctx.Done(); return 0, context.Cause(s.ctx) }
func (s stalled) Close() error             { return nil }

// TestWatchdog_BodyLimits: once the headers arrived, a body that sends no
// byte within the idle limit, or is not complete within the body limit, is
// ended with the stall that says which.
func TestWatchdog_BodyLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		limits Limits
		want   string
	}{
		{Limits{Header: time.Hour, Idle: 5 * time.Millisecond}, "no body byte for 5ms"},
		{Limits{Header: time.Hour, Idle: time.Hour, Body: 5 * time.Millisecond}, "body not complete within 5ms"},
	} {
		ctx, dog := Watch(context.Background(), tc.limits)
		dog.HeadersArrived(true)
		_, err := ReadAll(stalled{ctx}, -1, 1<<10, dog)
		err = dog.Cause(ctx, err)
		if !errors.Is(err, os.ErrDeadlineExceeded) || err.Error() != tc.want {
			t.Errorf("%+v: %v, want %q matching os.ErrDeadlineExceeded", tc.limits, err, tc.want)
		}
		dog.Stop()
	}
}

// TestWatchdog_CauseKeepsOtherErrors: an exchange the watchdog did not end
// keeps its own error, and a nil watchdog does nothing.
func TestWatchdog_CauseKeepsOtherErrors(t *testing.T) {
	t.Parallel()
	ctx, dog := Watch(context.Background(), Limits{Header: time.Hour})
	dog.HeadersArrived(false)
	if err := dog.Cause(ctx, io.ErrUnexpectedEOF); err != io.ErrUnexpectedEOF {
		t.Errorf("cause %v, want io.ErrUnexpectedEOF", err)
	}
	dog.Stop()
	var none *Watchdog
	none.HeadersArrived(true)
	none.Kick()
	none.Stop()
	if err := none.Cause(context.Background(), io.EOF); err != io.EOF {
		t.Errorf("nil watchdog: cause %v, want io.EOF", err)
	}
}

// TestWatchdog_EarlyTimerSetsItselfAgain: the timer is not moved to a later
// deadline; when it goes off before the deadline (here the header limit's,
// 5ms, while the idle limit of the body runs 60ms), it sets itself again
// for what is left, and the exchange ends at its own limit, never sooner.
// A watchdog reused with its timer still set does the same.
func TestWatchdog_EarlyTimerSetsItselfAgain(t *testing.T) {
	t.Parallel()
	limits := Limits{Header: 5 * time.Millisecond, Idle: 60 * time.Millisecond}
	for range 2 {
		start := time.Now()
		ctx, dog := Watch(context.Background(), limits)
		dog.HeadersArrived(true)
		<-ctx.Done()
		waited := time.Since(start)
		err := dog.Cause(ctx, ctx.Err())
		dog.Stop()
		if err == nil || err.Error() != "no body byte for 60ms" || waited < limits.Idle {
			t.Fatalf("ended after %s with %v, want the idle stall, not before 60ms", waited, err)
		}
	}
	// Stopped with its timer set for an hour on: the next exchange that takes
	// it from the pool is still ended at its own, shorter limit.
	_, dog := Watch(context.Background(), Limits{Header: time.Hour})
	dog.Stop()
	ctx, dog := Watch(context.Background(), Limits{Header: 5 * time.Millisecond})
	defer dog.Stop()
	<-ctx.Done()
	if err := dog.Cause(ctx, ctx.Err()); err == nil || err.Error() != "no response headers within 5ms" {
		t.Errorf("cause %v, want the header stall", err)
	}
}
