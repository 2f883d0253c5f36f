// Package redisbudget shares an application's rate budget and its 429
// pause between processes through Redis (or Valkey), as a wrapper.Limiter.
//
// The Export API's rate limits belong to the client application and its
// tier. Processes of one application (jobs of a CronJob, a CI matrix,
// workers) that set Options.Limiter to a Limiter of the same App and Budget
// spend that budget together: requests go one interval apart across all of
// them (the GCRA limiter of github.com/go-redis/redis_rate), and a 429 met by
// one pauses every one of them until its Retry-After passes (a key holding
// the pause's end, expiring then).
//
// Every Redis round trip is bounded by the call's context and
// Options.Timeout. A Redis that cannot be reached never hangs a call: the
// Limiter falls back to a wrapper.LocalLimiter of the same budget, logs it
// once, and asks Redis again after Options.RetryAfter; with
// Options.FailWithoutRedis, Wait fails with ErrUnavailable instead.
//
// This is a module of its own, so that only its users link go-redis.
package redisbudget

import (
	"context"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/itwin-export/itwin-export/internal/redislimit"
	"github.com/itwin-export/itwin-export/wrapper"
)

// Defaults of Options' durations.
const (
	// DefaultTimeout bounds one Redis round trip.
	DefaultTimeout = redislimit.DefaultTimeout
	// DefaultRetryAfter is how long the Limiter spends its own budget after
	// Redis failed before it asks Redis again.
	DefaultRetryAfter = redislimit.DefaultRetryAfter
)

// ErrUnavailable is the class (errors.Is) of Wait's error when Redis
// cannot be reached and Options.FailWithoutRedis is set.
var ErrUnavailable = redislimit.ErrUnavailable

// Options configure a Limiter. Client and App are required.
type Options struct {
	// Client is the Redis client. NewClient makes one whose round trips
	// the Limiter's contexts bound; a client of your own needs
	// ContextTimeoutEnabled for that, and few or no retries.
	Client redis.UniversalClient
	// App names the application whose tier is shared: its client id, or
	// for a token used as is, the API's host (see AppKey), or any name of
	// your choosing. Processes share a budget when App and Budget match,
	// and a pause when App matches.
	App string
	// Budget is the requests per period all sharers send together: set it
	// a little under the tier (490 a minute for 500). Zero: no budget, only
	// the 429 pause is shared.
	Budget wrapper.RateBudget
	// Timeout bounds each Redis round trip, within the call's context.
	// Zero: DefaultTimeout.
	Timeout time.Duration
	// RetryAfter is how long the Limiter keeps to its own budget once Redis
	// failed before asking it again. Zero: DefaultRetryAfter.
	RetryAfter time.Duration
	// FailWithoutRedis makes Wait fail with ErrUnavailable when Redis
	// cannot be reached, instead of falling back to the process's own
	// budget.
	FailWithoutRedis bool
	// Logger receives one Warn record when Redis cannot be reached and one
	// Info record when it answers again. Nil: none.
	Logger *slog.Logger
}

// Limiter is a wrapper.Limiter shared through Redis. It is safe for
// concurrent use; create one per process and give it to every Client.
type Limiter struct {
	l *redislimit.Limiter
}

var _ wrapper.Limiter = (*Limiter)(nil)

// New returns a Limiter. It sends nothing to Redis until used.
func New(opts Options) (*Limiter, error) {
	l, err := redislimit.New(redislimit.Config{Client: opts.Client, App: opts.App, Budget: opts.Budget,
		Timeout: opts.Timeout, RetryAfter: opts.RetryAfter, Strict: opts.FailWithoutRedis, Logger: opts.Logger})
	if err != nil {
		return nil, err
	}
	return &Limiter{l}, nil
}

// Wait returns when the shared pause, if any, has passed and a slot of the
// shared budget has come; early, with the context's cause, when ctx ends.
func (l *Limiter) Wait(ctx context.Context) error { return l.l.Wait(ctx) }

// Pause makes every sharer wait d from now (a 429's Retry-After), unless a
// longer pause runs.
func (l *Limiter) Pause(ctx context.Context, d time.Duration) { l.l.Pause(ctx, d) }

// Paused says how long the shared pause still runs; 0 when none.
func (l *Limiter) Paused(ctx context.Context) time.Duration { return l.l.Paused(ctx) }

// NewClient returns a Redis client for rawURL
// (redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], rediss:// for TLS) set for
// the Limiter: its contexts bound every round trip, and a failed one is not
// retried behind its back. Errors never repeat the password.
func NewClient(rawURL string) (*redis.Client, error) { return redislimit.NewClient(rawURL) }

// RedactURL is rawURL with its password replaced by REDACTED, for logs.
func RedactURL(rawURL string) string { return redislimit.Redact(rawURL) }

// AppKey is the App of an application: its client id when there is one,
// else the host of the API's base URL (a token used as is names no
// application).
func AppKey(clientID, apiURL string) string { return redislimit.AppKey(clientID, apiURL) }
