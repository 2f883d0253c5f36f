package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
	"github.com/itwin-export/itwin-export/wrapper/internal/urlcheck"
)

// ContextTokenSource is a token source whose requests can be bounded: a
// Client calls TokenContext with the context of the API request that needs
// the token, so a token endpoint that never answers ends with that context.
// Sources without it (any plain oauth2.TokenSource) are called through Token
// and cannot be interrupted by the Client.
type ContextTokenSource interface {
	oauth2.TokenSource
	// TokenContext returns a valid token; requests it makes end with ctx.
	TokenContext(ctx context.Context) (*oauth2.Token, error)
}

// defaultTokenLimit bounds a token request whose context has no deadline:
// a Token call from a wrapper such as oauth2.ReuseTokenSource, or a caller
// that gave a bare context.
const defaultTokenLimit = 30 * time.Second

// tokenExpiryMargin is how long before its expiry a cached token is renewed,
// so that it does not expire between the check and the API's.
const tokenExpiryMargin = 30 * time.Second

// CheckEndpointURL checks a token or authorization endpoint before anything
// is sent to it: an absolute https URL with a host, or http only to a
// loopback address (for local fakes), and no user information. The error
// matches ErrValidation and names the problem, so a command line can report
// a mistyped setting as a usage error.
func CheckEndpointURL(raw string) error {
	if problem := urlcheck.Endpoint(raw); problem != "" {
		return &ValidationError{Problems: []Problem{{Field: "endpoint URL", Message: problem}}}
	}
	return nil
}

// tokenTransport is the transport of every token request: the default
// transport's proxy and TLS settings, with bounds on each step so that a
// silent endpoint cannot hold a request with no deadline of its own.
var tokenTransport = sync.OnceValue(func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 20 * time.Second
	// A token lasts an hour: a connection kept for the next request would
	// only idle.
	t.DisableKeepAlives = true
	return t
})

// tokenHTTPClient is the HTTP client of token requests. It never follows a
// redirect: the request carries the client's credentials, which go only to
// the configured URL. A 3xx comes back to x/oauth2 as a failed answer.
func tokenHTTPClient() *http.Client {
	return &http.Client{
		Transport:     tokenTransport(),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// tokenContext is ctx carrying the token HTTP client for x/oauth2, bounded
// by limit when ctx has no deadline.
func tokenContext(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, tokenHTTPClient())
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, limit)
}

// tokenCache holds the last token of a source and fetches a new one when it
// is missing or about to expire. One fetch runs at a time; callers waiting
// for it still end with their own context.
type tokenCache struct {
	fetch func(ctx context.Context) (*oauth2.Token, error)
	now   func() time.Time // clock seam for tests
	limit time.Duration    // bound of a fetch whose context has no deadline

	sem chan struct{} // holds one value while a caller owns tok
	tok *oauth2.Token
}

func newTokenCache(fetch func(ctx context.Context) (*oauth2.Token, error)) *tokenCache {
	return &tokenCache{fetch: fetch, now: time.Now, limit: defaultTokenLimit, sem: make(chan struct{}, 1)}
}

// token returns the cached token while it is fresh, else a new one.
func (c *tokenCache) token(ctx context.Context) (*oauth2.Token, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { <-c.sem }()
	if t := c.tok; t != nil && t.AccessToken != "" && (t.Expiry.IsZero() || c.now().Before(t.Expiry.Add(-tokenExpiryMargin))) {
		return t, nil
	}
	fctx, cancel := tokenContext(ctx, c.limit)
	defer cancel()
	t, err := c.fetch(fctx)
	if err != nil {
		return nil, err
	}
	c.tok = t
	return t, nil
}

// classifyTokenError turns what x/oauth2 returned for a token request into
// the client's classes: a refusal (4xx) is a *TokenError matching
// ErrUnauthorized, a 429 one matching ErrRateLimited, any other answer (5xx,
// a redirect, a body that is not a token) one matching ErrServer; no answer
// at all is a *TransportError; the end of ctx is returned as its cause.
// scrub removes the source's credentials from the texts kept.
func classifyTokenError(ctx context.Context, tokenURL string, err error, scrub func(string) string) error {
	where := redact.URL(tokenURL)
	if ctx.Err() != nil {
		return fmt.Errorf("token request to %s: %w", where, context.Cause(ctx))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		cause := transportCause(err)
		return &TransportError{Operation: "token", Method: http.MethodPost, URL: where, Err: scrubbedError{cause, scrub(cause.Error())}}
	}
	e := &TokenError{TokenURL: where, Err: scrubbedError{err, scrub(err.Error())}, kind: ErrServer}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		e.Reason = "the answer is not a token: " + scrub(err.Error())
		return e
	}
	if re.Response != nil {
		e.StatusCode = re.Response.StatusCode
	}
	e.Code, e.Description = scrub(re.ErrorCode), scrub(re.ErrorDescription)
	switch s := e.StatusCode; {
	case s == http.StatusTooManyRequests:
		e.kind = ErrRateLimited
	case s >= 400 && s < 500:
		e.kind = ErrUnauthorized
	case s >= 300 && s < 400:
		e.Reason = "token requests never follow redirects"
	case s < 300 && e.Code == "":
		e.Reason = "the answer is not a token"
	}
	return e
}
