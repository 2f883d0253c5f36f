//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filelock

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestLock_Flock: the flock is released with its file's record emptied, and
// a FIFO at the lock's path is refused at once, not waited on.
func TestLock_Flock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "session.json.lock")
	unlock, err := Lock(context.Background(), path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode() != 0o600 {
		t.Fatalf("lock file: %v, %v; want mode 0600", fi, err)
	}
	if _, err := tryLock(path); !errors.Is(err, ErrBusy) {
		t.Errorf("flock held: %v, want ErrBusy", err)
	}
	unlock()
	if b, err := os.ReadFile(path); err != nil || len(b) != 0 {
		t.Errorf("released lock file holds %q (%v), want it empty", b, err)
	}

	fifo := filepath.Join(dir, "fifo.lock")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(context.Background(), fifo, 0, nil); err == nil || errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "not a regular file (a FIFO)") {
		t.Errorf("FIFO at the lock path: %v, want not a regular file (a FIFO)", err)
	}
}
