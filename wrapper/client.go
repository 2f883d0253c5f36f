package wrapper

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
	"github.com/itwin-export/itwin-export/wrapper/internal/urlcheck"
)

// DefaultBaseURL is the Export API's production base URL.
const DefaultBaseURL = "https://api.bentley.com/export"

const (
	// maxErrorBody is the most of an error body the client reads.
	maxErrorBody = 1 << 20
	// maxSuccessBody is the most of a success body the client reads; a larger
	// one is a malformed response.
	maxSuccessBody = 8 << 20
)

// The limits a Client applies when Options leave them zero: generous for
// the API's small answers, short enough that no call hangs for ever.
const (
	DefaultResponseHeaderTimeout = time.Minute
	DefaultBodyIdleTimeout       = 30 * time.Second
	DefaultBodyTimeout           = 2 * time.Minute
	DefaultMaxPages              = 1000
)

// Options configure a Client. Only TokenSource is required.
type Options struct {
	// BaseURL of the API; DefaultBaseURL when empty. It must be https, or http
	// on a loopback address (for apitest and local fakes).
	BaseURL string
	// StorageURL is the base URL of the Storage API, which downloads use.
	// Empty: BaseURL with its final /export replaced by /storage, else
	// DefaultStorageURL. It must be on BaseURL's scheme, host and port: the
	// token goes to that origin only.
	StorageURL string
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
	// never modified. Every request goes through its Transport, once: no
	// redirect is followed, and its CheckRedirect and Jar are not used. Its
	// Timeout bounds each exchange, from sending the request to the end of
	// the answer's body, as http.Client does. Nil means
	// http.DefaultTransport and no overall timeout: use contexts.
	//
	// The requests for file contents (blob links carrying a signature) go
	// through this Transport only when it is an *http.Transport, which adds
	// no header of its own; any other RoundTripper (a tracing wrapper, one
	// adding credentials) is not used for them: set BlobTransport.
	HTTPClient *http.Client
	// BlobTransport carries the requests for file contents: the signed blob
	// links of downloads, which must go with no credential (the signature
	// is the whole authorization, and Azure refuses a request that carries
	// a bearer token too). Set it to your wrapped transport (tracing,
	// metrics, proxy, private roots) when it adds no Authorization or other
	// credential header. Nil: HTTPClient's Transport when it is an
	// *http.Transport, else http.DefaultTransport.
	BlobTransport http.RoundTripper
	// UserAgent is sent as User-Agent; the default names this library and
	// its version: "itwin-export-go/" + Version.
	UserAgent string
	// Retry bounds retries and waits; zero fields take their defaults.
	Retry RetryPolicy
	// Logger receives, credentials and signatures redacted:
	//   - a Debug record per HTTP exchange with the API, Storage and the
	//     blob store ("http exchange", or "http exchange failed" with the
	//     error): operation, method, URL, status, duration, attempt (token
	//     requests are not logged);
	//   - an Info record per retry backoff ("retrying"): operation, reason
	//     (the status, or "connection failure"), the wait, attempt;
	//   - an Info record per state of a run waited on (WaitRun, Export,
	//     ExportMany), the first seen and each change ("run state"):
	//     connection (the caller's), run, state, result, elapsed;
	//   - Info records of the steps of downloads (starting over, resuming)
	//     and uploads (created, sending, completed, failed).
	// Nil: none.
	Logger *slog.Logger
	// Budget, when set, spaces the client's requests so that it never sends
	// more than Budget.Requests per Budget.Per: set it a little under your
	// rate-limit tier (for example 490 for 500 a minute: the service's
	// windows do not start when yours do) to spend it evenly instead of
	// meeting 429s. Zero: no budget.
	Budget RateBudget
	// Limiter, when set, replaces the client's own budget and 429 pause:
	// share one between clients, or between processes (package redisbudget
	// shares them through Redis), so that they spend one rate-limit tier
	// together and all pause when one meets a 429. Nil: a LocalLimiter of
	// Budget. Setting both is an error.
	Limiter Limiter

	// ResponseHeaderTimeout bounds the wait for an answer's headers once a
	// request is sent, so that a server that never answers cannot hang a
	// call made without a deadline. Zero: DefaultResponseHeaderTimeout;
	// negative: no limit.
	ResponseHeaderTimeout time.Duration
	// BodyIdleTimeout ends the reading of an answer's body when no byte came
	// for this long, so that a server that stalls mid-body cannot hang a
	// call. Zero: DefaultBodyIdleTimeout; negative: no limit.
	BodyIdleTimeout time.Duration
	// BodyTimeout bounds the reading of an answer's whole body, so that a
	// server that drips it a byte at a time cannot hang a call either.
	// Zero: DefaultBodyTimeout; negative: no limit.
	//
	// Each of the three limits ends the attempt with a *TransportError whose
	// cause matches os.ErrDeadlineExceeded; GETs retry it like a dropped
	// connection. They bound one exchange, whatever the context says: a
	// context deadline bounds the whole call.
	BodyTimeout time.Duration
	// MaxPages bounds how many pages a listing (Connections, Runs) fetches:
	// a listing whose links go on past it ends with an ErrMalformedResponse
	// instead of running, and growing, forever. Zero: DefaultMaxPages.
	MaxPages int

	// Wait is the client's default for the WaitOptions of every wait
	// (WaitRun, Export, ExportMany): a zero field of a call's WaitOptions
	// takes the field of Wait, and a field zero in both takes its default.
	// Set it once, for example MinInterval in tests or OnProgress for a
	// service's logging, instead of passing it to every call.
	Wait WaitOptions
	// Clock tells the client the time and does its waiting: the waits
	// between polls, Retry-After and retry backoffs, the rate budget and the
	// client-wide 429 pause. Nil: the real clock. Tests of code that uses a
	// Client set one that moves without sleeping, such as
	// apitest.ManualClock shared with the fake service, so that a run
	// taking minutes and a Retry-After of seconds cost no wall time. A
	// Limiter set in Options keeps its own clock.
	Clock Clock
}

