package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/internal/secretscan"
)

// TestNoSecretInOutput runs the command line through its scenarios, verbose
// wherever it can be, against services that echo credentials back, and runs
// everything it printed through the secret scanner.
func TestNoSecretInOutput(t *testing.T) {
	const (
		clientSecret = "cli-client-secret-0123456789"
		ccToken      = "cli-cc-token-abcdef0123"
		sig          = "CLISIGNATURE0123"
	)
	sas := func(name string) string {
		return "https://acct.blob.core.windows.net/c/" + name + "?sv=2024-05-04&sp=cw&sig=" + sig + "%2B" + name
	}
	ims := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, ccToken)
	}))
	defer ims.Close()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, `{"error":{"code":"Echo","message":%q}}`, r.Header.Get("Authorization")+" "+r.RequestURI+" "+string(body))
	}))
	defer echo.Close()

	s := newFake(t, fastOpts())
	conn := addConnection(t, s)
	s.SetOutcome(conn, apitest.OutcomeError)
	ccEnv := map[string]string{envAPIURL: s.URL, envClientID: "app", envClientSecret: clientSecret, envTokenURL: ims.URL}
	blob := []string{"--location", "USER_BLOB_STORAGE", "--output-sas-url", sas("out"), "--save-logs", "--logs-sas-url", sas("logs"), "--mapping-file-url", sas("map")}

	var out strings.Builder
	scenario := func(env map[string]string, code int, args ...string) {
		t.Helper()
		r := runBinary(t, env, args...)
		wantCode(t, r, code)
		// The command line itself holds the secrets: only what the command
		// printed is scanned.
		fmt.Fprintf(&out, "$ itwin-export %s ...\n%s%s", args[0], r.stdout, r.stderr)
	}
	scenario(envFor(s.URL), exitRunFail, append([]string{"run", "--connection", conn, "--wait", "--verbose", "--poll-interval", "10ms"}, blob...)...)
	loc := runLocation(s, conn, onlyRun(t, s, conn).ID)
	scenario(envFor(s.URL), exitRunFail, "status", loc, "--verbose", "--json")
	scenario(ccEnv, exitOK, "connection", "create", "--imodel", "m1", "--verbose", "--json")
	scenario(ccEnv, exitOK, "runs", "--connection", conn, "--verbose")
	scenario(ccEnv, exitOK, "auth-info", "--redirect-url", "https://app.example.com/cb", "--verbose")
	scenario(envFor(s.URL), exitUsage, append([]string{"run", "--connection", conn, "--verbose", "--location", "STORAGE"}, blob[2:]...)...)
	scenario(map[string]string{envAPIURL: echo.URL + "/export"}, exitNoAnswer, append([]string{"run", "--connection", conn, "--verbose", "--token", testToken}, blob...)...)
	scenario(map[string]string{envAPIURL: echo.URL + "/export", envAccessToken: testToken}, exitNoAnswer, "connection", "get", conn, "--verbose")

	text := out.String()
	for _, want := range []string{"status=202", "status=500", "Completed"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the scenarios did not run as planned: no %q in\n%s", want, text)
		}
	}
	for _, f := range secretscan.Scan(text, testToken, ccToken, clientSecret, sig) {
		t.Errorf("secret found: %s", f)
	}
	if t.Failed() {
		t.Logf("output scanned:\n%s", text)
	}
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
