package apitest

import (
	"context"
	"sync"
	"time"
)

// Clock tells the server the time; runs advance and windows close on it.
type Clock interface{ Now() time.Time }

// realClock is the Clock of a server whose Options name none: the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// ManualClock is a Clock that moves only when told (safe for concurrent use).
// Tests use it to step runs through their states and to close rate-limit and
// processing windows without sleeping.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a ManualClock that reads start until it is advanced.
func NewManualClock(start time.Time) *ManualClock {
	return &ManualClock{now: start}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sleep advances the clock by d and returns at once: the time of a client
// that waits on this clock (wrapper.Options.Clock) passes without sleeping,
// and runs and rate-limit windows of a server on the same clock move with
// it. It returns context.Cause(ctx) without advancing when ctx has ended.
// Concurrent sleepers each advance the clock by their own d.
func (c *ManualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	if d > 0 {
		c.Advance(d)
	}
	return nil
}
