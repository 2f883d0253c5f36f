package wrapper

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/wrapper/internal/filelock"
)

// TestLoginError_MatchesErrLoginFailed: the text says the sign-in failed
// and why, with the cause when there is one, which Unwrap gives.
func TestLoginError_MatchesErrLoginFailed(t *testing.T) {
	t.Parallel()
	cause := &TokenError{TokenURL: "https://ims/token", StatusCode: 400, Code: "invalid_grant", kind: ErrUnauthorized}
	for _, tc := range []struct {
		err  *LoginError
		want string
	}{
		{&LoginError{Reason: "the browser came back with a foreign state"}, "sign-in failed: the browser came back with a foreign state"},
		{&LoginError{Reason: "the code was refused", Err: cause},
			"sign-in failed: the code was refused: unauthorized: token request to https://ims/token: 400 Bad Request: invalid_grant"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
		if !errors.Is(tc.err, ErrLoginFailed) {
			t.Errorf("%v: not ErrLoginFailed", tc.err)
		}
		if got := errors.Is(tc.err, ErrUnauthorized); got != (tc.err.Err != nil) {
			t.Errorf("%v: errors.Is(ErrUnauthorized) = %t through the cause", tc.err, got)
		}
	}
}

// TestAuthorizationRequiredError_SaysWhereToGo: the authorization URL is in
// the text, and why a wait ended when one did.
func TestAuthorizationRequiredError_SaysWhereToGo(t *testing.T) {
	t.Parallel()
	e := &AuthorizationRequiredError{URL: "https://api.bentley.com/export/authorize"}
	want := "authorization required: the service holds no refresh token of the user; open https://api.bentley.com/export/authorize in a browser to authorize it"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e.Waited = context.DeadlineExceeded
	if got := e.Error(); got != want+" (stopped waiting: context deadline exceeded)" {
		t.Errorf("Error() after a wait = %q", got)
	}
	if !errors.Is(e, ErrAuthorizationRequired) || errors.Is(e, ErrUnauthorized) {
		t.Errorf("Is: %v", e)
	}
}

// TestSessionExpiredError_IsUnauthorized: an expired session is a 401 of
// sorts: sign in again; the refusal stays reachable.
func TestSessionExpiredError_IsUnauthorized(t *testing.T) {
	t.Parallel()
	cause := &TokenError{TokenURL: "https://ims/token", StatusCode: 400, Code: "invalid_grant", kind: ErrUnauthorized}
	e := &SessionExpiredError{Reason: "the refresh token was refused", Err: cause}
	if got, want := e.Error(), "unauthorized: the saved session can no longer be refreshed (the refresh token was refused): sign in again"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var te *TokenError
	if !errors.Is(e, ErrUnauthorized) || !errors.As(e, &te) || te != cause {
		t.Errorf("Is/As: %v", e)
	}
}

// TestSessionLoadError_NamesTheFile: the file and the reason, never its
// content.
func TestSessionLoadError_NamesTheFile(t *testing.T) {
	t.Parallel()
	e := &SessionLoadError{Path: "/home/u/.config/itwin-export/session.json", Reason: "not a session file (the JSON does not decode)"}
	if got, want := e.Error(), "saved session /home/u/.config/itwin-export/session.json cannot be used: not a session file (the JSON does not decode)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestErrNoSession_MatchesNotExist: a missing session matches ErrNoSession
// and fs.ErrNotExist.
func TestErrNoSession_MatchesNotExist(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("%w (%s)", noSession{}, "/tmp/session.json")
	if !errors.Is(err, ErrNoSession) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Is: %v", err)
	}
}

// TestSessionLockError_SaysWhoHeldIt: a busy lock names its holder and the
// wait; a lock that could not be opened says why; Unwrap gives the cause.
func TestSessionLockError_SaysWhoHeldIt(t *testing.T) {
	t.Parallel()
	busy := &SessionLockError{Path: "/s.lock", Holder: "process 1234, for 31s", Waited: 1500 * time.Millisecond,
		Err: fmt.Errorf("%w: %w", filelock.ErrBusy, context.DeadlineExceeded)}
	want := "the saved session is being refreshed by another process (process 1234, for 31s): gave up waiting for its lock /s.lock after 1.5s" +
		" (the lock is held by another process: context deadline exceeded); try again"
	if got := busy.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(busy, context.DeadlineExceeded) {
		t.Error("the cause is lost")
	}
	unopened := &SessionLockError{Path: "/s.lock", Err: &fs.PathError{Op: "open", Path: "/s.lock", Err: fs.ErrPermission}}
	if got, want := unopened.Error(), "cannot lock the saved session (/s.lock): open: permission denied"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
