package wrapper

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
)

// SessionOptions configure SessionTokenSource.
type SessionOptions struct {
	// OnSaveError, when set, hears of a refreshed session that could not be
	// saved back: the token is still used, but the next process will refresh
	// again (and fail, if the identity service rotates refresh tokens).
	OnSaveError func(error)
	// LockWait bounds the wait for the session's lock while another process
	// holds it (it is refreshing the same session); 0 means
	// DefaultSessionLockWait. The context of the token request bounds it too.
	// A wait that runs out is a *SessionLockError.
	LockWait time.Duration
	// OnLockWait, when set, hears once that this process waits for the lock
	// of the session held by another one: lockPath is the lock file, holder
	// who holds it ("process 1234, for 2s") when its record says.
	OnLockWait func(lockPath, holder string)
}

// SessionSource gives the tokens of a signed-in person: the session's access
// token while it is valid, else a new one by the refresh-token grant at the
// session's token URL (x/oauth2's refresh), written back to the store
// before it is used. No client secret is involved: the session belongs to a
// native app. A refresh the token endpoint refuses is a *SessionExpiredError.
// Its token requests never follow a redirect and end with the context of the
// API request that needs the token (30 seconds without a deadline).
//
// Several processes may share one saved session. A refresh takes the
// session's lock (SessionStore.LockPath) and re-reads the saved session
// under it: when another process has refreshed it meanwhile, its token is
// used and nothing is sent; else the session is refreshed and saved before
// the lock is released. With identity services that rotate refresh tokens
// (each good for one use), this is what keeps a second process from spending
// a refresh token already spent. Using a valid token takes no lock.
type SessionSource struct {
	cache       *tokenCache
	store       *SessionStore
	cfg         *oauth2.Config
	onSaveError func(error)
	lockWait    time.Duration
	onLockWait  func(lockPath, holder string)
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
		lockWait:    cmp.Or(opts.LockWait, DefaultSessionLockWait),
		onLockWait:  opts.OnLockWait,
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

// refresh takes the session's lock, uses the saved session when another
// process has refreshed it meanwhile, else makes one refresh-token request
// and saves the new session, then releases the lock.
func (s *SessionSource) refresh(ctx context.Context) (*oauth2.Token, error) {
	var onWait func(string)
	if s.onLockWait != nil {
		onWait = func(holder string) { s.onLockWait(s.store.LockPath(), holder) }
	}
	unlock, err := s.store.lock(ctx, s.lockWait, onWait)
	if err != nil {
		return nil, err
	}
	defer unlock()
	s.mu.Lock()
	sess := s.sess
	s.mu.Unlock()
	if saved := s.savedSession(sess); saved != nil {
		if saved.AccessToken != sess.AccessToken && s.fresh(saved) {
			s.mu.Lock()
			s.sess = saved
			s.mu.Unlock()
			return saved.Token(), nil // refreshed by another process
		}
		sess = saved
	}
	if sess.RefreshToken == "" {
		return nil, &SessionExpiredError{Reason: "the access token has expired and the session holds no refresh token"}
	}
	// A token with only a refresh token is invalid to x/oauth2: its token
	// source refreshes at once.
	tok, err := s.cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: sess.RefreshToken}).Token()
	if err != nil {
		scrub := func(text string) string { return redact.Text(text, append(sess.secrets(), s.secrets...)...) }
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

// savedSession re-reads the saved session, under the lock: nil when there
// is none, it cannot be read, or it belongs to another app or token endpoint
// than sess (then sess is refreshed as it is).
func (s *SessionSource) savedSession(sess *Session) *Session {
	saved, err := s.store.Load()
	if err != nil || saved.ClientID != sess.ClientID || saved.TokenURL != sess.TokenURL {
		return nil
	}
	return saved
}

// fresh reports whether the access token of sess is still valid by the
// rule of the token cache.
func (s *SessionSource) fresh(sess *Session) bool {
	return sess.Expiry.IsZero() || s.cache.now().Before(sess.Expiry.Add(-tokenExpiryMargin))
}
