package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/internal/secretscan"
	"github.com/itwin-export/itwin-export/wrapper"
)

// noFollowBrowser stops at the first redirect, to forge what comes next.
var noFollowBrowser = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestLoginFlow is the whole life of a session: a forged redirect is refused
// and saves nothing; a sign-in through the browser (PKCE and state checked)
// saves the session 0600; a later command uses it; once expired, it is
// refreshed and saved back; logout removes it and a later command exits 2.
// Everything printed is then searched for every secret of the flow.
func TestLoginFlow(t *testing.T) {
	s := newFake(t, apitest.Options{})
	f := &loginFlow{t: t, s: s, env: loginEnv(t, s)}
	f.store = storeOf(f.env)

	f.forgedStateSavesNothing()
	first, exchange := f.signIn()

	// A later command uses the saved token, and says so with --verbose.
	r := f.keep(runIn(t, f.env, "auth-info", "--verbose"))
	wantCode(t, r, exitOK)
	if lastBearer(s) != first.AccessToken || !strings.Contains(r.stderr, "credentials: the session saved by 'itwin-export login'") {
		t.Fatalf("the API got another token than the session's; stderr:\n%s", r.stderr)
	}

	second := f.refreshAfterExpiry(first)

	// logout deletes it all; a later command has no credentials.
	r = f.keep(runIn(t, f.env, "logout"))
	wantCode(t, r, exitOK)
	if _, err := os.Stat(filepath.Dir(f.store.Path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after logout: %v, want the itwin-export folder gone", err)
	}
	r = f.keep(runIn(t, f.env, "auth-info"))
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "itwin-export login") || !strings.Contains(r.stderr, envAccessToken) {
		t.Errorf("no credentials: stderr does not say what to set or run:\n%s", r.stderr)
	}

	secrets := []string{first.AccessToken, first.RefreshToken, second.AccessToken, second.RefreshToken,
		exchange.Get("code"), exchange.Get("code_verifier")}
	for _, found := range secretscan.Scan(f.printed.String(), secrets...) {
		t.Errorf("secret found: %s", found)
	}
	if t.Failed() {
		t.Logf("output:\n%s", f.printed.String())
	}
}

// loginFlow is the state of TestLoginFlow: the fake, the person's
// environment and session store, and everything the commands printed.
type loginFlow struct {
	t       *testing.T
	s       *apitest.Server
	env     map[string]string
	store   *wrapper.SessionStore
	printed strings.Builder
}

// keep adds what a command printed to the text the secret scanner reads.
func (f *loginFlow) keep(r result) result {
	f.printed.WriteString(r.stdout + r.stderr)
	return r
}

// forgedStateSavesNothing: redirects with another state (a code, or an
// error=) are answered 400 and ignored: nothing is exchanged, nothing
// saved, and the sign-in goes on waiting until it is interrupted.
func (f *loginFlow) forgedStateSavesNothing() {
	t := f.t
	t.Helper()
	r := f.keep(loginWithForgedState(t, f.env))
	if r.code == exitRefused || !strings.Contains(r.stderr, "interrupted: waiting for the browser") || strings.Contains(r.stderr, "does not match") || r.stdout != "" {
		t.Errorf("forged redirects ended the sign-in: stdout %q, stderr:\n%s", r.stdout, r.stderr)
	}
	if _, err := os.Stat(f.store.Path); !errors.Is(err, os.ErrNotExist) || len(tokenForms(t, f.s)) != 0 {
		t.Fatalf("a forged redirect saved a session (%v) or reached the token endpoint (%v)", err, grants(tokenForms(t, f.s)))
	}
}

