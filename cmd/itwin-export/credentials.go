package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode"

	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/wrapper"
)

// Environment variables of signing in.
const (
	envAuthorizeURL  = "ITWIN_AUTHORIZE_URL"
	envXDGConfigHome = "XDG_CONFIG_HOME"
	envHome          = "HOME"
)

// credentials are the token source a command uses, the secrets the client
// must scrub besides the tokens it sends, and where they came from (for
// --verbose).
type credentials struct {
	source  oauth2.TokenSource
	secrets []string
	from    string
}

// resolveCredentials picks the credentials, first match wins: the --token
// flag (flagToken) or ITWIN_ACCESS_TOKEN; then ITWIN_CLIENT_ID with
// ITWIN_CLIENT_SECRET (client credentials); then the session saved by
// login. None, or one that cannot work, is a usage error saying what to set
// or run.
func (a *app) resolveCredentials(flagToken string) (*credentials, error) {
	token, from := flagToken, "--token"
	if token == "" {
		token, from = a.getenv(envAccessToken), envAccessToken
	}
	if token != "" {
		if strings.TrimSpace(token) == "" || strings.ContainsFunc(token, unicode.IsControl) {
			return nil, usagef("%s: the token is blank or holds control characters", from)
		}
		return &credentials{source: wrapper.StaticToken(token), from: from + " (a token used as is)"}, nil
	}
	id, secret := a.getenv(envClientID), a.getenv(envClientSecret)
	if id != "" && secret != "" {
		src, err := wrapper.ClientCredentials(id, secret, a.getenv(envTokenURL))
		if err != nil {
			return nil, usagef("%s: %v", envTokenURL, err)
		}
		return &credentials{source: src, from: "client credentials of " + envClientID + " (service app)"}, nil
	}
	creds, err := a.sessionCredentials()
	if errors.Is(err, wrapper.ErrNoSession) {
		hint := ""
		if id != "" {
			hint = fmt.Sprintf(" (%s is set without %s, and nobody has signed in)", envClientID, envClientSecret)
		}
		return nil, usagef("no credentials%s: set %s (or pass --token), set %s and %s for a service app, or run 'itwin-export login' with %s set to your native app's id",
			hint, envAccessToken, envClientID, envClientSecret, envClientID)
	}
	return creds, err
}

// sessionCredentials are the credentials of the session login saved.
func (a *app) sessionCredentials() (*credentials, error) {
	store, err := a.sessionStore()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", wrapper.ErrNoSession, err) // nowhere to look for one
	}
	sess, err := store.Load()
	if err != nil {
		if errors.Is(err, wrapper.ErrNoSession) {
			return nil, err
		}
		return nil, usagef("%v: run 'itwin-export login' again", err)
	}
	src, err := wrapper.SessionTokenSource(store, sess, wrapper.SessionOptions{
		OnSaveError: func(err error) {
			fmt.Fprintf(a.stderr, "itwin-export: warning: the refreshed session could not be saved (%v); the next command may have to sign in again\n", err)
		},
	})
	if err != nil {
		return nil, usagef("%v: run 'itwin-export login' again", err)
	}
	return &credentials{source: signInAgain{src}, secrets: src.Secrets(), from: "the session saved by 'itwin-export login' (" + store.Path + ")"}, nil
}

// signInAgain names the command to run when the saved session is over.
type signInAgain struct{ src *wrapper.SessionSource }

// Token returns a token of the session.
func (s signInAgain) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext returns a token of the session within ctx.
func (s signInAgain) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	tok, err := s.src.TokenContext(ctx)
	var expired *wrapper.SessionExpiredError
	if errors.As(err, &expired) {
		return nil, fmt.Errorf("%w with 'itwin-export login'", err)
	}
	return tok, err
}

// configDir is the user's configuration directory: $XDG_CONFIG_HOME when it
// is an absolute path (the XDG rule), else $HOME/.config.
func (a *app) configDir() (string, error) {
	if dir := a.getenv(envXDGConfigHome); filepath.IsAbs(dir) {
		return dir, nil
	}
	if home := a.getenv(envHome); filepath.IsAbs(home) {
		return filepath.Join(home, ".config"), nil
	}
	return "", usagef("no configuration directory for the session: set %s or %s", envXDGConfigHome, envHome)
}

// sessionStore is where login keeps the session.
func (a *app) sessionStore() (*wrapper.SessionStore, error) {
	dir, err := a.configDir()
	if err != nil {
		return nil, err
	}
	return &wrapper.SessionStore{Path: wrapper.SessionPath(dir)}, nil
}
