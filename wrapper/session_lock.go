package wrapper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The lock of a session: a file beside the session file (its name and
// ".lock") that a process holds while it re-reads, refreshes and saves the
// session, so that two processes which find the access token expired at once
// refresh it once. Where the system has flock(2) (Linux, macOS, the BSDs),
// the lock is a flock on that file: the kernel releases it when its process
// ends, however it ends, so a lock is never left behind by a process that
// died. Elsewhere the lock is the file itself, created exclusively and
// removed on release; a lock file older than staleLockAge is taken to be left
// by a process that died, and replaced. Either way the file holds only a
// record of its holder (process id and since when), never a token.

// lockSuffix follows the session file's name in the name of its lock file.
const lockSuffix = ".lock"

// DefaultSessionLockWait is how long a refresh waits for the lock of the
// session while another process holds it (SessionOptions.LockWait).
const DefaultSessionLockWait = 30 * time.Second

// staleLockAge is the age beyond which a plain lock file (systems without
// flock) is taken to be left by a process that died: far beyond the bound of
// a refresh (defaultTokenLimit) and a save.
const staleLockAge = 2 * time.Minute

// lockPoll bounds the interval at which a busy lock is tried again.
const (
	lockPollFirst = 5 * time.Millisecond
	lockPollMax   = 100 * time.Millisecond
)

// sessionLocking is false only in builds made to show what the lock
// prevents (the itwinexport_nosessionlock build tag, for tests).
var sessionLocking = true

// errLockBusy: another process holds the lock.
var errLockBusy = errors.New("the lock is held by another process")

// lockRecord is what a lock file holds while its lock is held: who holds it
// and since when. No secret.
type lockRecord struct {
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
}

// newLockRecord is the record of this process, now.
func newLockRecord() []byte {
	b, _ := json.Marshal(lockRecord{PID: os.Getpid(), Since: time.Now().UTC().Truncate(time.Second)})
	return append(b, '\n')
}

// holderOf describes the holder of the lock file at path from its record:
// "process 1234, for 3s", or "" when the record cannot be read.
func holderOf(path string, now time.Time) string {
	f, err := openRegular(path, os.O_RDONLY)
	if err != nil {
		return ""
	}
	defer f.Close()
	var rec lockRecord
	if err := json.NewDecoder(io.LimitReader(f, 1024)).Decode(&rec); err != nil || rec.PID <= 0 {
		return ""
	}
	if rec.Since.IsZero() {
		return fmt.Sprintf("process %d", rec.PID)
	}
	return fmt.Sprintf("process %d, for %s", rec.PID, now.Sub(rec.Since).Round(time.Second))
}

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
	start := time.Now()
	deadline := start.Add(wait)
	interval := lockPollFirst
	for notified := false; ; notified = true {
		unlock, err := tryLock(path)
		if err == nil {
			return unlock, nil
		}
		if !errors.Is(err, errLockBusy) {
			return nil, &SessionLockError{Path: path, Err: err}
		}
		if !notified && onWait != nil {
			onWait(holderOf(path, time.Now()))
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, &SessionLockError{Path: path, Holder: holderOf(path, time.Now()), Waited: time.Since(start),
				Err: fmt.Errorf("%w: %w", errLockBusy, context.DeadlineExceeded)}
		}
		timer := time.NewTimer(min(interval, left))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, &SessionLockError{Path: path, Holder: holderOf(path, time.Now()), Waited: time.Since(start),
				Err: fmt.Errorf("%w: %w", errLockBusy, context.Cause(ctx))}
		case <-timer.C:
		}
		interval = min(2*interval, lockPollMax)
	}
}

// openRegular opens path without blocking (a FIFO at path would block an
// open for reading until a writer comes) and refuses anything but a regular
// file: a session or lock file is never a FIFO, a device or a directory.
func openRegular(path string, flag int) (*os.File, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: path, Err: errNotRegular{fi.Mode().Type()}}
	}
	f, err := os.OpenFile(path, flag|openNonBlock, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat() // the file opened, not the one first seen
	if err == nil && !fi.Mode().IsRegular() {
		err = &fs.PathError{Op: "open", Path: path, Err: errNotRegular{fi.Mode().Type()}}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// errNotRegular: a path that should be a regular file is something else.
type errNotRegular struct{ mode fs.FileMode }

func (e errNotRegular) Error() string {
	kind := "not a regular file"
	switch {
	case e.mode&fs.ModeNamedPipe != 0:
		kind += " (a FIFO)"
	case e.mode&fs.ModeDir != 0:
		kind += " (a directory)"
	case e.mode&fs.ModeDevice != 0, e.mode&fs.ModeCharDevice != 0:
		kind += " (a device)"
	case e.mode&fs.ModeSocket != 0:
		kind += " (a socket)"
	}
	return kind
}

// tryLockFile takes the lock the way of systems without flock: by creating
// the lock file exclusively, with the record of this process in it. A lock
// file older than staleLockAge is removed first: its process died.
func tryLockFile(path string) (func(), error) {
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, werr := f.Write(newLockRecord())
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil {
				os.Remove(path)
				return nil, werr
			}
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		fi, serr := os.Lstat(path)
		if serr != nil || attempt > 0 || !fi.Mode().IsRegular() || time.Since(lockSince(path, fi)) < staleLockAge {
			if serr == nil && !fi.Mode().IsRegular() {
				return nil, &fs.PathError{Op: "open", Path: path, Err: errNotRegular{fi.Mode().Type()}}
			}
			return nil, errLockBusy
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
}

// lockSince is when the holder of a plain lock file took it: its record's
// time, else the file's modification time.
func lockSince(path string, fi fs.FileInfo) time.Time {
	b, err := os.ReadFile(path)
	var rec lockRecord
	if err == nil && json.Unmarshal(b, &rec) == nil && !rec.Since.IsZero() {
		return rec.Since
	}
	return fi.ModTime()
}