// signIn: the browser follows the printed URL; the code is exchanged with
// the verifier of the challenge and the session saved 0600. It returns the
// session and the exchange's form.
func (f *loginFlow) signIn() (*wrapper.Session, url.Values) {
	t := f.t
	t.Helper()
	r, authURL := loginThroughBrowser(t, f.env)
	f.keep(r)
	wantCode(t, r, exitOK)
	if r.stdout != "" || !strings.Contains(r.stderr, f.store.Path) {
		t.Errorf("login: stdout %q (want empty), stderr:\n%s", r.stdout, r.stderr)
	}
	challenge, _ := url.Parse(authURL)
	forms := tokenForms(t, f.s)
	if len(forms) != 1 || forms[0].Get("grant_type") != "authorization_code" ||
		oauth2.S256ChallengeFromVerifier(forms[0].Get("code_verifier")) != challenge.Query().Get("code_challenge") {
		t.Fatalf("token requests %v, want one code exchange with the verifier of the challenge", grants(forms))
	}
	wantModes(t, map[string]os.FileMode{f.store.Path: 0o600, filepath.Dir(f.store.Path): 0o700 | os.ModeDir})
	sess, err := f.store.Load()
	if err != nil {
		t.Fatal(err)
	}
	return sess, forms[0]
}

// refreshAfterExpiry: an hour later the access token has expired; the next
// command refreshes it (grant_type=refresh_token), saves the new session and
// uses the new token. It returns the new session.
func (f *loginFlow) refreshAfterExpiry(first *wrapper.Session) *wrapper.Session {
	t := f.t
	t.Helper()
	expire(t, f.store, first)
	r := f.keep(runIn(t, f.env, "auth-info", "--verbose"))
	wantCode(t, r, exitOK)
	forms := tokenForms(t, f.s)
	if len(forms) != 2 || forms[1].Get("grant_type") != "refresh_token" || forms[1].Get("refresh_token") != first.RefreshToken {
		t.Fatalf("token requests %v, want the sign-in then a refresh_token grant of the saved refresh token", grants(forms))
	}
	second, err := f.store.Load()
	if err != nil || second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken || lastBearer(f.s) != second.AccessToken {
		t.Fatalf("after the refresh (%v) the saved session does not hold new tokens, or the API got another token", err)
	}
	return second
}

// loginWithForgedState runs login, plays a browser (one connection) that
// comes back with another state than the one sent, with a code and then
// with error=, and interrupts the sign-in once both were answered.
func loginWithForgedState(t *testing.T, env map[string]string) result {
	t.Helper()
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	forged := start(ctx, env, "login", "--no-browser")
	resp, err := noFollowBrowser.Get(forged.nextURL(t))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	for _, q := range []url.Values{
		{"code": {back.Query().Get("code")}, "state": {"forged"}},
		{"error": {"access_denied"}, "state": {"forged"}},
		{"code": {back.Query().Get("code")}, "state": {"forged"}},
	} {
		back.RawQuery = q.Encode()
		if status, _ := visit(t, back.String()); status != http.StatusBadRequest {
			t.Errorf("forged redirect %v: page status %d, want 400", q, status)
		}
	}
	interrupt()
	return forged.wait()
}

// loginThroughBrowser runs login and plays a browser that follows the
// printed URL; it returns the result and that URL.
func loginThroughBrowser(t *testing.T, env map[string]string) (result, string) {
	t.Helper()
	login := start(context.Background(), env, "login", "--no-browser")
	authURL := login.nextURL(t)
	if status, page := visit(t, authURL); status != http.StatusOK || !strings.Contains(page, "Signed in") {
		t.Errorf("browser ended on %d %q", status, page)
	}
	return login.wait(), authURL
}

// wantModes fails the test unless each path has its mode.
func wantModes(t *testing.T, modes map[string]os.FileMode) {
	t.Helper()
	for path, mode := range modes {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
			t.Fatalf("%s: %v, want mode %v", path, err, mode)
		}
	}
}

// expire saves sess with an access token that expired a minute ago: the
// hour of its life has passed.
func expire(t *testing.T, store *wrapper.SessionStore, sess *wrapper.Session) {
	t.Helper()
	expired := *sess
	expired.Expiry = time.Now().Add(-time.Minute)
	if err := store.Save(&expired); err != nil {
		t.Fatal(err)
	}
}

