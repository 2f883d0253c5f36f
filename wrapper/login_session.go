package wrapper

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/oauth2"
)

// SessionExpiredError is a saved session that can no longer give tokens: its
// access token has expired and the token endpoint refused its refresh token
// (invalid_grant: expired, revoked or already used), or it has none. The
// person must sign in again. It matches ErrUnauthorized.
type SessionExpiredError struct {
	// Reason says why, without any token.
	Reason string
	// Err is the token endpoint's refusal, when there was one (redacted).
	Err error
}

// Error says that the session is over and what to do.
func (e *SessionExpiredError) Error() string {
	return fmt.Sprintf("%v: the saved session can no longer be refreshed (%s): sign in again", ErrUnauthorized, e.Reason)
}

// Is matches ErrUnauthorized.
func (e *SessionExpiredError) Is(target error) bool { return target == ErrUnauthorized }

// Unwrap returns the token endpoint's refusal, when there was one.
func (e *SessionExpiredError) Unwrap() error { return e.Err }

// SessionOptions configure SessionTokenSource.
type SessionOptions struct {
	// OnSaveError, when set, hears of a refreshed session that could not be
	// saved back: the token is still used, but the next process will refresh
	// again (and fail, if the identity service rotates refresh tokens).
	OnSaveError func(error)
}

// SessionSource gives the tokens of a signed-in person: the session's access
// token while it is valid, else a new one by the refresh-token grant at the
// session's token URL (x/oauth2's refresh), written back to the store
// before it is used. No client secret is involved: the session belongs to a
// native app. A refresh the token endpoint refuses is a *SessionExpiredError.
// Its token requests never follow a redirect and end with the context of the
// API request that needs the token (30 seconds without a deadline).
type SessionSource struct {
	cache       *tokenCache
	store       *SessionStore
	cfg         *oauth2.Config
	onSaveError func(error)
	secrets     []string

	mu   sync.Mutex // guards sess; the cache runs one refresh at a time
	sess *Session
}

// SessionTokenSource returns the token source of session s, saved in store.
// The session's token URL is checked here, once (see CheckEndpointURL).
func SessionTokenSource(store *SessionStore, s *Session, opts SessionOptions) (*SessionSource, error) {
	if err := CheckEndpointURL(s.TokenURL); err != nil {
		return nil, fmt.Errorf("the saved session's token URL: %w", err)
	}
	src := &SessionSource{
		store: store,
		sess:  s,
		cfg: &oauth2.Config{
			ClientID: s.ClientID,
			Endpoint: oauth2.Endpoint{TokenURL: s.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
			Scopes:   []string{Scope, OfflineAccessScope},
		},
		onSaveError: opts.OnSaveError,
		secrets:     s.secrets(),
	}
	src.cache = newTokenCache(src.refresh)
	src.cache.tok = s.Token()
	return src, nil
}

// Token returns a valid token, bounded by the default limit of 30 seconds.
// A Client calls TokenContext instead.
func (s *SessionSource) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext returns the session's access token while it is valid, else
// refreshes the session within ctx.
func (s *SessionSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	return s.cache.token(ctx)
}

// Secrets returns the session's tokens as they were loaded, for a Client to
// scrub from errors and logs (the token a Client sends is scrubbed anyway).
func (s *SessionSource) Secrets() []string { return append([]string(nil), s.secrets...) }

// Session returns a copy of the session as last refreshed.
func (s *SessionSource) Session() Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.sess
}

// refresh makes one refresh-token request and saves the new session.
func (s *SessionSource) refresh(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	sess := s.sess
	s.mu.Unlock()
	if sess.RefreshToken == "" {
		return nil, &SessionExpiredError{Reason: "the access token has expired and the session holds no refresh token"}
	}
	// A token with only a refresh token is invalid to x/oauth2: its token
	// source refreshes at once.
	tok, err := s.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: sess.RefreshToken}).Token()
	if err != nil {
		scrub := func(text string) string { return redactText(text, append(sess.secrets(), s.secrets...)...) }
		err = classifyTokenError(ctx, s.cfg.Endpoint.TokenURL, err, scrub)
		var te *TokenError
		if errors.As(err, &te) && te.Code == "invalid_grant" {
			return nil, &SessionExpiredError{Reason: "the token endpoint refused the refresh token (invalid_grant)", Err: err}
		}
		return nil, fmt.Errorf("refreshing the session: %w", err)
	}
	next := sess.withToken(tok)
	s.mu.Lock()
	s.sess = next
	s.mu.Unlock()
	if err := s.store.Save(next); err != nil && s.onSaveError != nil {
		s.onSaveError(err)
	}
	return next.Token(), nil
}
