package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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
	env := loginEnv(t, s)
	store := storeOf(env)
	var printed strings.Builder
	keep := func(r result) result {
		printed.WriteString(r.stdout + r.stderr)
		return r
	}

	// A redirect with another state is refused: nothing exchanged, nothing saved.
	forged := start(context.Background(), env, "login", "--no-browser")
	resp, err := noFollowBrowser.Get(forged.nextURL(t))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	q := back.Query()
	q.Set("state", "forged")
	back.RawQuery = q.Encode()
	if status, _ := visit(t, back.String()); status != http.StatusBadRequest {
		t.Errorf("forged redirect: page status %d, want 400", status)
	}
	r := keep(forged.wait())
	wantCode(t, r, exitRefused)
	if !strings.Contains(r.stderr, "sign-in failed") || !strings.Contains(r.stderr, "state") || r.stdout != "" {
		t.Errorf("forged redirect: stdout %q, stderr:\n%s", r.stdout, r.stderr)
	}
	if _, err := os.Stat(store.Path); !errors.Is(err, os.ErrNotExist) || len(tokenForms(t, s)) != 0 {
		t.Fatalf("a forged redirect saved a session (%v) or reached the token endpoint (%v)", err, grants(tokenForms(t, s)))
	}

	// The sign-in: the browser follows the printed URL.
	login := start(context.Background(), env, "login", "--no-browser")
	authURL := login.nextURL(t)
	if status, page := visit(t, authURL); status != http.StatusOK || !strings.Contains(page, "Signed in") {
		t.Errorf("browser ended on %d %q", status, page)
	}
	r = keep(login.wait())
	wantCode(t, r, exitOK)
	if r.stdout != "" || !strings.Contains(r.stderr, store.Path) {
		t.Errorf("login: stdout %q (want empty), stderr:\n%s", r.stdout, r.stderr)
	}
	challenge, _ := url.Parse(authURL)
	forms := tokenForms(t, s)
	if len(forms) != 1 || forms[0].Get("grant_type") != "authorization_code" ||
		oauth2.S256ChallengeFromVerifier(forms[0].Get("code_verifier")) != challenge.Query().Get("code_challenge") {
		t.Fatalf("token requests %v, want one code exchange with the verifier of the challenge", grants(forms))
	}
	for path, mode := range map[string]os.FileMode{store.Path: 0o600, filepath.Dir(store.Path): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != mode {
			t.Fatalf("%s: %v, want mode %v", path, err, mode)
		}
	}
	first, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}

	// A later command uses the saved token, and says so with --verbose.
	r = keep(runIn(env, "auth-info", "--verbose"))
	wantCode(t, r, exitOK)
	if lastBearer(s) != first.AccessToken || !strings.Contains(r.stderr, "credentials: the session saved by 'itwin-export login'") {
		t.Fatalf("the API got another token than the session's; stderr:\n%s", r.stderr)
	}

	// An hour later the access token has expired: the command refreshes it
	// and saves the new session.
	expired := *first
	expired.Expiry = time.Now().Add(-time.Minute)
	if err := store.Save(&expired); err != nil {
		t.Fatal(err)
	}
	r = keep(runIn(env, "auth-info", "--verbose"))
	wantCode(t, r, exitOK)
	forms = tokenForms(t, s)
	if len(forms) != 2 || forms[1].Get("grant_type") != "refresh_token" || forms[1].Get("refresh_token") != first.RefreshToken {
		t.Fatalf("token requests %v, want the sign-in then a refresh_token grant of the saved refresh token", grants(forms))
	}
	second, err := store.Load()
	if err != nil || second.AccessToken == first.AccessToken || second.RefreshToken == first.RefreshToken || lastBearer(s) != second.AccessToken {
		t.Fatalf("after the refresh (%v) the saved session does not hold new tokens, or the API got another token", err)
	}

	// logout deletes it all; a later command has no credentials.
	r = keep(runIn(env, "logout"))
	wantCode(t, r, exitOK)
	if _, err := os.Stat(filepath.Dir(store.Path)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after logout: %v, want the itwin-export folder gone", err)
	}
	r = keep(runIn(env, "auth-info"))
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "itwin-export login") || !strings.Contains(r.stderr, envAccessToken) {
		t.Errorf("no credentials: stderr does not say what to set or run:\n%s", r.stderr)
	}

	secrets := []string{first.AccessToken, first.RefreshToken, second.AccessToken, second.RefreshToken,
		forms[0].Get("code"), forms[0].Get("code_verifier")}
	for _, f := range secretscan.Scan(printed.String(), secrets...) {
		t.Errorf("secret found: %s", f)
	}
	if t.Failed() {
		t.Logf("output:\n%s", printed.String())
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
	r := runIn(env, "login")
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
	r := runIn(env, "auth-info", "--verbose")
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
		r := runIn(tc.env, append([]string{"auth-info", "--verbose"}, tc.args...)...)
		wantCode(t, r, exitOK)
		got := lastBearer(s)
		if (tc.bearer != "" && got != tc.bearer) || (tc.bearer == "" && !strings.HasPrefix(got, "fake-at-")) || !strings.Contains(r.stderr, "credentials: "+tc.from) {
			t.Errorf("%s: the API got %q; stderr:\n%s", tc.name, got, r.stderr)
		}
	}
	for _, bad := range []string{" ", "tok\x1b[2J"} {
		r := runIn(with(map[string]string{envAccessToken: bad}), "auth-info")
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
		r := runIn(tc.env, append([]string{"login", "--no-browser"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming %s", name, r.code, r.stderr, tc.want)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}
