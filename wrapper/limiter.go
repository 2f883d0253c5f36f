package wrapper

import (
	"cmp"
	"context"
	"sync"
	"time"
)

// Limiter decides when the client's requests may go: it spends a rate
// budget and holds the pause a 429 asks for. Every request of a Client,
// retries included, waits on it before it is sent, and every 429 with a
// Retry-After is reported to it. The default, NewLocalLimiter, does both for
// one process; a Limiter shared by several processes (package redisbudget,
// a module of its own, does it through Redis) lets them spend one
// application's tier together and pause together.
//
// A Limiter is safe for concurrent use. Its methods are bounded by their
// context: a Limiter whose store cannot be reached must not hang a call.
type Limiter interface {
	// Wait returns when the next request may be sent: the pause, if any,
	// has passed and a slot of the budget is taken. It returns early, with
	// the context's cause, when ctx ends first.
	Wait(ctx context.Context) error
	// Pause makes every request of every sharer wait d from now: the
	// Retry-After of a 429. A shorter pause never cuts a longer one short.
	Pause(ctx context.Context, d time.Duration)
	// Paused says how long the pause still runs; 0 when there is none.
	Paused(ctx context.Context) time.Duration
}

// LocalLimiter is the Limiter of one process: it spaces requests evenly
// within a RateBudget and holds the pause of a 429 for every request that
// shares it. A Client without Options.Limiter has its own; share one between
// Clients of the same application and tier to have them spend one budget.
type LocalLimiter struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	mu sync.Mutex
	// pauseUntil is the end of the pause of the last 429s: every request
	// waits it out instead of each discovering it.
	pauseUntil time.Time
	// nextSlot is when the budget lets the next request go; spacing is the
	// time between two requests (zero without a budget).
	nextSlot time.Time
	spacing  time.Duration
}

// NewLocalLimiter returns a LocalLimiter that spends b (no budget when
// b.Requests is zero: only the pause of 429s is kept).
func NewLocalLimiter(b RateBudget) *LocalLimiter {
	return newLocalLimiter(b, time.Now, sleepCtx)
}

// newLocalLimiter is NewLocalLimiter on the clock now and sleep.
func newLocalLimiter(b RateBudget, now func() time.Time, sleep func(context.Context, time.Duration) error) *LocalLimiter {
	l := &LocalLimiter{now: now, sleep: sleep}
	if b.Requests > 0 {
		l.spacing = cmp.Or(b.Per, time.Minute) / time.Duration(b.Requests)
	}
	return l
}

// Wait waits out the pause, if any, then takes the next slot of the budget.
func (l *LocalLimiter) Wait(ctx context.Context) error {
	l.mu.Lock()
	now := l.now()
	start := l.pauseUntil
	if l.spacing > 0 {
		start = maxTime(maxTime(start, now), l.nextSlot)
		l.nextSlot = start.Add(l.spacing)
	}
	l.mu.Unlock()
	if d := start.Sub(now); d > 0 {
		return l.sleep(ctx, d)
	}
	return ctx.Err()
}

// Pause makes every later Wait wait until d from now.
func (l *LocalLimiter) Pause(_ context.Context, d time.Duration) {
	l.mu.Lock()
	if until := l.now().Add(d); until.After(l.pauseUntil) {
		l.pauseUntil = until
	}
	l.mu.Unlock()
}

// Paused says how long the pause still runs.
func (l *LocalLimiter) Paused(context.Context) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(l.pauseUntil.Sub(l.now()), 0)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
