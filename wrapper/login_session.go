package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	// HTTPClient carries the refresh requests (its Transport and Timeout);
	// nil means http.DefaultTransport. Redirects are never followed.
	HTTPClient *http.Client
	// OnSaveError, when set, hears of a refreshed session that could not be
	// saved back: the token is still used, but the next process will refresh
	// again (and fail, if the identity service rotates refresh tokens).
	OnSaveError func(error)
}

// SessionTokenSource gives the tokens of a signed-in person: the session's
// access token while it is valid, else a new one by the refresh-token grant
// at the session's token URL (x/oauth2's refresh), written back to store
// before it is used. No client secret is involved: the session belongs to a
// native app. A refresh the token endpoint refuses is a *SessionExpiredError.
// ctx is used for token requests that come without a context of their own.
func SessionTokenSource(ctx context.Context, store *SessionStore, s *Session, opts SessionOptions) oauth2.TokenSource {
	return &sessionSource{
		ctx:   ctx,
		hc:    opts.HTTPClient,
		store: store,
		sess:  s,
		cfg: &oauth2.Config{
			ClientID: s.ClientID,
			Endpoint: oauth2.Endpoint{TokenURL: s.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
			Scopes:   []string{Scope, OfflineAccessScope},
		},
		onSaveError: opts.OnSaveError,
	}
}

// sessionSource is the TokenSource of a saved session.
type sessionSource struct {
	ctx         context.Context
	hc          *http.Client
	store       *SessionStore
	cfg         *oauth2.Config
	onSaveError func(error)

	mu   sync.Mutex // one refresh at a time: a refresh token is good once
	sess *Session
}

// Token returns a valid token, refreshing the session when needed.
func (s *sessionSource) Token() (*oauth2.Token, error) { return s.TokenContext(s.ctx) }

// TokenContext is Token with the token request bounded by ctx.
func (s *sessionSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := s.sess.Token()
	if tok.Valid() {
		return tok, nil
	}
	if tok.RefreshToken == "" {
		return nil, &SessionExpiredError{Reason: "the access token has expired and the session holds no refresh token"}
	}
	if _, err := checkEndpoint("TokenURL", s.sess.TokenURL, DefaultTokenURL); err != nil {
		return nil, fmt.Errorf("refreshing the session: %w", err)
	}
	fresh, err := s.cfg.TokenSource(tokenContext(ctx, s.hc), tok).Token()
	if err != nil {
		err = classifyTokenError(err, s.sess.secrets()...)
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			return nil, &SessionExpiredError{Reason: "the token endpoint refused the refresh token (invalid_grant)", Err: err}
		}
		return nil, fmt.Errorf("refreshing the session: %w", err)
	}
	s.sess = s.sess.withToken(fresh)
	if err := s.store.Save(s.sess); err != nil && s.onSaveError != nil {
		s.onSaveError(err)
	}
	return s.sess.Token(), nil
}

// secretsToRedact tells a Client to scrub the session's tokens from its
// errors.
func (s *sessionSource) secretsToRedact() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sess.secrets()
}
