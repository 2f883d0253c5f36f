//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filelock

import (
	"errors"
	"os"
	"syscall"
)

// openNonBlock opens without waiting for the other end of a FIFO.
const openNonBlock = syscall.O_NONBLOCK

// tryLock takes the flock of the lock file at path (created 0600 when
// missing) without waiting: ErrBusy when another process holds it. The
// kernel releases the lock when the process ends, however it ends. While it
// is held, the file holds the record of this process.
func tryLock(path string) (func(), error) {
	f, err := OpenRegular(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrBusy
		}
		return nil, &os.PathError{Op: "flock", Path: path, Err: err}
	}
	// The record is for people and error messages only: the flock is the lock.
	if f.Truncate(0) == nil {
		_, _ = f.WriteAt(newRecord(), 0)
	}
	return func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
