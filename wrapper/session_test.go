package wrapper_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/wrapper"
)

func TestSessionStore_SavesLoadsAndDeletes(t *testing.T) {
	dir := t.TempDir()
	st := &wrapper.SessionStore{Path: wrapper.SessionPath(dir)}
	if _, err := st.Load(); !errors.Is(err, wrapper.ErrNoSession) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load without a session = %v, want ErrNoSession", err)
	}
	want := &wrapper.Session{ClientID: "app", TokenURL: "https://ims.example.com/token", AccessToken: "at-1", RefreshToken: "rt-1",
		TokenType: "Bearer", Expiry: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := st.Save(want); err != nil {
		t.Fatal(err)
	}
	for path, mode := range map[string]os.FileMode{st.Path: 0o600, filepath.Dir(st.Path): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode(), err, mode)
		}
	}
	got, err := st.Load()
	if diff := cmp.Diff(want, got); err != nil || diff != "" {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	// An interrupted save leaves a temporary file: Delete takes it too.
	if err := os.WriteFile(filepath.Join(filepath.Dir(st.Path), ".session-123.tmp"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if existed, err := st.Delete(); !existed || err != nil {
		t.Fatalf("Delete = %v, %v", existed, err)
	}
	if _, err := os.Stat(filepath.Dir(st.Path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the session directory is still there: %v", err)
	}
	if existed, err := st.Delete(); existed || err != nil {
		t.Errorf("second Delete = %v, %v; want false, nil", existed, err)
	}
}

func TestSessionStore_RefusesABrokenFile(t *testing.T) {
	st := &wrapper.SessionStore{Path: wrapper.SessionPath(t.TempDir())}
	for _, content := range []string{`{"access_token":"secret-at-9"`, `{"access_token":"secret-at-9"}`, strings.Repeat(" ", 70<<10) + "{}"} {
		if err := os.MkdirAll(filepath.Dir(st.Path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(st.Path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := st.Load()
		var le *wrapper.SessionLoadError
		if !errors.As(err, &le) || strings.Contains(err.Error(), "secret-at-9") {
			t.Errorf("Load of %.30q = %v, want a SessionLoadError that does not quote the file", content, err)
		}
	}
}
