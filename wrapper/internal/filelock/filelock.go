// Package filelock is a lock between processes, held on a file: the lock of
// a saved session, which processes that find its access token expired at
// once take so that only one of them refreshes it.
//
// Where the system has flock(2) (Linux, macOS, the BSDs), the lock is a
// flock on the file: the kernel releases it when its process ends, however
// it ends, so a lock is never left behind by a process that died. Elsewhere
// the lock is the file itself, created exclusively and removed on release; a
// lock file older than StaleAge is taken to be left by a process that died,
// and replaced. Either way the file holds only a record of its holder
// (process id and since when), for people and error messages.
package filelock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// ErrBusy is matched by the error of a lock another process holds.
var ErrBusy = errors.New("the lock is held by another process")

// StaleAge is the age beyond which a plain lock file (systems without flock)
// is taken to be left by a process that died: far beyond the time a holder
// keeps it (a token refresh and a save).
const StaleAge = 2 * time.Minute

// The interval at which a busy lock is tried again: from pollFirst,
// doubling up to pollMax.
const (
	pollFirst = 5 * time.Millisecond
	pollMax   = 100 * time.Millisecond
)

// BusyError is a lock another process held for longer than the wait, or
// until the context ended. Err matches ErrBusy and the reason of the end:
// context.DeadlineExceeded for the wait, the context's cause otherwise.
type BusyError struct {
	Holder string        // who holds it, from its record ("process 1234, for 3s"); "" when unknown
	Waited time.Duration // how long this process waited
	Err    error
}

// Error says who holds the lock and why this process stopped waiting.
func (e *BusyError) Error() string {
	return fmt.Sprintf("%v (holder: %q, waited %s)", e.Err, e.Holder, e.Waited)
}

// Unwrap returns Err.
func (e *BusyError) Unwrap() error { return e.Err }

// Lock takes the lock of the file at path (created 0600 when missing; its
// directory must exist), waiting up to wait, and no longer than ctx, while
// another process holds it; onWait (when not nil) hears once that it waits,
// and of whom. It returns the function that releases the lock, a *BusyError
// when the lock stayed held, or why the file could not be locked (a path
// that is not a regular file among them).
func Lock(ctx context.Context, path string, wait time.Duration, onWait func(holder string)) (func(), error) {
	start := time.Now()
	deadline := start.Add(wait)
	interval := pollFirst
	for notified := false; ; notified = true {
		unlock, err := tryLock(path)
		if !errors.Is(err, ErrBusy) {
			return unlock, err
		}
		if !notified && onWait != nil {
			onWait(Holder(path, time.Now()))
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, &BusyError{Holder: Holder(path, time.Now()), Waited: time.Since(start), Err: fmt.Errorf("%w: %w", ErrBusy, context.DeadlineExceeded)}
		}
		timer := time.NewTimer(min(interval, left))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, &BusyError{Holder: Holder(path, time.Now()), Waited: time.Since(start), Err: fmt.Errorf("%w: %w", ErrBusy, context.Cause(ctx))}
		case <-timer.C:
		}
		interval = min(2*interval, pollMax)
	}
}

// record is what a lock file holds while its lock is held: who holds it and
// since when. No secret.
type record struct {
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
}

// newRecord is the record of this process, now.
func newRecord() []byte {
	b, _ := json.Marshal(record{PID: os.Getpid(), Since: time.Now().UTC().Truncate(time.Second)})
	return append(b, '\n')
}

// Holder describes the holder of the lock file at path from its record:
// "process 1234, for 3s" at now, or "" when the record cannot be read.
func Holder(path string, now time.Time) string {
	f, err := OpenRegular(path, os.O_RDONLY)
	if err != nil {
		return ""
	}
	defer f.Close()
	var rec record
	if err := json.NewDecoder(io.LimitReader(f, 1024)).Decode(&rec); err != nil || rec.PID <= 0 {
		return ""
	}
	if rec.Since.IsZero() {
		return fmt.Sprintf("process %d", rec.PID)
	}
	return fmt.Sprintf("process %d, for %s", rec.PID, now.Sub(rec.Since).Round(time.Second))
}

// OpenRegular opens path without blocking (a FIFO at path would block an
// open for reading until a writer comes) and refuses anything but a regular
// file: a session or lock file is never a FIFO, a device or a directory.
// Files it creates have mode 0600.
func OpenRegular(path string, flag int) (*os.File, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: path, Err: notRegularError{fi.Mode().Type()}}
	}
	f, err := os.OpenFile(path, flag|openNonBlock, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat() // the file opened, not the one first seen
	if err == nil && !fi.Mode().IsRegular() {
		err = &fs.PathError{Op: "open", Path: path, Err: notRegularError{fi.Mode().Type()}}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// notRegularError: a path that should be a regular file is something else.
type notRegularError struct{ mode fs.FileMode }

func (e notRegularError) Error() string {
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
// file older than StaleAge is removed first: its process died.
func tryLockFile(path string) (func(), error) {
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, werr := f.Write(newRecord())
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
		if serr != nil || attempt > 0 || !fi.Mode().IsRegular() || time.Since(lockSince(path, fi)) < StaleAge {
			if serr == nil && !fi.Mode().IsRegular() {
				return nil, &fs.PathError{Op: "open", Path: path, Err: notRegularError{fi.Mode().Type()}}
			}
			return nil, ErrBusy
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
	var rec record
	if err == nil && json.Unmarshal(b, &rec) == nil && !rec.Since.IsZero() {
		return rec.Since
	}
	return fi.ModTime()
}
