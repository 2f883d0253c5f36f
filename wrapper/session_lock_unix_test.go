//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package wrapper_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/wrapper"
)

// TestSessionLock_FIFODoesNotHang: a FIFO where the session file should be is
// refused at once (opening it to read would wait for a writer), and so is
// one at the lock file's path.
func TestSessionLock_FIFODoesNotHang(t *testing.T) {
	st := &wrapper.SessionStore{Path: wrapper.SessionPath(t.TempDir())}
	if err := os.MkdirAll(filepath.Dir(st.Path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(st.Path, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := st.Load()
	var le *wrapper.SessionLoadError
	if !errors.As(err, &le) || !strings.Contains(le.Reason, "not a regular file (a FIFO)") {
		t.Fatalf("Load of a FIFO: %v, want a SessionLoadError saying it is a FIFO", err)
	}

	if err := os.Remove(st.Path); err != nil {
		t.Fatal(err)
	}
	if err := st.Save(&wrapper.Session{ClientID: "app", TokenURL: "https://ims.example.com/token", AccessToken: "at", RefreshToken: "rt",
		Expiry: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(st.LockPath(), 0o600); err != nil {
		t.Fatal(err)
	}
	sess, err := st.Load()
	if err != nil {
		t.Fatal(err)
	}
	src, err := wrapper.SessionTokenSource(st, sess, wrapper.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.TokenContext(context.Background())
	var lockErr *wrapper.SessionLockError
	if !errors.As(err, &lockErr) || !strings.Contains(err.Error(), "not a regular file (a FIFO)") {
		t.Fatalf("refresh with a FIFO as the lock file: %v, want a SessionLockError saying it is a FIFO", err)
	}
}
