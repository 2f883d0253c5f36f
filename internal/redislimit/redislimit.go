// Package redislimit is the Redis implementation of wrapper.Limiter behind
// package redisbudget (a module of its own, whose documentation is the
// user's) and the command's --redis-url. It lives in the main module so
// that the command links it without a replace directive, and
// `go install .../cmd/itwin-export@version` keeps working.
package redislimit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/itwin-export/itwin-export/wrapper"
)

// Defaults of Config's durations.
const (
	DefaultTimeout    = 500 * time.Millisecond
	DefaultRetryAfter = 30 * time.Second
)

// KeyPrefix starts every key the limiter writes.
const KeyPrefix = "itwin-export:"

// ErrUnavailable is the class of Wait's error when Redis cannot be reached
// and Config.Strict is set.
var ErrUnavailable = errors.New("redisbudget: Redis cannot be reached")

// Config is redisbudget.Options (see there).
type Config struct {
	Client     redis.UniversalClient
	App        string
	Budget     wrapper.RateBudget
	Timeout    time.Duration
	RetryAfter time.Duration
	Strict     bool
	Logger     *slog.Logger
}

// Limiter is a wrapper.Limiter on Redis: a GCRA budget (redis_rate) and a
// pause key whose value is the pause's end and whose expiry is that end.
type Limiter struct {
	rdb       redis.UniversalClient
	rate      *redis_rate.Limiter
	limit     redis_rate.Limit // zero: no budget, only the pause is shared
	interval  time.Duration    // between two requests of the budget
	budgetKey string
	pauseKey  string
	timeout   time.Duration
	retry     time.Duration
	strict    bool
	log       *slog.Logger
	// local is the fallback while Redis cannot be reached; it also keeps
	// the pauses this process reported, which Redis may not have taken.
	local *wrapper.LocalLimiter

	mu      sync.Mutex
	down    bool      // Redis failed; the local limiter decides
	retryAt time.Time // when to ask Redis again while down
}

// New returns the Limiter of c.
func New(c Config) (*Limiter, error) {
	if c.Client == nil {
		return nil, errors.New("redisbudget.New: Options.Client is required (see NewClient)")
	}
	if strings.TrimSpace(c.App) == "" {
		return nil, errors.New("redisbudget.New: Options.App is required: the application's client id (see AppKey)")
	}
	if c.Budget.Requests < 0 || c.Budget.Per < 0 {
		return nil, errors.New("redisbudget.New: Options.Budget must not be negative")
	}
	l := &Limiter{
		rdb:      c.Client,
		rate:     redis_rate.NewLimiter(c.Client),
		pauseKey: KeyPrefix + c.App + ":pause",
		timeout:  cmp.Or(c.Timeout, DefaultTimeout),
		retry:    cmp.Or(c.RetryAfter, DefaultRetryAfter),
		strict:   c.Strict,
		log:      cmp.Or(c.Logger, slog.New(slog.DiscardHandler)),
		local:    wrapper.NewLocalLimiter(c.Budget),
	}
	if b := c.Budget; b.Requests > 0 {
		per := cmp.Or(b.Per, time.Minute)
		// Burst is how far ahead a slot may be taken: one period. Each
		// caller sleeps until its own slot, so requests still go one
		// interval apart (see reserve).
		l.limit = redis_rate.Limit{Rate: b.Requests, Period: per, Burst: b.Requests}
		l.interval = per / time.Duration(b.Requests)
		l.budgetKey = fmt.Sprintf("%s%s:budget:%d/%s", KeyPrefix, c.App, b.Requests, per)
	}
	return l, nil
}

