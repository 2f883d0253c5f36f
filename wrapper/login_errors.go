package wrapper

import (
	"errors"
	"fmt"
	"time"

	"github.com/itwin-export/itwin-export/wrapper/internal/filelock"
)

// The errors of signing in and of saved sessions; every other error of the
// package is declared in errors.go.

// Sentinels of signing in and of saved sessions.
var (
	// ErrLoginFailed: a sign-in was refused: the browser came back with an
	// error or a foreign state, or the token endpoint refused the code. (A token
	// endpoint that gives no usable answer is a *TokenError matching ErrServer,
	// or a *TransportError, as for any token request.)
	ErrLoginFailed = errors.New("sign-in failed")
	// ErrAuthorizationRequired: the service does not hold the refresh token of
	// the calling user, which runs of User connections need; the user must open
	// the authorization URL first (see AuthorizationRequiredError).
	ErrAuthorizationRequired = errors.New("authorization required")
	// ErrNoSession: nobody has signed in (or they signed out): there is no saved
	// session. It matches fs.ErrNotExist too.
	ErrNoSession = errors.New("no saved session: nobody has signed in")
)

// LoginError is a sign-in that failed; it matches ErrLoginFailed. Its text
// never carries the code, the state or the verifier.
type LoginError struct {
	// Reason says what went wrong.
	Reason string
	// Err is the cause, when there is one (a token endpoint's refusal).
	Err error
}

// Error says the sign-in failed and why.
func (e *LoginError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%v: %s: %v", ErrLoginFailed, e.Reason, e.Err)
	}
	return fmt.Sprintf("%v: %s", ErrLoginFailed, e.Reason)
}

// Is matches ErrLoginFailed.
func (e *LoginError) Is(target error) bool { return target == ErrLoginFailed }

// Unwrap returns the cause.
func (e *LoginError) Unwrap() error { return e.Err }

// AuthorizationRequiredError says where to send the user so that the
// service may run User connections for them. It matches
// ErrAuthorizationRequired.
type AuthorizationRequiredError struct {
	// URL is the authorizationUrl of the authorization information
	// (redacted of any credential).
	URL string
	// Waited is the reason a wait for the user ended without their
	// authorization (the context's cause), or nil when nobody waited.
	Waited error
}

// Error says that authorization is needed and where to give it.
func (e *AuthorizationRequiredError) Error() string {
	s := fmt.Sprintf("%v: the service holds no refresh token of the user; open %s in a browser to authorize it", ErrAuthorizationRequired, e.URL)
	if e.Waited != nil {
		s += fmt.Sprintf(" (stopped waiting: %v)", e.Waited)
	}
	return s
}

// Is matches ErrAuthorizationRequired.
func (e *AuthorizationRequiredError) Is(target error) bool { return target == ErrAuthorizationRequired }

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

// SessionLoadError is a session file that exists but cannot be used; its
// text never quotes the file.
type SessionLoadError struct {
	Path   string
	Reason string
}

// Error names the file and what is wrong with it.
func (e *SessionLoadError) Error() string {
	return fmt.Sprintf("saved session %s cannot be used: %s", e.Path, e.Reason)
}

// SessionLockError is a lock of the saved session that could not be had:
// another process held it for longer than the wait (Err matches
// context.DeadlineExceeded), the context ended first (Err is its cause), or
// the lock file could not be opened (Err is why).
type SessionLockError struct {
	// Path is the lock file.
	Path string
	// Holder says who held the lock, as its record says ("process 1234, for
	// 31s"), when known.
	Holder string
	// Waited is how long this process waited.
	Waited time.Duration
	// Err is why the lock could not be had.
	Err error
}

// Error says what held the lock and for how long this process waited.
func (e *SessionLockError) Error() string {
	if !errors.Is(e.Err, filelock.ErrBusy) && e.Waited == 0 {
		return fmt.Sprintf("cannot lock the saved session (%s): %s", e.Path, reasonOf(e.Err))
	}
	holder := "another process"
	if e.Holder != "" {
		holder += " (" + e.Holder + ")"
	}
	return fmt.Sprintf("the saved session is being refreshed by %s: gave up waiting for its lock %s after %s (%v); try again",
		holder, e.Path, e.Waited.Round(time.Millisecond), e.Err)
}

// Unwrap returns why the lock could not be had.
func (e *SessionLockError) Unwrap() error { return e.Err }
