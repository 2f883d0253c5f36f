package wrapper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// DefaultBaseURL is the Export API's production base URL.
const DefaultBaseURL = "https://api.bentley.com/export"

// AcceptHeader is the media type the API recommends; the client sends it on
// every request.
const AcceptHeader = "application/vnd.bentley.itwin-platform.v1+json"

const (
	// maxErrorBody is the most of an error body the client reads.
	maxErrorBody = 1 << 20
	// maxSuccessBody is the most of a success body the client reads; a larger
	// one is a malformed response.
	maxSuccessBody = 8 << 20
)

// Options configure a Client. Only TokenSource is required.
type Options struct {
	// BaseURL of the API; DefaultBaseURL when empty. It must be https, or http
	// on a loopback address (for apitest and local fakes).
	BaseURL string
	// TokenSource gives the bearer tokens. See StaticToken and
	// ClientCredentials. A source that implements ContextTokenSource gets
	// the context of each request; one that does not cannot be interrupted.
	TokenSource oauth2.TokenSource
	// Secrets are values scrubbed from every error and log line, in every
	// encoding (percent-encoded, base64, JSON-escaped), besides the tokens
	// the client sends: a client secret or refresh token your TokenSource
	// uses. New adds the Secrets() of a TokenSource that has the method
	// (ClientCredentialsSource); a source wrapped in another (for example
	// oauth2.ReuseTokenSource) hides it, so list them here then. Values
	// shorter than 4 bytes are not hunted: they would match ordinary text.
	Secrets []string
	// HTTPClient is the client whose Transport and Timeout are used; it is
	// never modified (the Client builds its own http.Client on the same
	// Transport, which does not follow redirects). Nil means
	// http.DefaultTransport and no overall timeout: use contexts.
	HTTPClient *http.Client
	// UserAgent is sent as User-Agent; a default names this library.
	UserAgent string
	// Retry bounds retries and waits; zero fields take their defaults.
	Retry RetryPolicy
	// Logger receives one Debug record per HTTP exchange (method, redacted
	// URL, status, duration, attempt) and an Info record per wait. Nil: none.
	Logger *slog.Logger
	// Budget, when set, spaces the client's requests so that it never sends
	// more than Budget.Requests per Budget.Per: set it a little under your
	// rate-limit tier (for example 490 for 500 a minute: the service's
	// windows do not start when yours do) to spend it evenly instead of
	// meeting 429s. Zero: no budget.
	Budget RateBudget
}

// RateBudget is a number of requests per period.
type RateBudget struct {
	Requests int           // how many requests at most
	Per      time.Duration // in how long; default one minute
}

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

// Client calls the Export API. It is safe for concurrent use; create one and
// share it.
type Client struct {
	base     *url.URL
	baseURL  string // base without a trailing slash, as the generated builders want it
	host     string // base's host name, port and escaped path + "/", for checks on every request
	port     string
	basePath string
	origin   string // scheme://host of the base URL, as url.URL.String writes it
	tokens   oauth2.TokenSource
	http     *http.Client
	// Header values, made once: the request headers share them, which the
	// http.RoundTripper contract (never modify the request) allows.
	userAgent []string
	retry     RetryPolicy
	log       *slog.Logger
	secrets   []string                  // known secrets to scrub from error text (client secret)
	lastToken atomic.Pointer[sentToken] // the token last sent, scrubbed from error text too
	// secretsScrubber removes secrets; the scrubber of the token last sent
	// removes the token too.
	secretsScrubber *scrubber

	// pauseUntil is a client-wide rate-limit pause: when any request gets a
	// 429 with Retry-After, every request waits it out instead of each
	// discovering it.
	pauseMu    sync.Mutex
	pauseUntil time.Time

	// nextSlot is when the client's request budget lets the next request go;
	// spacing is the time between two requests (zero without a budget).
	spacing  time.Duration
	nextSlot time.Time
}

