package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/internal/secretscan"
	"github.com/itwin-export/itwin-export/wrapper"
)

// waitingLine is what a command prints while another holds the lock of the
// saved session.
const waitingLine = "waiting for another command"

// TestConcurrentRefreshOfOneSession: two processes of the built binary
// start on one expired session against a token endpoint that rotates
// refresh tokens and holds each refresh until released. The second finds
// the lock taken and waits; the first's refresh is released only then. Both
// exit 0, the token endpoint sees one refresh grant, and a third command
// uses the refreshed token. Everything printed is searched for every token.
func TestConcurrentRefreshOfOneSession(t *testing.T) {
	c := newSharedSession(t)
	a, b := c.start(t, binPath), c.start(t, binPath)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.s.WaitHeldRefreshes(ctx, 1); err != nil {
		t.Fatalf("no refresh reached the token endpoint: %v", err)
	}
	select { // the other process waits for the lock while the refresh is held
	case <-a.waiting:
	case <-b.waiting:
	case <-ctx.Done():
		t.Fatalf("neither process waits for the lock:\n%s\n%s", a.stderr.String(), b.stderr.String())
	}
	c.s.ReleaseRefreshes()
	for _, p := range []*proc{a, b} {
		wantCode(t, c.keep(p.wait(t)), exitOK)
	}
	if got := grants(tokenForms(t, c.s)); strings.Join(got, " ") != "authorization_code refresh_token" {
		t.Fatalf("token requests %v, want the sign-in and one refresh", got)
	}
	saved, err := c.store.Load()
	if err != nil || saved.AccessToken == c.first.AccessToken || saved.RefreshToken == c.first.RefreshToken {
		t.Fatalf("the saved session (%v) does not hold the refreshed tokens", err)
	}

	third := c.keep(runBinary(t, c.env, "auth-info", "--verbose"))
	wantCode(t, third, exitOK)
	if lastBearer(c.s) != saved.AccessToken || len(tokenForms(t, c.s)) != 2 {
		t.Error("the third command did not use the refreshed token as it is")
	}

	wantModes(t, map[string]os.FileMode{c.store.Path: 0o600, c.store.LockPath(): 0o600})
	lock, err := os.ReadFile(c.store.LockPath())
	if err != nil {
		t.Fatal(err)
	}
	c.scan(t, saved, string(lock))
}

