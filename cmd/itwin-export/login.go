package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/cli/browser"
	"github.com/spf13/cobra"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// defaultSignInWait bounds the wait for the person at the browser, for login
// and run --authorize, when --timeout does not say.
const defaultSignInWait = 5 * time.Minute

// openBrowser opens a URL in the system browser (the platform's opener:
// xdg-open, open, rundll32); tests replace it.
var openBrowser = browser.OpenURL

func init() {
	// The opener's own output would land on stdout, which scripts read.
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
}

// showURL prints where the person must go on stderr and, unless noBrowser,
// opens it in the browser too; the URL is printed either way, for a browser
// that does not open or opens elsewhere. The URL may come from a server: it
// is printed through the output filter, and only an http(s) URL free of
// control characters is handed to the browser.
func (a *app) showURL(what, u string, noBrowser bool) {
	shown := a.out.text(u)
	if !noBrowser && isWebURL(u) && openBrowser(u) == nil {
		fmt.Fprintf(a.stderr, "Opened the browser to %s. If it did not open, visit:\n\n  %s\n\n", what, shown)
		return
	}
	fmt.Fprintf(a.stderr, "Open this URL in a browser to %s:\n\n  %s\n\n", what, shown)
}

// isWebURL reports whether u is an absolute http or https URL with a host
// and no control or formatting characters: what a browser may be given.
func isWebURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" && sanitize(u) == u
}

// loginCmd is `itwin-export login`.
type loginCmd struct {
	noBrowser bool
	port      int
	timeout   time.Duration
}

// newLoginCmd returns `itwin-export login`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newLoginCmd(f *factory, runF func(*loginCmd, []string) error) *cobra.Command {
	c := &loginCmd{}
	fs := leaf(f, c, runF, spec{use: "login [--no-browser] [--port N] [--timeout D]", short: "sign in through the browser; later commands use the saved session",
		long: `Sign in through the browser, for people at a terminal: the OAuth2
authorization-code grant with PKCE (S256) for the native (desktop) app whose
id is ` + envClientID + ` (no secret), scopes itwin-platform offline_access. The
browser comes back to a listener on http://127.0.0.1:PORT/callback; register
that redirect URL with the app. The session (access and refresh tokens) is
saved, readable by you only, in itwin-export/ under $` + envXDGConfigHome + `
(else $` + envHome + `/.config); commands without --token, ` + envAccessToken + ` or
client credentials use it and refresh it. stdout stays empty.`,
		examples: []string{
			"login",
			"login --no-browser --port 8400"}})
	fs.BoolVar(&c.noBrowser, "no-browser", false, "do not open a browser: print the URL on stderr only")
	fs.IntVar(&c.port, "port", 0, "`PORT` of the loopback listener on 127.0.0.1 (default a free one)")
	fs.DurationVar(&c.timeout, "timeout", defaultSignInWait, "give up waiting for the browser after `DURATION`")
	return fs.cmd
}

// deadline bounds the wait for the browser.
func (c *loginCmd) deadline() time.Duration { return c.timeout }

// exec signs in and saves the session.
func (c *loginCmd) exec(ctx context.Context, a *app, _ []string) error {
	if c.timeout <= 0 {
		return flagErrorf("--timeout must be positive")
	}
	id := a.getenv(envClientID)
	if id == "" {
		return usagef("login needs %s: the id of your native (desktop) app, registered with the redirect URL http://127.0.0.1/callback", envClientID)
	}
	store, err := a.sessionStore()
	if err != nil {
		return err
	}
	l, err := wrapper.StartLogin(wrapper.LoginConfig{ClientID: id, AuthorizeURL: a.getenv(envAuthorizeURL), TokenURL: a.getenv(envTokenURL), Port: c.port})
	if err != nil {
		return usagef("%v (check %s, %s and --port)", err, envAuthorizeURL, envTokenURL)
	}
	defer l.Close()
	a.showURL("sign in", l.URL(), c.noBrowser)
	fmt.Fprintf(a.stderr, "Waiting up to %s for the browser to come back to %s ...\n", c.timeout, l.RedirectURL())
	sess, err := l.Wait(ctx)
	if err != nil {
		return err
	}
	if err := store.Save(sess); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "Signed in. The session is saved in %s; 'itwin-export logout' deletes it.\n", store.Path)
	if a.getenv(envAccessToken) != "" || a.getenv(envClientSecret) != "" {
		fmt.Fprintf(a.stderr, "note: %s or %s is set, and comes first: unset it to use the session.\n", envAccessToken, envClientSecret)
	}
	return nil
}

