package filelock

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLock_BusyError: a second taker of a held lock hears once of the
// holder, then gets a BusyError matching ErrBusy and why it stopped waiting:
// its wait ran out, or its context ended.
func TestLock_BusyError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.json.lock")
	unlock, err := Lock(context.Background(), path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	holder := fmt.Sprintf("process %d, for ", os.Getpid())
	var heard []string
	_, err = Lock(context.Background(), path, 20*time.Millisecond, func(h string) { heard = append(heard, h) })
	var busy *BusyError
	if !errors.As(err, &busy) || !errors.Is(err, ErrBusy) || !errors.Is(err, context.DeadlineExceeded) ||
		!strings.HasPrefix(busy.Holder, holder) || busy.Waited < 20*time.Millisecond {
		t.Fatalf("second taker: %v, want a BusyError naming %q after its wait", err, holder)
	}
	if len(heard) != 1 || !strings.HasPrefix(heard[0], holder) {
		t.Errorf("onWait heard %q, want the holder once", heard)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("interrupted")
	cancel(cause)
	if _, err := Lock(ctx, path, time.Minute, nil); !errors.As(err, &busy) || !errors.Is(err, cause) {
		t.Errorf("taker whose context ended: %v, want a BusyError with the context's cause", err)
	}
}

// TestPlainLockFile: the lock of systems without flock is a file
// created exclusively with the holder's record, removed on release; one older
// than StaleAge was left by a process that died and is taken over.
func TestPlainLockFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "session.json.lock")
	unlock, err := tryLockFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if h := Holder(path, time.Now()); !strings.HasPrefix(h, fmt.Sprintf("process %d, for ", os.Getpid())) {
		t.Errorf("holder %q, want this process", h)
	}
	if _, err := tryLockFile(path); !errors.Is(err, ErrBusy) {
		t.Errorf("second taker: %v, want busy", err)
	}
	unlock()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a released plain lock file is still there: %v", err)
	}

	stale, _ := json.Marshal(record{PID: 999999, Since: time.Now().Add(-StaleAge - time.Minute)})
	if err := os.WriteFile(path, stale, 0o600); err != nil {
		t.Fatal(err)
	}
	unlock, err = tryLockFile(path)
	if err != nil {
		t.Fatalf("stale lock file: %v, want it taken over", err)
	}
	unlock()

	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := tryLockFile(path); err == nil || errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a directory at the lock path: %v, want not a regular file", err)
	}
}
