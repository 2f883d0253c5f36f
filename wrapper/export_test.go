package wrapper

import (
	"context"
	"time"
)

// SetClock replaces c's clock for a test: now tells the time, sleep waits.
// Set it before c makes any call.
func SetClock(c *Client, now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) {
	c.now, c.sleep = now, sleep
}

// NewLocalLimiterOnClock is NewLocalLimiter on a test's clock.
func NewLocalLimiterOnClock(b RateBudget, now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) *LocalLimiter {
	return newLocalLimiter(b, now, sleep)
}

// TransferBuffer is the size of a download connection's buffer and of the
// checksum's read-back buffer.
const TransferBuffer = transferBuffer