// TestLoginOpensTheBrowser: without --no-browser the URL goes to the
// platform's opener, and to stderr too.
func TestLoginOpensTheBrowser(t *testing.T) {
	s := newFake(t, apitest.Options{})
	env := loginEnv(t, s)
	opened, visited := make(chan string, 1), make(chan struct{})
	defer func(old func(string) error) { openBrowser = old }(openBrowser)
	openBrowser = func(u string) error {
		opened <- u
		go func() { defer close(visited); visit(t, u) }()
		return nil
	}
	r := runIn(t, env, "login")
	<-visited
	wantCode(t, r, exitOK)
	u := <-opened
	if !strings.Contains(r.stderr, "Opened the browser") || !strings.Contains(r.stderr, u) || r.stdout != "" {
		t.Errorf("stdout %q, stderr:\n%s", r.stdout, r.stderr)
	}
}

// TestRefusedRefreshSaysLogin: a session whose refresh token the identity
// service refuses exits 4 telling to sign in again.
func TestRefusedRefreshSaysLogin(t *testing.T) {
	s := newFake(t, apitest.Options{})
	env := loginEnv(t, s)
	store := storeOf(env)
	const refresh = "revoked-refresh-token-0123"
	if err := store.Save(&wrapper.Session{ClientID: "native-app", TokenURL: env[envTokenURL], AccessToken: "old-access-0123",
		RefreshToken: refresh, Expiry: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, env, "auth-info", "--verbose")
	wantCode(t, r, exitRefused)
	if !strings.Contains(r.stderr, "sign in again with 'itwin-export login'") {
		t.Errorf("stderr does not say to sign in again:\n%s", r.stderr)
	}
	for _, f := range secretscan.Scan(r.stdout+r.stderr, refresh, "old-access-0123") {
		t.Errorf("secret found: %s", f)
	}
}

// TestCredentialsPrecedence: --token, then ITWIN_ACCESS_TOKEN, then client
// credentials, then the saved session; --verbose names the one used.
func TestCredentialsPrecedence(t *testing.T) {
	s := newFake(t, apitest.Options{})
	env := loginEnv(t, s)
	if err := storeOf(env).Save(&wrapper.Session{ClientID: "native-app", TokenURL: env[envTokenURL], AccessToken: "session-token-1",
		Expiry: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	with := func(extra map[string]string) map[string]string {
		e := map[string]string{}
		for k, v := range env {
			e[k] = v
		}
		for k, v := range extra {
			e[k] = v
		}
		return e
	}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		bearer string // "" for a client-credentials token
		from   string
	}{
		{"flag first", with(map[string]string{envAccessToken: "env-token", envClientSecret: "s"}), []string{"--token", "flag-token"}, "flag-token", "--token"},
		{"env token", with(map[string]string{envAccessToken: "env-token", envClientSecret: "s"}), nil, "env-token", envAccessToken},
		{"client credentials", with(map[string]string{envClientSecret: "s"}), nil, "", "client credentials"},
		{"session", env, nil, "session-token-1", "the session saved by 'itwin-export login'"},
	} {
		r := runIn(t, tc.env, append([]string{"auth-info", "--verbose"}, tc.args...)...)
		wantCode(t, r, exitOK)
		got := lastBearer(s)
		if (tc.bearer != "" && got != tc.bearer) || (tc.bearer == "" && !strings.HasPrefix(got, "fake-at-")) || !strings.Contains(r.stderr, "credentials: "+tc.from) {
			t.Errorf("%s: the API got %q; stderr:\n%s", tc.name, got, r.stderr)
		}
	}
	for _, bad := range []string{" ", "tok\x1b[2J"} {
		r := runIn(t, with(map[string]string{envAccessToken: bad}), "auth-info")
		wantCode(t, r, exitUsage)
	}
}

// TestLoginUsageErrors: a configuration that cannot work exits 2 before
// anything is sent.
func TestLoginUsageErrors(t *testing.T) {
	s := newFake(t, apitest.Options{})
	env := loginEnv(t, s)
	with := func(k, v string) map[string]string {
		e := map[string]string{}
		for key, val := range env {
			e[key] = val
		}
		e[k] = v
		return e
	}
	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"no client id":         {with(envClientID, ""), nil, envClientID},
		"plain http authorize": {with(envAuthorizeURL, "http://ims.example.com/connect/authorize"), nil, envAuthorizeURL},
		"plain http token":     {with(envTokenURL, "http://ims.example.com/connect/token"), nil, envTokenURL},
		"no config dir":        {with(envXDGConfigHome, ""), nil, envXDGConfigHome},
		"bad port":             {env, []string{"--port", "70000"}, "--port"},
		"bad timeout":          {env, []string{"--timeout", "0s"}, "--timeout"},
	} {
		if name == "no config dir" {
			tc.env[envHome] = ""
		}
		r := runIn(t, tc.env, append([]string{"login", "--no-browser"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming %s", name, r.code, r.stderr, tc.want)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

// TestLoginAgainstFakeServer: fake-server names its OAuth2 endpoints on
// stderr, and login and a later command work against them, offline.
func TestLoginAgainstFakeServer(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &watchedStderr{urls: make(chan string, 1)}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fake-server", "--addr", "127.0.0.1:0"}, nil, stdout, stderr, func(string) string { return "" })
	}()
	stop := sync.OnceValue(func() int { cancel(); return <-done })
	t.Cleanup(func() { stop() })
	var base string
	select {
	case base = <-stdout.urls:
	case code := <-done:
		t.Fatalf("fake-server ended with %d: %s", code, stderr.String())
	}
	origin := strings.TrimSuffix(base, "/export")
	env := map[string]string{envAPIURL: base, envClientID: "my-native-app", envXDGConfigHome: t.TempDir(),
		envAuthorizeURL: origin + apitest.AuthorizePath, envTokenURL: origin + apitest.TokenPath}
	r, _ := loginThroughBrowser(t, env)
	wantCode(t, r, exitOK)
	r = runIn(t, env, "connection", "create", "--imodel", "m1", "--auth", "User")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "authorization required") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	// Once fake-server has ended, all it wrote is there to read.
	if code := stop(); code != exitOK {
		t.Errorf("fake-server exit %d", code)
	}
	if want := envAuthorizeURL + "=" + env[envAuthorizeURL]; !strings.Contains(stderr.String(), want) {
		t.Errorf("fake-server's stderr does not name %s:\n%s", want, stderr.String())
	}
}

// TestShowURLOpensOnlyWebURLs: a URL that came from a server reaches the
// browser only when it is a plain http(s) URL; stderr shows it sanitized.
func TestShowURLOpensOnlyWebURLs(t *testing.T) {
	defer func(old func(string) error) { openBrowser = old }(openBrowser)
	var opened []string
	openBrowser = func(u string) error { opened = append(opened, u); return nil }
	for u, wantOpened := range map[string]bool{
		"https://authorize.example/consent?client_id=a&state=b": true,
		"http://127.0.0.1:8400/callback":                        true,
		"javascript:alert(1)":                                   false,
		"file:///etc/passwd":                                    false,
		"https://authorize.example/\x1b]0;title\x07consent":     false,
		"https:///no-host":                                      false,
	} {
		opened = nil
		var stderr strings.Builder
		a := &app{stderr: &stderr}
		a.showURL("authorize", u, false)
		if got := len(opened) == 1 && opened[0] == u; got != wantOpened {
			t.Errorf("%q: opened %q, want opened %v", u, opened, wantOpened)
		}
		if strings.ContainsAny(stderr.String(), "\x1b\x07") || !strings.Contains(stderr.String(), sanitize(u)) {
			t.Errorf("%q: stderr %q does not show it sanitized", u, stderr.String())
		}
	}
}