// Wait waits out the shared pause, then takes a slot of the shared budget
// and waits for it. The pause is asked again once the slot comes, so that
// a 429 met by another process meanwhile holds this request too.
func (l *Limiter) Wait(ctx context.Context) error {
	reserved := false
	for {
		if !l.redisUp() {
			return l.local.Wait(ctx)
		}
		left, err := l.pttl(ctx)
		if err != nil {
			if err := l.failed(ctx, err); err != nil {
				return err
			}
			continue
		}
		// A pause this process set while Redis was away holds it too.
		if left = max(left, l.local.Paused(ctx)); left > 0 {
			if err := sleep(ctx, left); err != nil {
				return err
			}
			reserved = false // the slot passed during the pause: take another
			continue
		}
		if reserved || l.limit.IsZero() {
			return nil
		}
		wait, ok, err := l.reserve(ctx)
		if err != nil {
			if err := l.failed(ctx, err); err != nil {
				return err
			}
			continue
		}
		if ok && wait <= 0 {
			return nil // a slot now, with no pause a moment ago
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		reserved = ok
	}
}

// Pause sets the shared pause to end d from now, unless a longer one runs.
func (l *Limiter) Pause(ctx context.Context, d time.Duration) {
	l.local.Pause(ctx, d)
	if d <= 0 || !l.redisUp() {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	ms := max(d.Milliseconds(), 1)
	if err := pauseScript.Run(rctx, l.rdb, []string{l.pauseKey}, ms).Err(); err != nil {
		_ = l.failed(ctx, err)
	}
}

// Paused says how long the shared pause still runs.
func (l *Limiter) Paused(ctx context.Context) time.Duration {
	if l.redisUp() {
		left, err := l.pttl(ctx)
		if err == nil {
			return left
		}
		if l.failed(ctx, err) != nil {
			return 0
		}
	}
	return l.local.Paused(ctx)
}

// pauseScript sets the pause key to the pause's end (Unix milliseconds on
// the server's clock), expiring then, unless a longer pause runs. It
// answers the milliseconds the pause still runs.
var pauseScript = redis.NewScript(`
local ms = tonumber(ARGV[1])
local left = redis.call("PTTL", KEYS[1])
if left >= ms then
  return left
end
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call("SET", KEYS[1], now + ms, "PX", ms)
return ms
`)

// pttl is how long the shared pause still runs, in one bounded round trip.
func (l *Limiter) pttl(ctx context.Context) (time.Duration, error) {
	rctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	d, err := l.rdb.PTTL(rctx, l.pauseKey).Result()
	if err != nil {
		return 0, err
	}
	l.up()
	switch {
	case d < 0: // -2: no pause (-1, a key without expiry, is not ours)
		return 0, nil
	case d < time.Millisecond:
		return time.Millisecond, nil // under a millisecond left: still paused
	}
	return d, nil
}

// reserve takes the next slot of the budget, in one bounded round trip: ok
// with the wait until the slot, or not ok with the wait before asking again
// (the slots of a whole period are taken). GCRA's theoretical arrival time
// is the next free slot; an allowed request moves it one interval on, and
// ResetAfter is how far the new one lies ahead, so this request's slot is
// one interval before that.
func (l *Limiter) reserve(ctx context.Context) (time.Duration, bool, error) {
	rctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	res, err := l.rate.Allow(rctx, l.budgetKey, l.limit)
	if err != nil {
		return 0, false, err
	}
	l.up()
	if res.Allowed == 0 {
		return max(res.RetryAfter, time.Millisecond), false, nil
	}
	return res.ResetAfter - l.interval, true, nil
}

// redisUp says whether to ask Redis: it answered last time, or it failed
// long enough ago to try again.
func (l *Limiter) redisUp() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.down || !time.Now().Before(l.retryAt)
}

// up notes that Redis answered.
func (l *Limiter) up() {
	l.mu.Lock()
	was := l.down
	l.down = false
	l.mu.Unlock()
	if was {
		l.log.Info("Redis answers again: the budget and the 429 pause are shared again")
	}
}

// failed handles a Redis round trip that failed with err: the context's
// cause when ctx has ended; with Strict, an ErrUnavailable; otherwise nil
// after switching to the local limiter (logged once per outage) until
// RetryAfter has passed.
func (l *Limiter) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if l.strict {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	l.mu.Lock()
	was := l.down
	l.down, l.retryAt = true, time.Now().Add(l.retry)
	l.mu.Unlock()
	if !was {
		l.log.Warn("Redis cannot be reached: this process spends its own budget and pauses alone until it answers again",
			slog.String("err", err.Error()))
	}
	return nil
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// NewClient is redisbudget.NewClient (see there).
func NewClient(rawURL string) (*redis.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix") || (u.Host == "" && u.Scheme != "unix") {
		// Not repeated: url.Parse's error holds the URL, password included,
		// and what is not a URL may be a password pasted alone.
		return nil, errors.New("the Redis URL is not redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], nor rediss:// (TLS)")
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("the Redis URL %q: %s", Redact(rawURL), strings.ReplaceAll(err.Error(), rawURL, Redact(rawURL)))
	}
	// The limiter's timeouts are its contexts': one attempt per round
	// trip, no retries behind its back.
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1
	opts.DialTimeout = min(opts.DialTimeout, 2*time.Second)
	return redis.NewClient(opts), nil
}

// Redact is the URL with its password replaced by REDACTED. A string that
// is not a URL is replaced whole when it may hold one.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		if strings.Contains(rawURL, "@") {
			return "REDACTED"
		}
		return rawURL
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		} else {
			u.User = url.User("REDACTED") // a lone user part may be a password
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "REDACTED")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// AppKey is redisbudget.AppKey (see there).
func AppKey(clientID, apiURL string) string {
	if clientID != "" {
		return clientID
	}
	if u, err := url.Parse(apiURL); err == nil && u.Host != "" {
		return strings.ToLower(u.Host)
	}
	return apiURL
}
