package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// configFake is a fake accepting the tokens ccToken and "flag-token" only,
// with one connection.
func configFake(t *testing.T, ccToken string) (*apitest.Server, string) {
	t.Helper()
	opts := manualOpts()
	opts.ValidToken = func(token string) bool { return token == ccToken || token == "flag-token" }
	s := newFake(t, opts)
	return s, addConnection(t, s)
}

// TestClientCredentials: a service app gets its tokens by the
// client-credentials grant, and neither the token nor the secret is shown.
func TestClientCredentials(t *testing.T) {
	t.Parallel()
	const ccToken = "cc-token-0123456789"
	var (
		mu    sync.Mutex
		forms []url.Values
	)
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		mu.Lock()
		forms = append(forms, r.PostForm)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token": %q, "token_type": "Bearer", "expires_in": 3600}`, ccToken)
	}))
	defer tokens.Close()
	s, conn := configFake(t, ccToken)
	env := map[string]string{envAPIURL: s.URL, envClientID: "app-id", envClientSecret: "app-secret-xyz", envTokenURL: tokens.URL + "/connect/token"}
	r := runIn(t, env, "connection", "get", conn, "--verbose")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, conn+"\t") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, secret := range []string{ccToken, "app-secret-xyz"} {
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("%q in the output", secret)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(forms) != 1 || forms[0].Get("grant_type") != "client_credentials" || forms[0].Get("scope") != wrapper.Scope {
		t.Errorf("token requests: %v", forms)
	}
}

// TestRejectedClientSecret: the token endpoint's refusal exits 4, and its
// echo of the secret is not shown.
func TestRejectedClientSecret(t *testing.T) {
	t.Parallel()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"bad secret app-secret-xyz"}`)
	}))
	defer refusing.Close()
	s, conn := configFake(t, "cc-token-0123456789")
	env := map[string]string{envAPIURL: s.URL, envClientID: "app-id", envClientSecret: "app-secret-xyz", envTokenURL: refusing.URL}
	r := runIn(t, env, "connection", "get", conn)
	if r.code != exitRefused || r.stdout != "" || !strings.Contains(r.stderr, "invalid_client") {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, exitRefused, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "app-secret-xyz") {
		t.Errorf("the client secret is in the error: %s", r.stderr)
	}
}

// TestFlagsOverrideVariables: --api-url and --token win over the
// environment.
func TestFlagsOverrideVariables(t *testing.T) {
	t.Parallel()
	s, conn := configFake(t, "cc-token-0123456789")
	env := map[string]string{envAPIURL: "http://127.0.0.1:1/export", envAccessToken: "env-token"}
	r := runIn(t, env, "connection", "get", conn, "--api-url", s.URL, "--token", "flag-token")
	if r.code != exitOK || !strings.HasPrefix(r.stdout, conn+"\t") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	r = runIn(t, map[string]string{envAPIURL: s.URL, envAccessToken: "env-token"}, "connection", "get", conn)
	if r.code != exitRefused || !strings.Contains(r.stderr, "unauthorized") {
		t.Errorf("env token: exit %d, stderr %s", r.code, r.stderr)
	}
}

// TestVerboseNamesCredentials: with a token and a service app both set,
// --verbose says the token is used.
func TestVerboseNamesCredentials(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts())
	env := envFor(s.URL)
	env[envClientID], env[envClientSecret] = "app", "s3cret-0123"
	r := runIn(t, env, "connections", "--imodel", "m1", "--verbose")
	wantCode(t, r, exitOK)
	want := "itwin-export: credentials: " + envAccessToken + " (a token used as is); " + envClientID + " and " + envClientSecret + " are not used\n"
	if !strings.HasPrefix(r.stderr, want) {
		t.Errorf("stderr does not start with %q:\n%s", want, r.stderr)
	}
}
