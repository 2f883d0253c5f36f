package wrapper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy bounds the client's retries. Zero fields take the defaults.
type RetryPolicy struct {
	// MaxAttempts is how many times one call sends its request at most,
	// the first time included. Default 5. 1 disables retries.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the exponential backoff between
	// attempts (with jitter) when the API gives no Retry-After. Defaults 500ms
	// and 30s.
	MinBackoff, MaxBackoff time.Duration
	// MaxRetryAfter caps a Retry-After the client sleeps on. A longer one is
	// not slept on: the call returns at once with an *APIError carrying the
	// wait in RetryAfter. Default 2 minutes.
	MaxRetryAfter time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.MinBackoff <= 0 {
		p.MinBackoff = 500 * time.Millisecond
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 30 * time.Second
	}
	if p.MaxBackoff < p.MinBackoff {
		p.MaxBackoff = p.MinBackoff
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 2 * time.Minute
	}
	return p
}

// backoff is the wait before attempt+1: exponential from MinBackoff, capped
// at MaxBackoff, with "equal jitter" (half fixed, half random).
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.MinBackoff
	for i := 1; i < attempt && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	return d/2 + rand.N(d/2+1)
}

// retryRule says which answers of an operation are retried.
type retryRule int

const (
	// retryIdempotent: 429, 502, 503, 504 and connection failures (GETs).
	retryIdempotent retryRule = iota
	// retryCreate: 409 and 429 only. After a 5xx or a broken connection the
	// resource may exist, so the error goes to the caller.
	retryCreate
	// retryRateLimit: 429 only.
	retryRateLimit
)

func (r retryRule) retriesStatus(status int) bool {
	switch status {
	case http.StatusTooManyRequests:
		return true
	case http.StatusConflict:
		return r == retryCreate
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return r == retryIdempotent
	}
	return false
}

// retryByOperation is the pipeline's retry stage: it sends m again as its
// operation's rule allows, and returns the last answer, whatever its
// status. A 429 or 5xx whose Retry-After exceeds the cap is returned at once,
// not slept on: the caller decides what to do with a long wait. A request
// whose body cannot be had again (no GetBody) is sent once.
func (c *Client) retryByOperation(m *message) (*http.Response, error) {
	ctx, rule := m.ctx, m.op.rule
	resendable := m.req.Body == nil || m.req.Body == http.NoBody || m.req.GetBody != nil
	for m.attempt = 1; ; m.attempt++ {
		if err := rewind(m); err != nil {
			return nil, err
		}
		resp, err := m.next()
		last := !resendable || m.attempt >= c.retry.MaxAttempts
		if err != nil {
			var te *TransportError
			if !errors.As(err, &te) || ctx.Err() != nil || rule != retryIdempotent || last {
				return nil, err
			}
			if err := c.retryWait(ctx, c.retry.backoff(m.attempt), m, "connection failure"); err != nil {
				return nil, err
			}
			continue
		}
		if !rule.retriesStatus(resp.StatusCode) {
			return resp, nil
		}
		wait, hasRetryAfter := parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		if hasRetryAfter && wait > c.retry.MaxRetryAfter {
			return resp, nil
		}
		if resp.StatusCode == http.StatusTooManyRequests && hasRetryAfter {
			// Every request of the client, and of every client sharing its
			// Limiter, waits it out.
			c.limiter.Pause(ctx, wait)
		}
		if last {
			return resp, nil
		}
		if !hasRetryAfter {
			wait = c.retry.backoff(m.attempt)
		}
		if err := c.retryWait(ctx, wait, m, strconv.Itoa(resp.StatusCode)); err != nil {
			return nil, err
		}
	}
}

// rewind gives a request sent before its body again, by GetBody.
func rewind(m *message) error {
	if m.attempt == 1 || m.req.GetBody == nil || m.req.Body == nil || m.req.Body == http.NoBody {
		return nil
	}
	body, err := m.req.GetBody()
	if err != nil {
		return fmt.Errorf("%s: the body cannot be sent again: %w", m.op.name, err)
	}
	m.req.Body = body
	return nil
}

// parseRetryAfter parses a Retry-After value (RFC 9110 section 10.2.3):
// delay-seconds or an HTTP-date, relative to now. A date in the past is a
// zero wait. Garbage, negative numbers and an empty value are not a wait
// (false). Huge values saturate rather than overflow.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return maxDuration, true
			}
			return 0, false
		}
		if secs > uint64(maxDuration/time.Second) {
			return maxDuration, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

const maxDuration = time.Duration(1<<63 - 1)

// retryWait logs a retry and waits d or until ctx ends.
func (c *Client) retryWait(ctx context.Context, d time.Duration, m *message, reason string) error {
	c.log.LogAttrs(ctx, slog.LevelInfo, "retrying",
		slog.String("op", m.op.name), slog.String("reason", reason), slog.Duration("wait", d), slog.Int("attempt", m.attempt))
	return c.wait(ctx, d)
}

// wait waits d on the client's clock, or until ctx ends.
func (c *Client) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	return c.sleep(ctx, d)
}

// sleepCtx is the real clock's sleep: d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