// TestConcurrentRefreshWithoutTheLock: the same two processes, built
// without the session lock (the itwinexport_nosessionlock tag, which only
// tests use), both refresh: the token endpoint holds both refreshes until
// both have arrived, then spends the refresh token on one and refuses the
// other with invalid_grant, whose process exits 4 telling to sign in again.
func TestConcurrentRefreshWithoutTheLock(t *testing.T) {
	unlocked := filepath.Join(t.TempDir(), "itwin-export-nosessionlock")
	args := []string{"build", "-tags", "itwinexport_nosessionlock", "-o", unlocked}
	if raceEnabled {
		args = append(args, "-race")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	c := newSharedSession(t)
	a, b := c.start(t, unlocked), c.start(t, unlocked)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.s.WaitHeldRefreshes(ctx, 2); err != nil {
		t.Fatalf("the two refreshes do not overlap: %v\n%s\n%s", err, a.stderr.String(), b.stderr.String())
	}
	c.s.ReleaseRefreshes()
	ra, rb := c.keep(a.wait(t)), c.keep(b.wait(t))
	codes := []int{ra.code, rb.code}
	sort.Ints(codes)
	if codes[0] != exitOK || codes[1] != exitRefused {
		t.Fatalf("exit codes %v, want %d and %d\n%s\n%s", codes, exitOK, exitRefused, ra.stderr, rb.stderr)
	}
	failed := rb
	if rb.code == exitOK {
		failed = ra
	}
	if !strings.Contains(failed.stderr, "itwin-export: unauthorized: ") || !strings.Contains(failed.stderr, "(invalid_grant)): sign in again") {
		t.Errorf("the refused process does not say invalid_grant and to sign in again:\n%s", failed.stderr)
	}
	if got := grants(tokenForms(t, c.s)); strings.Join(got, " ") != "authorization_code refresh_token refresh_token" {
		t.Errorf("token requests %v, want the sign-in and two refreshes", got)
	}
	saved, err := c.store.Load()
	if err != nil {
		t.Fatal(err)
	}
	c.scan(t, saved)
}

// sharedSession is a person's expired session that processes share, at a
// fake whose token endpoint rotates refresh tokens and holds each refresh
// until released.
type sharedSession struct {
	s       *apitest.Server
	env     map[string]string
	store   *wrapper.SessionStore
	first   *wrapper.Session
	printed strings.Builder
}

// newSharedSession signs in at a new fake and lets the access token expire.
func newSharedSession(t *testing.T) *sharedSession {
	t.Helper()
	s := newFake(t, apitest.Options{OAuth: apitest.OAuthOptions{RefreshTokens: apitest.RotateRefreshTokens, RefreshDelay: time.Minute}})
	c := &sharedSession{s: s, env: loginEnv(t, s)}
	c.store = storeOf(c.env)
	r, _ := loginThroughBrowser(t, c.env)
	wantCode(t, c.keep(r), exitOK)
	first, err := c.store.Load()
	if err != nil {
		t.Fatal(err)
	}
	c.first = first
	expire(t, c.store, first)
	return c
}

// keep adds what a command printed to the text the secret scanner reads.
func (c *sharedSession) keep(r result) result {
	c.printed.WriteString(r.stdout + r.stderr)
	return r
}

// scan searches everything printed, and more, for the tokens of the
// session before and after the refresh.
func (c *sharedSession) scan(t *testing.T, saved *wrapper.Session, more ...string) {
	t.Helper()
	text := c.printed.String() + strings.Join(more, "\n")
	for _, f := range secretscan.Scan(text, c.first.AccessToken, c.first.RefreshToken, saved.AccessToken, saved.RefreshToken) {
		t.Errorf("secret found: %s", f)
	}
	if t.Failed() {
		t.Logf("scanned:\n%s", text)
	}
}

// start runs bin on the shared session: a command that needs a token.
func (c *sharedSession) start(t *testing.T, bin string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	p := &proc{stderr: &lineWatcher{want: waitingLine, seen: make(chan struct{})}}
	p.waiting = p.stderr.seen
	p.cmd = exec.CommandContext(ctx, bin, "connections", "--imodel", "imodel-shared", "--verbose")
	p.cmd.Env = envList(c.env)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	p.ended = sync.OnceValue(func() error { defer cancel(); return p.cmd.Wait() })
	t.Cleanup(func() { cancel(); _ = p.ended() }) // ends it only if the test failed first
	return p
}

// proc is a process of the binary, running.
type proc struct {
	cmd     *exec.Cmd
	ended   func() error
	stdout  bytes.Buffer
	stderr  *lineWatcher
	waiting <-chan struct{} // closed once the process says it waits for the lock
}

// wait returns the process's result once it has ended.
func (p *proc) wait(t *testing.T) result {
	t.Helper()
	if err := p.ended(); err != nil && p.cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return result{code: p.cmd.ProcessState.ExitCode(), stdout: p.stdout.String(), stderr: p.stderr.String()}
}

// lineWatcher is a process's stderr: it keeps everything and closes seen
// once a line holds want.
type lineWatcher struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
	done bool
}

// Write keeps p and looks for want in the lines complete so far.
func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done {
		text := w.buf.String()
		if end := strings.LastIndexByte(text, '\n'); end >= 0 && strings.Contains(text[:end], w.want) {
			w.done = true
			close(w.seen)
		}
	}
	return len(p), nil
}

// String is everything written so far.
func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
