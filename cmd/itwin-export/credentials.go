package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/wrapper"
)

// sessionCredentials are the credentials of the session login saved, the
// last source resolveCredentials tries. Without a session it is a usage
// error that says what to set or run; idAlone adds that ITWIN_CLIENT_ID is
// set without a secret (it names the native app login signs in through).
func (a *app) sessionCredentials(idAlone bool) (credentials, error) {
	store, err := a.sessionStore()
	var sess *wrapper.Session
	if err == nil {
		sess, err = store.Load()
	}
	switch {
	case errors.Is(err, wrapper.ErrNoSession), err != nil && store == nil:
		hint := ""
		if idAlone {
			hint = fmt.Sprintf(" (%s is set without %s, and nobody has signed in)", envClientID, envClientSecret)
		}
		return credentials{}, usagef("no credentials%s: set %s (or pass --token), set %s and %s for a service app, or run 'itwin-export login' with %s set to your native app's id",
			hint, envAccessToken, envClientID, envClientSecret, envClientID)
	case err != nil:
		return credentials{}, usagef("%v: run 'itwin-export login' again", err)
	}
	src, err := wrapper.SessionTokenSource(store, sess, wrapper.SessionOptions{
		OnSaveError: func(err error) {
			fmt.Fprintf(a.stderr, "itwin-export: warning: the refreshed session could not be saved (%s); the next command may have to sign in again\n", a.out.line(err.Error()))
		},
		OnLockWait: func(lockPath, holder string) {
			if holder != "" {
				holder = " (" + holder + ")"
			}
			fmt.Fprintf(a.stderr, "itwin-export: waiting for another command%s to finish refreshing the saved session (lock %s)\n",
				a.out.line(holder), a.out.line(lockPath))
		},
	})
	if err != nil {
		return credentials{}, usagef("%v: run 'itwin-export login' again", err)
	}
	return credentials{source: signInAgain{src}, secrets: src.Secrets(), from: "the session saved by 'itwin-export login' (" + store.Path + ")"}, nil
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