// New returns a Client. It fails when the options cannot work: no token
// source, or a base URL that is not absolute https (http only on loopback).
func New(opts Options) (*Client, error) {
	if opts.TokenSource == nil {
		return nil, errors.New("wrapper.New: Options.TokenSource is required (see StaticToken and ClientCredentials)")
	}
	raw := opts.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("wrapper.New: base URL %q must be an absolute http(s) URL", redactURL(raw))
	}
	if base.User != nil || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("wrapper.New: base URL %q must have no userinfo, query or fragment", redactURL(raw))
	}
	if base.Scheme == "http" && !isLoopback(base.Hostname()) {
		return nil, fmt.Errorf("wrapper.New: base URL %q: %w", base, ErrInsecureToken)
	}
	transport := http.DefaultTransport
	var timeout time.Duration
	if opts.HTTPClient != nil {
		if opts.HTTPClient.Transport != nil {
			transport = opts.HTTPClient.Transport
		}
		timeout = opts.HTTPClient.Timeout
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = "itwin-export-go"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Client{
		base:    base,
		baseURL: base.String(),
		tokens:  opts.TokenSource,
		http: &http.Client{
			Transport: transport,
			Timeout:   timeout,
			// Never follow: a 303 names an active run the caller must see,
			// and a redirect would carry the request to a URL nobody vetted.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		host:      base.Hostname(),
		port:      effectivePort(base),
		basePath:  base.EscapedPath() + "/",
		origin:    (&url.URL{Scheme: base.Scheme, Host: base.Host}).String(),
		userAgent: []string{ua},
		retry:     opts.Retry.withDefaults(),
		log:       log,
	}
	if b := opts.Budget; b.Requests > 0 {
		per := b.Per
		if per <= 0 {
			per = time.Minute
		}
		c.spacing = per / time.Duration(b.Requests)
	}
	c.secrets = append(c.secrets, opts.Secrets...)
	if s, ok := opts.TokenSource.(interface{ Secrets() []string }); ok {
		c.secrets = append(c.secrets, s.Secrets()...)
	}
	c.secretsScrubber = newScrubber(c.secrets)
	return c, nil
}

// BaseURL returns the API base URL the client calls.
func (c *Client) BaseURL() string { return c.baseURL }

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sameOrigin reports whether u has the API's scheme, host and port.
func (c *Client) sameOrigin(u *url.URL) bool {
	return u.User == nil && strings.EqualFold(u.Scheme, c.base.Scheme) &&
		strings.EqualFold(u.Hostname(), c.host) && effectivePort(u) == c.port
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
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

// exchange is a finished HTTP exchange: the response's status, header and
// (bounded) body, and the request's method and URL.
type exchange struct {
	op       string
	method   string
	url      *url.URL
	status   int
	header   http.Header
	body     []byte
	attempts int
}

// request is what one call sends: a method, a URL and an optional JSON body.
type request struct {
	op     string
	method string
	url    *url.URL
	body   []byte
	rule   retryRule
}

// do sends r, retrying as its rule allows, and returns the final exchange.
// Statuses are not judged here, except that a 429 whose Retry-After exceeds
// the cap returns at once as an *APIError.
func (c *Client) do(ctx context.Context, r request) (*exchange, error) {
	for attempt := 1; ; attempt++ {
		if err := c.waitPause(ctx); err != nil {
			return nil, err
		}
		x, err := c.send(ctx, r, attempt)
		if err != nil {
			var te *TransportError
			if !errors.As(err, &te) || ctx.Err() != nil || r.rule != retryIdempotent || attempt >= c.retry.MaxAttempts {
				return nil, err
			}
			if err := c.sleep(ctx, c.retry.backoff(attempt), r, attempt, "connection failure"); err != nil {
				return nil, err
			}
			continue
		}
		if !r.rule.retriesStatus(x.status) {
			return x, nil
		}
		wait, hasRetryAfter := retryAfter(x.header, time.Now())
		if hasRetryAfter && wait > c.retry.MaxRetryAfter {
			// Not slept on: the caller decides what to do with a long wait.
			return nil, c.apiError(x)
		}
		if x.status == http.StatusTooManyRequests && hasRetryAfter {
			c.pause(wait)
		}
		if attempt >= c.retry.MaxAttempts {
			return x, nil
		}
		if !hasRetryAfter {
			wait = c.retry.backoff(attempt)
		}
		if err := c.sleep(ctx, wait, r, attempt, strconv.Itoa(x.status)); err != nil {
			return nil, err
		}
	}
}

// send makes one attempt.
func (c *Client) send(ctx context.Context, r request, attempt int) (*exchange, error) {
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	// An empty URL is not parsed at all: r.url, already built and checked,
	// goes in as it is, exact escaping included.
	req, err := http.NewRequestWithContext(ctx, r.method, "", body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.op, err)
	}
	req.URL, req.Host = r.url, r.url.Host
	// Canonical keys and ready-made values, written directly: Header.Set
	// would canonicalize the keys and allocate new values on every request.
	req.Header["Accept"] = acceptValue
	req.Header["User-Agent"] = c.userAgent
	if r.body != nil {
		req.Header["Content-Type"] = jsonValue
	}
	if err := c.authorize(req); err != nil {
		return nil, fmt.Errorf("%s: %w", r.op, err)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		if c.log.Enabled(ctx, slog.LevelDebug) {
			c.log.LogAttrs(ctx, slog.LevelDebug, "http exchange failed",
				slog.String("op", r.op), slog.String("method", r.method), slog.String("url", c.redactURL(r.url.String())),
				slog.Duration("duration", time.Since(start)), slog.Int("attempt", attempt), slog.String("error", c.scrub(transportCause(err).Error())))
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s %s: %w", r.op, r.method, c.redactURL(r.url.String()), context.Cause(ctx))
		}
		return nil, &TransportError{Operation: r.op, Method: r.method, URL: c.redactURL(r.url.String()), Err: scrubbedError{transportCause(err), c.scrub(transportCause(err).Error())}}
	}
	x := &exchange{op: r.op, method: r.method, url: r.url, status: resp.StatusCode, header: resp.Header, attempts: attempt}
	limit := int64(maxSuccessBody)
	if resp.StatusCode >= 400 {
		limit = maxErrorBody
	}
	x.body, err = readBody(resp.Body, resp.ContentLength, limit)
	if c.log.Enabled(ctx, slog.LevelDebug) {
		c.log.LogAttrs(ctx, slog.LevelDebug, "http exchange",
			slog.String("op", r.op), slog.String("method", r.method), slog.String("url", c.redactURL(r.url.String())),
			slog.Int("status", resp.StatusCode), slog.Duration("duration", time.Since(start)), slog.Int("attempt", attempt))
	}
	if errors.Is(err, errBodyTooLarge) {
		if resp.StatusCode >= 400 {
			return x, nil // the excerpt is all an error needs
		}
		return nil, &ResponseError{Operation: r.op, Method: r.method, URL: c.redactURL(r.url.String()), StatusCode: resp.StatusCode,
			Reason: fmt.Sprintf("body larger than %d bytes", limit), Body: excerpt(x.body, c.knownSecrets()...), kind: ErrMalformedResponse}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s %s: reading body: %w", r.op, r.method, c.redactURL(r.url.String()), context.Cause(ctx))
		}
		return nil, &TransportError{Operation: r.op, Method: r.method, URL: c.redactURL(r.url.String()), Err: scrubbedError{err, "reading body: " + c.scrub(err.Error())}}
	}
	return x, nil
}

