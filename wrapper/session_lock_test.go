package wrapper

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

// TestSessionLock_WaitsThenGivesUp: while the lock of a session is held, its
// file holds the holder's record (no token) with mode 0600; another taker
// hears once that it waits, and of whom, then gives up with a
// SessionLockError when its wait or its context runs out. Once released,
// the lock is had at once.
func TestSessionLock_WaitsThenGivesUp(t *testing.T) {
	st := &SessionStore{Path: SessionPath(t.TempDir())}
	if err := st.Save(&Session{ClientID: "app", TokenURL: "https://ims.example.com/token", AccessToken: "at-SECRET-1", RefreshToken: "rt-SECRET-1"}); err != nil {
		t.Fatal(err)
	}
	unlock, err := st.lock(context.Background(), time.Second, func(string) { t.Error("waited for a free lock") })
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(st.LockPath())
	if err != nil || fi.Mode() != 0o600 {
		t.Fatalf("lock file: %v, mode %v; want 0600", err, fi.Mode())
	}
	content, _ := os.ReadFile(st.LockPath())
	var rec struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(content, &rec); err != nil || rec.PID != os.Getpid() || strings.Contains(string(content), "SECRET") {
		t.Fatalf("lock file holds %q, want the record of this process and nothing else", content)
	}

	var heard []string
	_, err = st.lock(context.Background(), 20*time.Millisecond, func(holder string) { heard = append(heard, holder) })
	var le *SessionLockError
	holder := fmt.Sprintf("process %d, for ", os.Getpid())
	if !errors.As(err, &le) || !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(le.Holder, holder) ||
		le.Path != st.LockPath() || !strings.Contains(err.Error(), "try again") {
		t.Fatalf("second taker: %v, want a SessionLockError naming %q that ran out of time", err, holder)
	}
	if len(heard) != 1 || !strings.HasPrefix(heard[0], holder) {
		t.Errorf("onWait heard %q, want once the holder", heard)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("the command was interrupted")
	cancel(cause)
	if _, err := st.lock(ctx, time.Minute, nil); !errors.As(err, &le) || !errors.Is(err, cause) {
		t.Errorf("taker whose context ended: %v, want a SessionLockError with the context's cause", err)
	}

	unlock()
	if content, _ := os.ReadFile(st.LockPath()); len(content) != 0 {
		t.Errorf("a released lock file holds %q", content)
	}
	again, err := st.lock(context.Background(), 0, func(string) { t.Error("waited for a released lock") })
	if err != nil {
		t.Fatal(err)
	}
	again()
	// Delete takes the lock file too.
	if _, err := st.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(st.Path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Delete: %v, want the directory gone", err)
	}
}
