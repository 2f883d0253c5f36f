package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// runServer serves one run, c1/r1, as body says, and answers a create with
// a 202 to it; it counts the requests it received.
func runServer(t *testing.T, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "/export/connections/c1/runs/r1")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// leakyRun is a failed run whose ids and task error echo the caller's token
// and a SAS signature.
var leakyRun = `{"run":{"id":"r1","connectionId":"c1-` + testToken + `","state":"Completed","result":"Error",
"jobs":[{"id":"j1","tasks":[{"id":"t-` + testToken + `","error":{"errorCode":"E1",
"description":"Bearer ` + testToken + ` failed on https://acct.blob.core.windows.net/c/o?sv=1&sig=LEAKEDSIG123 \u001b]0;x\u0007",
"kbArticleLink":"https://kb.example/` + testToken + `"}}]}]}}`

// TestSecretsInRunRedacted: a run object echoing the token or a SAS sig is
// printed with REDACTED instead, in the error line, the summary and --json
// (which stays valid JSON).
func TestSecretsInRunRedacted(t *testing.T) {
	t.Parallel()
	srv, _ := runServer(t, leakyRun)
	env := envFor(srv.URL + "/export")
	for _, args := range [][]string{
		{"run", "--connection", "c1", "--wait", "--poll-interval", "1ms"},
		{"status", "r1", "--connection", "c1"},
		{"status", "r1", "--connection", "c1", "--json"},
		{"status", "r1", "--connection", "c1", "--json", "--wait", "--verbose"},
		{"runs", "--connection", "c1"},
	} {
		r := runIn(t, env, args...)
		out := r.stdout + r.stderr
		for _, secret := range []string{testToken, "LEAKEDSIG123"} {
			if strings.Contains(out, secret) {
				t.Errorf("%q printed %q:\n%s", args, secret, out)
			}
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%q: no REDACTED in\n%s", args, out)
		}
		if strings.Contains(strings.Join(args, " "), "--json") {
			var v map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
				t.Errorf("%q: stdout is not JSON (%v):\n%s", args, err, r.stdout)
			}
		}
	}
}

// TestServerTextSanitized: terminal escapes, BEL and line breaks in server
// text never reach the streams, and a huge Location is cut.
func TestServerTextSanitized(t *testing.T) {
	t.Parallel()
	evil := "\x1b]0;pwned\x07\x1b[31mred\r\x1b[2Ksecond\u009b1m line\x1b[0m"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "/export/connections/c1/runs/"+strings.Repeat("a", 5<<20))
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": evil, "message": evil}})
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	env := envFor(srv.URL + "/export")
	r := runIn(t, env, "connection", "get", "c1")
	wantCode(t, r, exitRefused)
	wantOneErrorLine(t, r, "not found", "red second line")
	if strings.Contains(r.stderr, "pwned") {
		t.Errorf("the payload of an OSC sequence was shown: %q", r.stderr)
	}
	if strings.ContainsAny(strings.TrimSuffix(r.stderr, "\n"), "\x1b\x07\r\n") {
		t.Errorf("control characters reached stderr: %q", r.stderr)
	}
	r = runIn(t, env, "run", "--connection", "c1")
	if len(r.stdout)+len(r.stderr) > 64<<10 {
		t.Errorf("a 5 MiB Location was printed whole: %d bytes", len(r.stdout)+len(r.stderr))
	}
}

// TestCompletedWithoutResult: a Completed run without a result is a
// malformed answer: exit 5, and no "completed with result " line.
func TestCompletedWithoutResult(t *testing.T) {
	t.Parallel()
	srv, _ := runServer(t, `{"run":{"id":"r1","connectionId":"c1","state":"Completed"}}`)
	env := envFor(srv.URL + "/export")
	for _, args := range [][]string{
		{"status", "r1", "--connection", "c1"},
		{"run", "--connection", "c1", "--wait", "--poll-interval", "1ms"},
	} {
		r := runIn(t, env, args...)
		wantCode(t, r, exitNoAnswer)
		if strings.Contains(r.stderr, "completed with result ") {
			t.Errorf("%q: stderr:\n%s", args, r.stderr)
		}
	}
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

// TestResumeAfterFailedWait: when waiting fails after the run was created,
// stderr says how to resume.
func TestResumeAfterFailedWait(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "/export/connections/c1/runs/r1")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	r := runIn(t, envFor(srv.URL+"/export"), "run", "--connection", "c1", "--wait", "--poll-interval", "1ms")
	wantCode(t, r, exitNoAnswer)
	want := "itwin-export status " + srv.URL + "/export/connections/c1/runs/r1 --wait"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
}