var errBodyTooLarge = errors.New("body too large")

// readBody reads body to its end, at most limit bytes of it, and closes it:
// a body read to EOF lets the connection be reused. Past limit it returns what it
// read and errBodyTooLarge; a declared length (Content-Length, or -1) past
// limit is refused before reading. The buffer doubles as it fills, so a body
// costs at most about twice its size, never more than twice the limit.
func readBody(body io.ReadCloser, declared, limit int64) ([]byte, error) {
	defer body.Close()
	switch {
	case declared > limit:
		return nil, errBodyTooLarge
	case declared == 0:
		return nil, nil // nothing to read: the transport has ended the body
	}
	size := int64(4 << 10)
	if declared >= 0 {
		size = declared + 1 // +1 sees a body longer than it declared
	}
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf[:limit], errBodyTooLarge
			}
			grown := make([]byte, len(buf), min(2*cap(buf), int(limit+1)))
			copy(grown, buf)
			buf = grown
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return buf, err
		}
	}
	if int64(len(buf)) > limit {
		return buf[:limit], errBodyTooLarge
	}
	return buf, nil // read to EOF: the connection can be reused
}

// authorize attaches the bearer token, only for the API's own origin and
// never over plain http except to loopback. A ContextTokenSource gets the
// request's context.
func (c *Client) authorize(req *http.Request) error {
	if !c.sameOrigin(req.URL) {
		return &LocationError{Location: c.redactURL(req.URL.String()), Reason: "not the API's scheme, host and port", kind: ErrForeignLocation}
	}
	// The URL is on the base URL's origin, which New checked is https or
	// loopback: a bearer token never goes over plain http elsewhere.
	tok, err := c.token(req.Context())
	if err != nil {
		return fmt.Errorf("getting a token: %w", scrubbedError{err, c.scrub(err.Error())})
	}
	// The header of the token last sent is kept: the same token (the usual
	// case) costs no new string, and its value is scrubbed from errors.
	last := c.lastToken.Load()
	if last == nil || last.token != tok.AccessToken || last.tokenType != tok.TokenType {
		last = c.newSentToken(last, tok)
		c.lastToken.Store(last)
	}
	req.Header["Authorization"] = last.header
	return nil
}

