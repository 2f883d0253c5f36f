package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestConnectionCommands: create, get (plain and --json, compared whole),
// list and delete.
func TestConnectionCommands(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts())
	env := envFor(s.URL)
	id := createAndGet(t, s, env)
	line := id + "\tService\tim-1\tnightly export\n"

	other := s.AddConnection(api.ExportConnectionCreate{IModelID: "im-1"})
	s.AddConnection(api.ExportConnectionCreate{IModelID: "im-2"})
	r := runCLI(t, env, "connections", "--imodel", "im-1")
	wantCode(t, r, exitOK)
	if d := diff(line+other.ID+"\tUser\tim-1\t\n", r.stdout); d != "" {
		t.Errorf("connections stdout (-want +got):\n%s", d)
	}
	r = runCLI(t, env, "connections", "--imodel", "im-1", "--json")
	wantCode(t, r, exitOK)
	if list, ok := decodeJSON(t, r.stdout).([]any); !ok || len(list) != 2 {
		t.Errorf("connections --json is not an array of 2:\n%s", r.stdout)
	}
	r = runCLI(t, env, "connections", "--imodel", "no-such-imodel", "--json")
	wantCode(t, r, exitOK)
	if d := diff("[]\n", r.stdout); d != "" {
		t.Errorf("empty list (-want +got):\n%s", d)
	}

	r = runCLI(t, env, "connection", "delete", id)
	wantCode(t, r, exitOK)
	if r.stdout != "" || r.stderr != "deleted connection "+id+"\n" {
		t.Errorf("delete: stdout %q, stderr %q", r.stdout, r.stderr)
	}
	r = runCLI(t, env, "connection", "get", id)
	wantCode(t, r, exitRefused)
	wantOneErrorLine(t, r, "not found", "ConnectionNotFound")
}

// createAndGet creates a connection through the command, shows it plain
// and as JSON, and returns its id.
func createAndGet(t *testing.T, s *apitest.Server, env map[string]string) string {
	t.Helper()
	r := runCLI(t, env, "connection", "create", "--imodel", "im-1", "--name", "nightly\texport", "--auth", "Service", "--json")
	wantCode(t, r, exitOK)
	var created api.ExportConnection
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || created.ID == "" || created.ITwinID == "" {
		t.Fatalf("stdout is not a connection (%v):\n%s", err, r.stdout)
	}
	id, iTwin := created.ID, created.ITwinID
	if d := diff("created connection "+id+"\n", r.stderr); d != "" {
		t.Errorf("stderr (-want +got):\n%s", d)
	}
	posts := requestsTo(t, s, "POST", "/export/connections")
	if len(posts) != 1 || string(posts[0].Body) != `{"authenticationType":"Service","displayName":"nightly\texport","iModelId":"im-1"}` {
		t.Errorf("create body: %q", posts)
	}

	r = runCLI(t, env, "connection", "get", id, "--json")
	wantCode(t, r, exitOK)
	want := `{
  "_links": {
    "iModel": {
      "href": "https://api.bentley.com/imodels/im-1"
    },
    "iTwin": {
      "href": "https://api.bentley.com/itwins/` + iTwin + `"
    }
  },
  "authenticationType": "Service",
  "displayName": "nightly\texport",
  "iModelId": "im-1",
  "iTwinId": "` + iTwin + `",
  "id": "` + id + `"
}
`
	if d := diff(want, r.stdout); d != "" {
		t.Errorf("connection get --json stdout (-want +got):\n%s", d)
	}

	line := id + "\tService\tim-1\tnightly export\n"
	r = runCLI(t, env, "connection", "get", id)
	wantCode(t, r, exitOK)
	if d := diff(line, r.stdout); d != "" {
		t.Errorf("connection get stdout (-want +got):\n%s", d)
	}
	return id
}

// TestRunsCommand lists the runs of a connection.
func TestRunsCommand(t *testing.T) {
	s := newFake(t, manualOpts())
	conn := addConnection(t, s)
	env := envFor(s.URL)
	r := runCLI(t, env, "runs", "--connection", conn)
	wantCode(t, r, exitOK)
	if r.stdout != "" {
		t.Errorf("no runs, yet stdout:\n%s", r.stdout)
	}
	r = runCLI(t, env, "runs", "--connection", conn, "--json")
	wantCode(t, r, exitOK)
	if d := diff("[]\n", r.stdout); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}

	ref, err := newClient(t, s.URL).CreateRun(context.Background(), conn, wrapperRequest())
	if err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, env, "runs", "--connection", conn)
	wantCode(t, r, exitOK)
	if d := diff(ref.RunID+"\tNotStarted\tUndetermined\t2025-01-02T03:04:05Z\t\n", r.stdout); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	r = runCLI(t, env, "runs", "--connection", conn, "--json")
	wantCode(t, r, exitOK)
	if d := diff([]any{rawRun(t, ref.Location)}, decodeJSON(t, r.stdout)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	r = runCLI(t, env, "runs", "--connection", "no-such-connection")
	wantCode(t, r, exitRefused)
}

