package wrapper

import (
	"context"
	"errors"
	"net/http"

	"golang.org/x/oauth2"
)

// tokenContext returns ctx carrying the HTTP client of token requests: hc's
// transport and timeout, never following a redirect.
func tokenContext(ctx context.Context, hc *http.Client) context.Context {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if hc != nil {
		c.Transport, c.Timeout = hc.Transport, hc.Timeout
	}
	return context.WithValue(ctx, oauth2.HTTPClient, c)
}

// tokenRefusal is a token endpoint's 4xx answer: it matches ErrUnauthorized
// and unwraps to the *oauth2.RetrieveError, with a redacted text.
type tokenRefusal struct{ scrubbedError }

// Is matches ErrUnauthorized.
func (tokenRefusal) Is(target error) bool { return target == ErrUnauthorized }

// classifyTokenError redacts a token request's error, secrets included, and
// marks a refusal (a 4xx answer) as ErrUnauthorized.
func classifyTokenError(err error, secrets ...string) error {
	s := scrubbedError{err, RedactText(err.Error(), secrets...)}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 400 && re.Response.StatusCode < 500 {
		return tokenRefusal{s}
	}
	return s
}