// token asks the token source for a token within ctx when it can.
func (c *Client) token(ctx context.Context) (*oauth2.Token, error) {
	if s, ok := c.tokens.(ContextTokenSource); ok {
		return s.TokenContext(ctx)
	}
	tok, err := c.tokens.Token()
	if err == nil && ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return tok, err
}

// scrub redacts free text with the client's known secrets.
func (c *Client) scrub(s string) string { return c.scrubber().scrub(s) }

// scrubber removes the client's known secrets: the one of the token last
// sent, or the client's own before any token was sent.
func (c *Client) scrubber() *scrubber {
	if last := c.lastToken.Load(); last != nil {
		return last.scrubber
	}
	return c.secretsScrubber
}

// sentToken is a token as last sent, with its Authorization header value
// and a scrubber of the client's secrets and the tokens it sent.
type sentToken struct {
	token, tokenType string
	header           []string
	sent             []string // this token and the few sent before it
	scrubber         *scrubber
}

// tokensRemembered is how many tokens the client scrubs: the one it sends
// and the ones before it, which a slow answer may still echo.
const tokensRemembered = 4

// newSentToken makes the sentToken of tok, which follows prev (nil for
// the first).
func (c *Client) newSentToken(prev *sentToken, tok *oauth2.Token) *sentToken {
	sent := []string{tok.AccessToken}
	if prev != nil {
		sent = append(sent, prev.sent[:min(len(prev.sent), tokensRemembered-1)]...)
	}
	return &sentToken{token: tok.AccessToken, tokenType: tok.TokenType, header: []string{tok.Type() + " " + tok.AccessToken},
		sent: sent, scrubber: newScrubber(append(c.secrets[:len(c.secrets):len(c.secrets)], sent...))}
}

// The values of the Accept and Content-Type headers of every request.
var (
	acceptValue = []string{AcceptHeader}
	jsonValue   = []string{"application/json"}
)

// knownSecrets are the client's secrets and the tokens it sent.
func (c *Client) knownSecrets() []string {
	if last := c.lastToken.Load(); last != nil {
		return append(c.secrets[:len(c.secrets):len(c.secrets)], last.sent...)
	}
	return c.secrets
}

// TransportError is a request that got no usable answer: the connection
// failed, was reset or dropped mid-body. The URL is redacted.
type TransportError struct {
	Operation, Method, URL string // the request; URL redacted
	Err                    error  // the cause
}

// Error names the request and the cause.
func (e *TransportError) Error() string {
	return fmt.Sprintf("no answer: %s %s: %v", e.Method, e.URL, e.Err)
}

// Unwrap returns the cause (for example a *net.OpError or io.ErrUnexpectedEOF).
func (e *TransportError) Unwrap() error { return e.Err }

// scrubbedError keeps an error's identity for errors.Is/As while showing a
// redacted text.
type scrubbedError struct {
	err  error
	text string
}

// Error returns the redacted text.
func (e scrubbedError) Error() string { return e.text }

// Unwrap returns the original error.
func (e scrubbedError) Unwrap() error { return e.err }

// transportCause strips *url.Error, whose text repeats the full URL.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	return ParseRetryAfter(h.Get("Retry-After"), now)
}

// ParseRetryAfter parses a Retry-After value (RFC 9110 section 10.2.3):
// delay-seconds or an HTTP-date, relative to now. A date in the past is a
// zero wait. Garbage, negative numbers and an empty value are not a wait
// (false). Huge values saturate rather than overflow.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
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

// sleep waits d or until ctx ends.
func (c *Client) sleep(ctx context.Context, d time.Duration, r request, attempt int, reason string) error {
	c.log.LogAttrs(ctx, slog.LevelInfo, "retrying",
		slog.String("op", r.op), slog.String("reason", reason), slog.Duration("wait", d), slog.Int("attempt", attempt))
	return sleepCtx(ctx, d)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// pause makes every request of the client wait d from now.
func (c *Client) pause(d time.Duration) {
	until := time.Now().Add(d)
	c.pauseMu.Lock()
	if until.After(c.pauseUntil) {
		c.pauseUntil = until
	}
	c.pauseMu.Unlock()
}

// waitPause waits out a client-wide rate-limit pause, if any, then takes the
// next slot of the request budget.
func (c *Client) waitPause(ctx context.Context) error {
	c.pauseMu.Lock()
	now := time.Now()
	start := c.pauseUntil
	if c.spacing > 0 {
		start = maxTime(maxTime(start, now), c.nextSlot)
		c.nextSlot = start.Add(c.spacing)
	}
	c.pauseMu.Unlock()
	return sleepCtx(ctx, start.Sub(now))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