// Clock is the time as a Client sees it (Options.Clock). It must be safe
// for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits d, then returns nil; when ctx ends first it returns
	// context.Cause(ctx) at once.
	Sleep(ctx context.Context, d time.Duration) error
}

// RateBudget is a number of requests per period.
type RateBudget struct {
	Requests int           // how many requests at most
	Per      time.Duration // in how long; default one minute
}

// Client calls the Export API. It is safe for concurrent use; create one and
// share it.
type Client struct {
	// base is the API base URL in canonical form (see urlcheck.Base): every
	// URL the client calls is built under it or checked against it.
	base   *url.URL
	tokens oauth2.TokenSource
	// roundTripper and timeout are Options.HTTPClient's Transport and
	// Timeout (pipeline_transport.go).
	roundTripper http.RoundTripper
	timeout      time.Duration
	// pipe sends every request to the API (pipeline.go); server is the base
	// URL as the generated request builders take it; api and storageAPI are
	// the generated clients on the API's and the Storage API's base URLs,
	// both sending through pipe.
	pipe       *pipeline
	server     string
	api        *api.ClientWithResponses
	storageAPI *api.Client
	// Header values, made once: the request headers share them, which the
	// http.RoundTripper contract (never modify the request) allows.
	userAgent []string
	retry     RetryPolicy
	log       *slog.Logger
	storage   storageBase // the Storage API's base URL (download.go)
	// blobTransport is Options.BlobTransport (download_file.go).
	blobTransport http.RoundTripper
	secrets       []string                  // known secrets to scrub from error text (client secret)
	lastToken     atomic.Pointer[sentToken] // the token last sent, scrubbed from error text too
	// secretsScrubber removes secrets; the scrubber of the token last sent
	// removes the token too.
	secretsScrubber *redact.Scrubber

	headerTimeout, idleTimeout, bodyTimeout time.Duration // per exchange; 0: no limit
	maxPages                                int

	// now and sleep are the client's clock: time.Now and sleepCtx, replaced
	// by tests that assert the waits the client computes.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	// syncFile syncs a download's temporary file: (*os.File).Sync,
	// replaced by tests that make the disk fail (see partfile.Durable).
	syncFile func(*os.File) error

	// limiter spends the request budget and holds the rate-limit pause:
	// when any request gets a 429 with Retry-After, every request waits it
	// out instead of each discovering it (limiter.go).
	limiter Limiter

	// waitDefaults is Options.Wait, under every call's WaitOptions.
	waitDefaults WaitOptions
}

