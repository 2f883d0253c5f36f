package wrapper

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
)

// DefaultAuthorizeURL is the authorization endpoint of the iTwin Platform's
// identity service, where a person signs in.
const DefaultAuthorizeURL = "https://ims.bentley.com/connect/authorize"

// OfflineAccessScope asks for a refresh token, so that a session outlives
// its first access token.
const OfflineAccessScope = "offline_access"

// loginCallbackPath is the path of the loopback redirect URL of a sign-in.
const loginCallbackPath = "/callback"

// LoginConfig names the app a person signs in through: a native (desktop)
// app registration with a loopback redirect URL and no secret.
type LoginConfig struct {
	// ClientID of the native app. Required.
	ClientID string
	// AuthorizeURL and TokenURL of the identity service; empty means
	// DefaultAuthorizeURL and DefaultTokenURL. Both are checked by
	// CheckEndpointURL: https, or http only on a loopback address.
	AuthorizeURL, TokenURL string
	// Port of the loopback redirect listener on 127.0.0.1; 0 picks a free
	// one. Set it when the app registration names a fixed port.
	Port int
}

// Login is a sign-in under way: the browser is to open URL; Wait receives it
// back on the loopback listener and exchanges the code for a session.
type Login struct {
	cfg      *oauth2.Config
	tokenURL string
	verifier string
	state    string
	authURL  string
	listener *loopback
}

// StartLogin prepares a sign-in by the authorization-code grant with PKCE
// (S256): a random state and verifier, and the loopback listener the
// identity service redirects the browser to. Call Wait, then Close.
func StartLogin(cfg LoginConfig) (*Login, error) {
	if cfg.ClientID == "" {
		return nil, &ValidationError{Problems: []Problem{{Field: "ClientID", Message: "the id of a native app is required"}}}
	}
	authorizeURL, err := checkEndpoint("AuthorizeURL", cfg.AuthorizeURL, DefaultAuthorizeURL)
	if err != nil {
		return nil, err
	}
	tokenURL, err := checkEndpoint("TokenURL", cfg.TokenURL, DefaultTokenURL)
	if err != nil {
		return nil, err
	}
	l := &Login{tokenURL: tokenURL, verifier: oauth2.GenerateVerifier(), state: randomState()}
	l.listener, err = listenLoopback(cfg.Port, loginCallbackPath, l.judge)
	if err != nil {
		return nil, err
	}
	l.cfg = &oauth2.Config{
		ClientID:    cfg.ClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: authorizeURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: l.listener.url,
		Scopes:      []string{Scope, OfflineAccessScope},
	}
	l.authURL = l.cfg.AuthCodeURL(l.state, oauth2.S256ChallengeOption(l.verifier))
	return l, nil
}

// checkEndpoint returns raw, or def when raw is empty, once CheckEndpointURL
// accepts it.
func checkEndpoint(field, raw, def string) (string, error) {
	if raw == "" {
		raw = def
	}
	if err := CheckEndpointURL(raw); err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	return raw, nil
}

// randomState is an unguessable state value: 32 random bytes, base64url.
func randomState() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// URL is the authorization URL to open in the person's browser. It carries
// the state and the PKCE challenge, never the verifier.
func (l *Login) URL() string { return l.authURL }

// RedirectURL is the loopback URL the browser comes back to.
func (l *Login) RedirectURL() string { return l.listener.url }

// judge answers the browser's visit of the callback: the flow ends with the
// first visit that carries the sign-in's state. A visit with another state
// (or none), an error= included, is answered 400 with a plain page and
// ignored, so that a forged or stale redirect cannot end the sign-in: the
// listener waits on for the genuine one, as long as Wait's context lasts.
func (l *Login) judge(q url.Values) loopbackPage {
	switch {
	case q.Get("state") == "":
		return loopbackPage{status: http.StatusBadRequest, plain: true, text: "This page expects the redirect of an itwin-export sign-in."}
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(l.state)) != 1:
		return loopbackPage{status: http.StatusBadRequest, plain: true, text: "Sign-in refused: this answer does not belong to the sign-in itwin-export started. Nothing was saved; the sign-in goes on waiting."}
	case q.Get("error") != "":
		return loopbackPage{status: http.StatusOK, done: true, text: "Sign-in failed; see the terminal for details. You can close this window."}
	}
	return loopbackPage{status: http.StatusOK, done: true, text: "Signed in to itwin-export. You can close this window and return to the terminal."}
}

// Wait waits (until ctx ends) for the browser to come back with the
// sign-in's state (visits with another state are refused and ignored),
// exchanges the code with the PKCE verifier and returns the session. The
// listener is closed before it returns.
func (l *Login) Wait(ctx context.Context) (*Session, error) {
	defer l.Close()
	q, err := l.listener.next(ctx)
	if err != nil {
		return nil, fmt.Errorf("waiting for the browser to come back to %s: %w", l.listener.url, err)
	}
	switch {
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(l.state)) != 1:
		return nil, &LoginError{Reason: "the redirect's state does not match the sign-in's (a forged or stale redirect); nothing was saved"}
	case q.Get("error") != "":
		reason := "the identity service answered " + cleanRedirectText(q.Get("error"))
		if d := q.Get("error_description"); d != "" {
			reason += ": " + cleanRedirectText(d)
		}
		return nil, &LoginError{Reason: reason}
	case q.Get("code") == "":
		return nil, &LoginError{Reason: "the redirect carries no authorization code"}
	}
	tctx, cancel := tokenContext(ctx, defaultTokenLimit)
	defer cancel()
	tok, err := l.cfg.Exchange(tctx, q.Get("code"), oauth2.VerifierOption(l.verifier))
	if err != nil {
		scrub := func(text string) string { return redact.Text(text, q.Get("code"), l.verifier) }
		err = classifyTokenError(tctx, l.tokenURL, err, scrub)
		if errors.Is(err, ErrUnauthorized) {
			return nil, &LoginError{Reason: "the token endpoint refused the authorization code", Err: err}
		}
		return nil, fmt.Errorf("exchanging the authorization code: %w", err)
	}
	return (&Session{ClientID: l.cfg.ClientID, TokenURL: l.tokenURL}).withToken(tok), nil
}

// Close stops the loopback listener. It may be called more than once.
func (l *Login) Close() error { return l.listener.close() }

// cleanRedirectText keeps at most 200 bytes of text from a redirect, without control
// characters and redacted.
func cleanRedirectText(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r >= 0x20 && r != 0x7f {
			out = append(out, r)
		}
	}
	s = string(out)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "")
	}
	return redact.Text(s)
}
