package bounded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// Limits bound one exchange; a zero limit is off.
type Limits struct {
	// Header bounds the wait for the response headers once the request is
	// sent.
	Header time.Duration
	// Idle bounds the wait for each byte of the body.
	Idle time.Duration
	// Body bounds the reading of the whole body, from the headers on.
	Body time.Duration
}

// Off reports whether every limit is off.
func (l Limits) Off() bool { return l.Header <= 0 && l.Idle <= 0 && l.Body <= 0 }

// first is the shortest limit that is on.
func (l Limits) first() time.Duration {
	first := time.Duration(1<<63 - 1)
	for _, d := range [...]time.Duration{l.Header, l.Idle, l.Body} {
		if d > 0 {
			first = min(first, d)
		}
	}
	return first
}

// Watchdog ends an exchange that stalls: no response headers within the
// header limit, no body byte within the idle limit, or a body not complete
// within the body limit (a server that drips). It cancels the exchange's
// context with a stall as the cause (see Cause). A nil Watchdog (no limit
// can come first) does nothing. Only the exchange's goroutine calls its
// methods; its timer calls fire.
//
// Moving a timer on every exchange and every read would cost a wake-up of
// the runtime's network poller each time, which a loopback round trip
// feels. So the timer is moved only when the exchange's deadline comes
// before it would go off; a timer that goes off before the deadline (an
// earlier exchange's, or an earlier read's) sets itself again for what is
// left. A busy client moves its timers about once per limit, not once per
// request.
type Watchdog struct {
	timer *time.Timer

	mu           sync.Mutex
	timerAt      time.Time // when the timer goes off; zero when it is not set
	deadline     time.Time // when the exchange stalls; zero when no limit runs
	cancel       context.CancelCauseFunc
	limits       Limits
	bodyDeadline time.Time // set with readingBody
	readingBody  bool
	fresh        bool // the body limits were just set: the first read needs no kick
}

// watchdogs keeps watchdogs for reuse: the usual exchange then costs no new
// timer. A pooled watchdog's timer may still be set: when it goes off, it
// finds no limit running, or the limits of the exchange that took the
// watchdog since.
var watchdogs = sync.Pool{New: func() any {
	w := new(Watchdog)
	w.timer = time.AfterFunc(time.Hour, w.fire)
	w.timer.Stop()
	return w
}}

// Watch returns the context of one exchange and its watchdog, armed for
// the headers. When every limit is off, or ctx ends before any of them
// could (its deadline then ends the exchange whatever the limits), it
// returns ctx itself and a nil Watchdog. The caller calls Stop once the
// exchange is over.
func Watch(ctx context.Context, l Limits) (context.Context, *Watchdog) {
	if l.Off() || deadlineFirst(ctx, l) {
		return ctx, nil
	}
	wctx, cancel := context.WithCancelCause(ctx)
	w := watchdogs.Get().(*Watchdog)
	w.mu.Lock()
	w.cancel, w.limits = cancel, l
	w.readingBody, w.fresh = false, false
	w.armLocked(time.Now(), l.Header)
	w.mu.Unlock()
	return wctx, w
}

// deadlineFirst reports whether ctx ends before any of l could.
func deadlineFirst(ctx context.Context, l Limits) bool {
	deadline, ok := ctx.Deadline()
	// The real clock, as the deadline's and the timers' own.
	return ok && time.Until(deadline) <= l.first()
}

// fire runs when the timer goes off: it ends the exchange whose deadline
// has passed, or sets the timer again for one still running.
func (w *Watchdog) fire() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.timerAt = time.Time{}
	if w.deadline.IsZero() || w.cancel == nil {
		return
	}
	now := time.Now()
	if left := w.deadline.Sub(now); left > 0 {
		w.timer.Reset(left)
		w.timerAt = w.deadline
		return
	}
	w.deadline = time.Time{}
	switch {
	case !w.readingBody:
		w.cancel(&stallError{what: "no response headers within", limit: w.limits.Header})
	case w.limits.Body > 0 && !now.Before(w.bodyDeadline):
		w.cancel(&stallError{what: "body not complete within", limit: w.limits.Body})
	default:
		w.cancel(&stallError{what: "no body byte for", limit: w.limits.Idle})
	}
}

// armLocked sets the deadline to d from now (none when d <= 0), moving the
// timer only when it would go off after the deadline, or not at all.
func (w *Watchdog) armLocked(now time.Time, d time.Duration) {
	if d <= 0 {
		w.deadline = time.Time{}
		return
	}
	w.deadline = now.Add(d)
	if w.timerAt.IsZero() || w.timerAt.After(w.deadline) {
		w.timer.Reset(d)
		w.timerAt = w.deadline
	}
}

// HeadersArrived switches from the header limit to the body limits, for a
// body to read when hasBody; the first read of the body needs no kick.
func (w *Watchdog) HeadersArrived(hasBody bool) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !hasBody {
		w.deadline = time.Time{}
		return
	}
	now := time.Now()
	w.bodyDeadline = now.Add(w.limits.Body)
	w.readingBody = true
	w.armLocked(now, w.bodyLimit(now))
	w.fresh = true
}

// Kick restarts the idle limit before a read of the body, within what is
// left of the body limit; the first read after HeadersArrived finds it
// already set.
func (w *Watchdog) Kick() {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fresh {
		w.fresh = false
		return
	}
	now := time.Now()
	w.armLocked(now, w.bodyLimit(now))
}

// bodyLimit is how long the next read of the body may take from now: the
// idle limit, within what is left of the body limit.
func (w *Watchdog) bodyLimit(now time.Time) time.Duration {
	d := w.limits.Idle
	if w.limits.Body > 0 {
		left := max(w.bodyDeadline.Sub(now), 1)
		if d <= 0 || left < d {
			d = left
		}
	}
	return d
}

// Stop releases the watchdog once the exchange is over, for reuse.
func (w *Watchdog) Stop() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.deadline = time.Time{}
	w.cancel(nil)
	w.cancel = nil
	w.mu.Unlock()
	watchdogs.Put(w)
}

// Cause is err, or the stall that made it when the watchdog ended the
// exchange whose context is ctx. The stall matches os.ErrDeadlineExceeded,
// as a network timeout does.
func (w *Watchdog) Cause(ctx context.Context, err error) error {
	var stall *stallError
	if w != nil && errors.As(context.Cause(ctx), &stall) {
		return stall
	}
	return err
}

// stallError is an exchange ended by a limit.
type stallError struct {
	what  string
	limit time.Duration
}

// Error says which limit ended the exchange.
func (e *stallError) Error() string { return fmt.Sprintf("%s %s", e.what, e.limit) }

// Unwrap makes the stall a deadline, for errors.Is(err, os.ErrDeadlineExceeded).
func (e *stallError) Unwrap() error { return os.ErrDeadlineExceeded }