// TestAuthInfo shows the authorization information, plain and as JSON.
func TestAuthInfo(t *testing.T) {
	s := newFake(t, manualOpts())
	env := envFor(s.URL)
	r := runCLI(t, env, "auth-info")
	wantCode(t, r, exitOK)
	// The fake's authorization page is on its origin, named by a random ticket.
	page := strings.TrimSuffix(s.URL, "/export") + apitest.ExportAuthorizePath + "?ticket=T"
	ticket := regexp.MustCompile(`ticket=[0-9a-f]{32}`)
	want := "authorized: false\nauthorization-url: " + page + "&redirect_url=" + url.QueryEscape(defaultRedirectURL) + "\n"
	if d := diff(want, ticket.ReplaceAllString(r.stdout, "ticket=T")); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	gets := requestsTo(t, s, "GET", "/export/authorizationinformation")
	if len(gets) != 1 || gets[0].URI != "/export/authorizationinformation?redirectUrl="+url.QueryEscape(defaultRedirectURL) {
		t.Errorf("requests: %q", gets)
	}

	r = runCLI(t, env, "auth-info", "--json", "--redirect-url", "https://app.example.com/cb")
	wantCode(t, r, exitOK)
	want = `{
  "_links": {
    "authorizationUrl": {
      "href": "` + page + `&redirect_url=https%3A%2F%2Fapp.example.com%2Fcb"
    }
  },
  "isUserAuthorized": false
}
`
	if d := diff(want, ticket.ReplaceAllString(r.stdout, "ticket=T")); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestIDsAreEscaped: an id with /, ? or # reaches the server
// percent-encoded inside its path segment.
func TestIDsAreEscaped(t *testing.T) {
	const id = "a/b?c#d"
	const escaped = "a%2Fb%3Fc%23d"
	tests := []struct {
		args []string
		uri  string
	}{
		{[]string{"connection", "get", id}, "/export/connections/" + escaped},
		{[]string{"connection", "delete", id}, "/export/connections/" + escaped},
		{[]string{"run", "--connection", id}, "/export/connections/" + escaped + "/runs"},
		{[]string{"runs", "--connection", id}, "/export/connections/" + escaped + "/runs"},
		{[]string{"status", "r/1?x", "--connection", id}, "/export/connections/" + escaped + "/runs/r%2F1%3Fx"},
		{[]string{"connections", "--imodel", "m&n=1#2"}, "/export/connections?imodelId=m%26n%3D1%232"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			s := newFake(t, manualOpts())
			r := runCLI(t, envFor(s.URL), tt.args...)
			reqs := s.Requests()
			if len(reqs) == 0 {
				t.Fatalf("no request; stderr:\n%s", r.stderr)
			}
			if reqs[0].URI != tt.uri {
				t.Errorf("URI %q, want %q", reqs[0].URI, tt.uri)
			}
		})
	}
}

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

// TestProgress: one line per state change off a terminal; a live line
// rewritten in place on one.
func TestProgress(t *testing.T) {
	states := []api.ExecutionState{api.ExecutionStateQueued, api.ExecutionStateExecuting, api.ExecutionStateCompleted}
	result := api.ExecutionResultSuccess
	for _, live := range []bool{false, true} {
		var b syncBuffer
		p := newProgress(&b, &outputFilter{}, live)
		for i, st := range states {
			run := &api.ExportRun{State: st}
			if st == api.ExecutionStateCompleted {
				run.Result = result
			}
			p.update(wrapper.Progress{Run: run, State: st, Elapsed: time.Duration(i) * 1500 * time.Millisecond})
		}
		p.done()
		want := "    0.0s  Queued\n    1.5s  Executing\n    3.0s  Completed (Success)\n"
		if live {
			want = "\r\033[KQueued  0.0s\r\033[KExecuting  1.5s\r\033[KCompleted (Success)  3.0s\n"
		}
		if d := diff(want, b.String()); d != "" {
			t.Errorf("live=%t (-want +got):\n%q", live, d)
		}
	}
}

// TestSummaryOfRunningRun: no duration until the run ends; task errors and
// output files of every task.
func TestSummaryOfRunningRun(t *testing.T) {
	state, result := api.ExecutionStateExecuting, api.ExecutionResultUndetermined
	var b bytes.Buffer
	(&app{}).writeSummary(&b, &api.ExportRun{ID: "r1", State: state, Result: result, StartDateTime: new(time.Now())}, "")
	if d := diff("run:         r1\nstate:       Executing\nresult:      Undetermined\n", b.String()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	b.Reset()
	jobs := []api.ExportJob{{ID: "j1", Tasks: []api.ExportTask{{ID: "t1", ExportOutputFileID: "f1",
		Error: &api.TaskError{ErrorCode: new("E1"), Message: new("went \x1b[2Jwrong"), KbArticleLink: new("https://kb/1")}}}}}
	(&app{}).writeSummary(&b, &api.ExportRun{ID: "r1", Jobs: jobs}, "")
	want := "run:         r1\noutput file: f1\ntask error:  task t1: E1: went wrong (see https://kb/1)\n"
	if d := diff(want, b.String()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// TestVersion: version and --version print one line, the module version
// (devel in a test binary) and the Go version.
func TestVersion(t *testing.T) {
	t.Parallel()
	line := regexp.MustCompile(`^itwin-export (devel|v\S+) go1\.\S+\n$`)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runIn(t, nil, args...)
		wantCode(t, r, exitOK)
		if !line.MatchString(r.stdout) || r.stderr != "" {
			t.Errorf("%q: stdout %q, stderr %q", args, r.stdout, r.stderr)
		}
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
