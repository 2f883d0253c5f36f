package wrapper

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
)

// CheckUserAuthorization asks the authorization information whether the
// service holds the calling user's refresh token: nil when it does, an
// *AuthorizationRequiredError carrying the authorization URL when it does
// not (the service sends the browser on to redirectURL afterwards), or the
// call's error.
func (c *Client) CheckUserAuthorization(ctx context.Context, redirectURL string) error {
	info, err := c.AuthorizationInformation(ctx, redirectURL)
	if err != nil {
		return err
	}
	malformed := func(reason string) error {
		return &UnusableResponseError{Operation: "getAuthorizationInformation", Method: http.MethodGet, URL: redact.URL(c.baseURL() + "/authorizationinformation"),
			StatusCode: http.StatusOK, Reason: reason, kind: ErrMalformedResponse}
	}
	switch {
	case info.IsUserAuthorized == nil:
		return malformed("no isUserAuthorized")
	case *info.IsUserAuthorized:
		return nil
	case info.Links == nil || info.Links.AuthorizationURL == nil || info.Links.AuthorizationURL.Href == "":
		return malformed("the user is not authorized and no authorizationUrl says where to authorize")
	}
	href := info.Links.AuthorizationURL.Href
	if u, err := url.Parse(href); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return malformed("the authorizationUrl is not an absolute http(s) URL")
	}
	return &AuthorizationRequiredError{URL: redact.URL(href)}
}

// AuthorizeOptions configure AuthorizeUser.
type AuthorizeOptions struct {
	// RedirectURL is where the service sends the browser once the user has
	// authorized. Empty: a page of a loopback listener on 127.0.0.1 that
	// AuthorizeUser serves while it waits; the browser's return there
	// triggers an immediate check.
	RedirectURL string
	// OnAuthorizationURL is called once, when the user must open the URL
	// (print it, open a browser).
	OnAuthorizationURL func(url string)
	// MinInterval and MaxInterval bound the wait between two checks: it
	// starts at MinInterval and doubles up to MaxInterval. Defaults 2s and
	// 15s.
	MinInterval, MaxInterval time.Duration
}

// authorizedPath is the path of the loopback page AuthorizeUser serves.
const authorizedPath = "/authorized"

// AuthorizeUser makes sure the service holds the calling user's refresh
// token before a run of a User connection: when it does not, it hands the
// authorization URL to opts.OnAuthorizationURL and checks again, with
// backoff, until the service reports the user authorized. It ends with ctx:
// then it returns an *AuthorizationRequiredError carrying the URL and the
// reason the wait ended. Set a deadline: a user may never come.
func (c *Client) AuthorizeUser(ctx context.Context, opts AuthorizeOptions) error {
	if opts.MinInterval <= 0 {
		opts.MinInterval = 2 * time.Second
	}
	if opts.MaxInterval < opts.MinInterval {
		opts.MaxInterval = max(15*time.Second, opts.MinInterval)
	}
	redirect, back := opts.RedirectURL, (<-chan url.Values)(nil)
	if redirect == "" {
		lb, err := listenLoopback(0, authorizedPath, func(url.Values) loopbackPage {
			return loopbackPage{status: http.StatusOK, done: true,
				text: "Back in itwin-export: it now checks your authorization. You can close this window and return to the terminal."}
		})
		if err != nil {
			return err
		}
		defer lb.close()
		redirect, back = lb.url, lb.visits
	}
	err := c.CheckUserAuthorization(ctx, redirect)
	var required *AuthorizationRequiredError
	if !errors.As(err, &required) {
		return err
	}
	if opts.OnAuthorizationURL != nil {
		opts.OnAuthorizationURL(required.URL)
	}
	for wait := opts.MinInterval; ; wait = min(2*wait, opts.MaxInterval) {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-back:
			t.Stop()
		case <-ctx.Done():
			t.Stop()
			return &AuthorizationRequiredError{URL: required.URL, Waited: context.Cause(ctx)}
		}
		err := c.CheckUserAuthorization(ctx, redirect)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrAuthorizationRequired):
		case ctx.Err() != nil:
			return &AuthorizationRequiredError{URL: required.URL, Waited: context.Cause(ctx)}
		default:
			return err
		}
	}
}