// logoutCmd is `itwin-export logout`.
type logoutCmd struct{}

// newLogoutCmd returns `itwin-export logout`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newLogoutCmd(f *factory, runF func(*logoutCmd, []string) error) *cobra.Command {
	c := &logoutCmd{}
	return leaf(f, c, runF, spec{use: "logout", short: "delete the session login saved",
		long: `Delete everything 'itwin-export login' saved: the session file in
itwin-export/ under the configuration directory (and the folder when nothing
else is in it). Signed out already is not an error.`,
		examples: []string{
			"logout"}}).cmd
}

// exec deletes the session.
func (c *logoutCmd) exec(_ context.Context, a *app, _ []string) error {
	store, err := a.sessionStore()
	if err != nil {
		return err
	}
	existed, err := store.Delete()
	if err != nil {
		return err
	}
	if existed {
		fmt.Fprintf(a.stderr, "Signed out: deleted %s\n", store.Path)
	} else {
		fmt.Fprintf(a.stderr, "Not signed in: no session at %s\n", store.Path)
	}
	return nil
}

// authorizeFlags are the flags of run --authorize.
type authorizeFlags struct {
	authorize, noBrowser bool
}

// add registers the flags on fs.
func (f *authorizeFlags) add(fs *flags) {
	fs.BoolVar(&f.authorize, "authorize", false, "for User connections: first make sure the service holds your authorization, sending you to its URL if not")
	fs.BoolVar(&f.noBrowser, "no-browser", false, "with --authorize, print the authorization URL without opening a browser")
}

// authorizeIfAsked runs authorizeUser when --authorize was given; without
// it, nothing is sent.
func (a *app) authorizeIfAsked(ctx context.Context, client *wrapper.Client, f authorizeFlags, timeout time.Duration) error {
	if !f.authorize {
		return nil
	}
	return a.authorizeUser(ctx, client, timeout, f.noBrowser)
}

// authorizeUser makes sure the service holds the user's authorization
// (their refresh token) before a run of a User connection: when it does
// not, the authorization URL goes to stderr (and the browser unless
// noBrowser), and the wait for the user lasts until the service reports
// them authorized, bounded by timeout (default five minutes). A wait that
// ends first is an error of class authorization required, carrying the URL.
func (a *app) authorizeUser(ctx context.Context, client *wrapper.Client, timeout time.Duration, noBrowser bool) error {
	if timeout <= 0 {
		timeout = defaultSignInWait
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, fmt.Errorf("waited %s for the authorization: %w", timeout, context.DeadlineExceeded))
		defer cancel()
	}
	return client.AuthorizeUser(ctx, wrapper.AuthorizeOptions{
		OnAuthorizationURL: func(u string) {
			fmt.Fprintln(a.stderr, "authorization required: runs of User connections need the service to hold your authorization.")
			a.showURL("authorize the Export service", u, noBrowser)
			fmt.Fprintf(a.stderr, "Waiting up to %s for the service to report you authorized ...\n", timeout)
		},
	})
}

// noteUserAuthorization tells on stderr whether runs of a new User
// connection can work yet: whether the service holds the user's
// authorization. A failure to tell is a note too: the connection exists.
func (a *app) noteUserAuthorization(ctx context.Context, client *wrapper.Client, conn *api.ExportConnection) {
	if conn.AuthenticationType != api.AuthenticationTypeUser {
		return
	}
	err := client.CheckUserAuthorization(ctx, defaultRedirectURL)
	switch {
	case err == nil:
		fmt.Fprintln(a.stderr, "authorization: the service holds your authorization; runs of this User connection can start")
	case errors.Is(err, wrapper.ErrAuthorizationRequired):
		fmt.Fprintf(a.stderr, "authorization required: runs of this User connection fail until you authorize the service; 'itwin-export run --connection %s --authorize' does it\n", a.out.text(conn.ID))
	default:
		fmt.Fprintf(a.stderr, "authorization: could not tell whether runs of this User connection need your authorization: %s\n", a.out.line(describe(err)))
	}
}