// New returns a Client. It fails when the options cannot work: no token
// source, a StaticToken of a blank token (an error matching ErrValidation),
// or a base URL that is not absolute https (http only on loopback).
func New(opts Options) (*Client, error) {
	if opts.TokenSource == nil {
		return nil, errors.New("wrapper.New: Options.TokenSource is required (see StaticToken and ClientCredentials)")
	}
	if st, ok := opts.TokenSource.(staticToken); ok && strings.TrimSpace(st.tok.AccessToken) == "" {
		// The server would answer every request with 401; say it here.
		return nil, &ValidationError{Problems: []Problem{{Field: "Options.TokenSource", Message: "StaticToken was given a blank token"}}}
	}
	raw := opts.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, problem := urlcheck.Base(raw)
	if problem != "" {
		return nil, fmt.Errorf("wrapper.New: base URL %q %s", redact.URL(raw), problem)
	}
	if base.Scheme == "http" && !urlcheck.IsLoopback(base.Hostname()) {
		return nil, fmt.Errorf("wrapper.New: base URL %q: %w", base, ErrInsecureToken)
	}
	c := &Client{
		base:          base,
		tokens:        opts.TokenSource,
		roundTripper:  http.DefaultTransport,
		blobTransport: opts.BlobTransport,
		userAgent:     []string{cmp.Or(opts.UserAgent, "itwin-export-go/"+Version)},
		retry:         opts.Retry.withDefaults(),
		log:           cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		headerTimeout: limit(opts.ResponseHeaderTimeout, DefaultResponseHeaderTimeout),
		idleTimeout:   limit(opts.BodyIdleTimeout, DefaultBodyIdleTimeout),
		bodyTimeout:   limit(opts.BodyTimeout, DefaultBodyTimeout),
		maxPages:      cmp.Or(max(opts.MaxPages, 0), DefaultMaxPages),
		now:           time.Now,
		sleep:         sleepCtx,
		syncFile:      (*os.File).Sync,
		waitDefaults:  opts.Wait,
	}
	if hc := opts.HTTPClient; hc != nil {
		c.roundTripper = cmp.Or[http.RoundTripper](hc.Transport, c.roundTripper)
		c.timeout = hc.Timeout
	}
	if opts.Clock != nil {
		c.now, c.sleep = opts.Clock.Now, opts.Clock.Sleep
	}
	if c.limiter = opts.Limiter; c.limiter == nil {
		// On the client's clock, read at each call: tests replace it.
		c.limiter = newLocalLimiter(opts.Budget, func() time.Time { return c.now() },
			func(ctx context.Context, d time.Duration) error { return c.sleep(ctx, d) })
	} else if opts.Budget.Requests > 0 {
		return nil, errors.New("wrapper.New: set Options.Budget or Options.Limiter, not both: a Limiter spends its own budget")
	}
	var err error
	if c.storage, err = newStorageBase(opts.StorageURL, c); err != nil {
		return nil, err
	}
	c.secrets = append(c.secrets, opts.Secrets...)
	if s, ok := opts.TokenSource.(interface{ Secrets() []string }); ok {
		c.secrets = append(c.secrets, s.Secrets()...)
	}
	c.secretsScrubber = redact.NewScrubber(c.secrets)
	c.pipe = c.newPipeline()
	c.server = c.base.String() + "/"
	c.api, err = api.NewClientWithResponses(c.server, api.WithHTTPClient(c.pipe))
	if err == nil && c.storage.url != nil {
		c.storageAPI, err = api.NewClient(c.storage.url.String(), api.WithHTTPClient(c.pipe))
	}
	if err != nil {
		return nil, fmt.Errorf("wrapper.New: %w", err)
	}
	return c, nil
}

// limit is an Options duration: zero takes def, a negative one means none.
func limit(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// baseURL is the API base URL the client calls, in canonical form.
func (c *Client) baseURL() string { return c.base.String() }

// transportCause strips *url.Error, whose text repeats the full URL.
func transportCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
