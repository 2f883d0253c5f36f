package wrapper

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/itwin-export/itwin-export/wrapper/internal/filelock"
	"golang.org/x/oauth2"
)

// SessionDirName is the folder, under the user's configuration directory,
// that holds what a sign-in saved.
const SessionDirName = "itwin-export"

// sessionFileName is the file of the session in SessionDirName.
const sessionFileName = "session.json"

// maxSessionFile bounds what Load reads: a session is a few hundred bytes.
const maxSessionFile = 64 << 10

// Session is what signing in leaves: the tokens of the person, and the app and
// token endpoint that refresh them. It is saved as JSON; the two tokens are
// secrets, never shown.
type Session struct {
	ClientID     string    `json:"client_id"`
	TokenURL     string    `json:"token_url"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// Token returns the session's tokens in the form x/oauth2 refreshes.
func (s *Session) Token() *oauth2.Token {
	return &oauth2.Token{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken, TokenType: s.TokenType, Expiry: s.Expiry}
}

// withToken returns a copy of s holding tok. A token answer without a new
// refresh token keeps the old one (RFC 6749 section 6 lets the server reuse
// it).
func (s Session) withToken(tok *oauth2.Token) *Session {
	s.AccessToken, s.TokenType, s.Expiry = tok.AccessToken, tok.TokenType, tok.Expiry
	if tok.RefreshToken != "" {
		s.RefreshToken = tok.RefreshToken
	}
	return &s
}

// secrets are the values of s that must never be shown.
func (s *Session) secrets() []string { return []string{s.AccessToken, s.RefreshToken} }

// SessionStore keeps a session in one file, readable by its owner only.
type SessionStore struct {
	// Path of the session file, for example SessionPath(dir).
	Path string
}

// SessionPath is where a session lives under the configuration directory
// configDir (for example $XDG_CONFIG_HOME or $HOME/.config).
func SessionPath(configDir string) string {
	return filepath.Join(configDir, SessionDirName, sessionFileName)
}

// DefaultSessionPath is SessionPath of os.UserConfigDir.
func DefaultSessionPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no configuration directory to keep the session in: %w", err)
	}
	return SessionPath(dir), nil
}

// Load reads the saved session. Without one it returns an error matching
// ErrNoSession. Anything but a regular file at Path (a FIFO, a device, a
// directory) is a *SessionLoadError, found without waiting on it.
func (st *SessionStore) Load() (*Session, error) {
	f, err := filelock.OpenRegular(st.Path, os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (%s)", noSession{}, st.Path)
	}
	if err != nil {
		return nil, &SessionLoadError{Path: st.Path, Reason: reasonOf(err)}
	}
	defer f.Close()
	var s Session
	dec := json.NewDecoder(io.LimitReader(f, maxSessionFile)) // a larger file is cut and fails to decode
	if err := dec.Decode(&s); err != nil {
		return nil, &SessionLoadError{Path: st.Path, Reason: "not a session file (the JSON does not decode)"}
	}
	if s.AccessToken == "" || s.ClientID == "" || s.TokenURL == "" {
		return nil, &SessionLoadError{Path: st.Path, Reason: "access_token, client_id and token_url are required"}
	}
	return &s, nil
}

// noSession matches ErrNoSession and fs.ErrNotExist.
type noSession struct{}

func (noSession) Error() string { return ErrNoSession.Error() }

func (noSession) Is(target error) bool { return target == ErrNoSession || target == fs.ErrNotExist }

// reasonOf is an error's text without the path it repeats.
func reasonOf(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Op + ": " + pe.Err.Error()
	}
	return err.Error()
}

// Save writes s atomically: to a temporary file (mode 0600) in the same
// directory, synced, then renamed over the session file, so that a reader
// sees the old session or the new one, never a part. The directory is
// created with mode 0700.
func (st *SessionStore) Save(s *Session) error {
	dir := filepath.Dir(st.Path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("saving the session: %s", reasonOf(err))
	}
	body, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("saving the session: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".session-*.tmp") // mode 0600
	if err != nil {
		return fmt.Errorf("saving the session: %s", reasonOf(err))
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the session: %s", reasonOf(err))
	}
	if _, err := tmp.Write(append(body, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the session: %s", reasonOf(err))
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the session: %s", reasonOf(err))
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving the session: %s", reasonOf(err))
	}
	if err := os.Rename(tmp.Name(), st.Path); err != nil {
		return fmt.Errorf("saving the session: %s", reasonOf(err))
	}
	return nil
}

// Delete removes everything Save wrote: the session file, temporary files
// left by an interrupted save, the session's lock file, and the directory
// when nothing else is in it.
// It reports whether there was a session to remove.
func (st *SessionStore) Delete() (bool, error) {
	err := os.Remove(st.Path)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("removing the session: %s", reasonOf(err))
	}
	dir := filepath.Dir(st.Path)
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".session-*.tmp"))
	leftovers = append(leftovers, st.LockPath())
	for _, f := range leftovers {
		if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return existed, fmt.Errorf("removing the session: %s", reasonOf(err))
		}
	}
	_ = os.Remove(dir) // fails, as it should, when other files are there
	return existed, nil
}
