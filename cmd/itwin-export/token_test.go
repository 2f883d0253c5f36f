package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestTokenEndpointAnswers: the token endpoint's refusal exits 4; no usable
// answer (5xx, unreachable, a redirect, which is not followed) exits 5.
// Nothing reaches the API in any case.
func TestTokenEndpointAnswers(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	answer := func(status int, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if status/100 == 3 {
				http.Redirect(w, r, other.URL+"/token", status)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	unreachable := "http://" + hangUpAddr(t) + "/token"
	for _, tt := range []struct {
		name, tokenURL string
		code           int
		class          string
	}{
		{"401 invalid_client", answer(401, `{"error":"invalid_client"}`), exitRefused, "unauthorized"},
		{"400 invalid_grant", answer(400, `{"error":"invalid_grant"}`), exitRefused, "unauthorized"},
		{"503", answer(503, `{"error":"temporarily_unavailable"}`), exitNoAnswer, ""},
		{"unreachable", unreachable, exitNoAnswer, ""},
		{"307 elsewhere", answer(307, ""), exitNoAnswer, ""},
		{"308 elsewhere", answer(308, ""), exitNoAnswer, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, n := runServer(t, leakyRun)
			env := map[string]string{envAPIURL: srv.URL + "/export", envClientID: "app", envClientSecret: "app-secret-0123", envTokenURL: tt.tokenURL}
			r := runIn(t, env, "runs", "--connection", "c1")
			wantCode(t, r, tt.code)
			wantOneErrorLine(t, r, tt.class)
			if n.Load() != 0 {
				t.Errorf("%d requests reached the API", n.Load())
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("a redirect was followed: %d requests elsewhere", n)
	}
}

// hangUpAddr is the address of a listener that closes every connection at
// once, for as long as the test runs: a peer that gives no answer. Unlike
// a closed port, no other test's server can take it meanwhile.
func hangUpAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// TestBadTokensAreUsageErrors: a blank token or one with a control
// character is refused before anything is sent.
func TestBadTokensAreUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tok := range []string{" ", "\t", "tok\nen", "tok\x00en", "tok\x7f"} {
		srv, n := runServer(t, leakyRun)
		r := runIn(t, map[string]string{envAPIURL: srv.URL + "/export", envAccessToken: tok}, "runs", "--connection", "c1")
		wantCode(t, r, exitUsage)
		wantOneErrorLine(t, r, "usage", envAccessToken)
		if n.Load() != 0 {
			t.Errorf("token %q: %d requests sent, want none", tok, n.Load())
		}
	}
}

// TestBadTokenURL: a token URL that is not https (http only to loopback) is
// a usage error naming the variable; nothing is sent.
func TestBadTokenURL(t *testing.T) {
	t.Parallel()
	for _, tokenURL := range []string{"http://example.com/token", "not a url", "ftp://ims.example.com/token", "/token"} {
		srv, n := runServer(t, leakyRun)
		env := map[string]string{envAPIURL: srv.URL + "/export", envClientID: "app", envClientSecret: "s3cret-value", envTokenURL: tokenURL}
		r := runIn(t, env, "runs", "--connection", "c1")
		wantCode(t, r, exitUsage)
		wantOneErrorLine(t, r, envTokenURL)
		if n.Load() != 0 {
			t.Errorf("%q: %d requests sent", tokenURL, n.Load())
		}
	}
}
