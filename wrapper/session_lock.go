package wrapper

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/itwin-export/itwin-export/wrapper/internal/filelock"
)

// The lock of a session: a file beside the session file (its name and
// ".lock") that a process holds while it re-reads, refreshes and saves the
// session, so that two processes which find the access token expired at once
// refresh it once. It is a flock where the system has one, released by the
// kernel however its process ends; package wrapper/internal/filelock says
// how it works elsewhere. The file holds only a record of its holder
// (process id and since when), never a token.

// lockSuffix follows the session file's name in the name of its lock file.
const lockSuffix = ".lock"

// DefaultSessionLockWait is how long a refresh waits for the lock of the
// session while another process holds it (SessionOptions.LockWait).
const DefaultSessionLockWait = 30 * time.Second

// sessionLocking is false only in builds made to show what the lock
// prevents (the itwinexport_nosessionlock build tag, for tests).
var sessionLocking = true

// LockPath is the lock file of the session: the session file's name and
// ".lock", beside it.
func (st *SessionStore) LockPath() string { return st.Path + lockSuffix }

// lock takes the lock of the session, waiting up to wait (and no longer than
// ctx) while another process holds it; onWait hears once that it waits, and
// of whom. It returns the function that releases the lock.
func (st *SessionStore) lock(ctx context.Context, wait time.Duration, onWait func(holder string)) (func(), error) {
	if !sessionLocking {
		return func() {}, nil
	}
	path := st.LockPath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, &SessionLockError{Path: path, Err: err}
	}
	unlock, err := filelock.Lock(ctx, path, wait, onWait)
	var busy *filelock.BusyError
	switch {
	case errors.As(err, &busy):
		return nil, &SessionLockError{Path: path, Holder: busy.Holder, Waited: busy.Waited, Err: busy.Err}
	case err != nil:
		return nil, &SessionLockError{Path: path, Err: err}
	}
	return unlock, nil
}
