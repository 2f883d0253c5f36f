package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestConnectionCommands: create, get (plain and --json, compared whole),
// list and delete.
func TestConnectionCommands(t *testing.T) {
	s := newFake(t, manualOpts())
	env := envFor(s.URL)

	r := runCLI(t, env, "connection", "create", "--imodel", "im-1", "--name", "nightly\texport", "--auth", "Service", "--json")
	wantCode(t, r, exitOK)
	var created api.ExportConnection
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil || created.ID == nil || created.ITwinID == nil {
		t.Fatalf("stdout is not a connection (%v):\n%s", err, r.stdout)
	}
	id, iTwin := *created.ID, *created.ITwinID
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

	other := s.AddConnection(api.ExportConnectionCreate{IModelID: "im-1"})
	s.AddConnection(api.ExportConnectionCreate{IModelID: "im-2"})
	r = runCLI(t, env, "connections", "--imodel", "im-1")
	wantCode(t, r, exitOK)
	if d := diff(line+*other.ID+"\tUser\tim-1\t\n", r.stdout); d != "" {
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
	want := "authorized: false\nauthorization-url: https://connect-itwinbridgeportal.bentley.com/authenticate?redirect_url=" +
		url.QueryEscape(defaultRedirectURL) + "\n"
	if d := diff(want, r.stdout); d != "" {
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
      "href": "https://connect-itwinbridgeportal.bentley.com/authenticate?redirect_url=https%3A%2F%2Fapp.example.com%2Fcb"
    }
  },
  "isUserAuthorized": false
}
`
	if d := diff(want, r.stdout); d != "" {
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

// TestHelp: --help on every command lists its flags, each with a
// description, and an example, on stdout with exit 0.
func TestHelp(t *testing.T) {
	names := [][]string{{}, {"connection"}}
	for _, c := range commands() {
		if c.name != "connection" {
			names = append(names, []string{c.name})
		}
	}
	for _, c := range connectionCommands {
		names = append(names, []string{"connection", c.name})
	}
	flagLine := regexp.MustCompile(`^  --[a-z-]+( [A-Za-z_:.0-9|]+)?  +\S`)
	for _, name := range names {
		for _, h := range []string{"--help", "-h"} {
			t.Run(strings.Join(append(name, h), " "), func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := run(context.Background(), append(name, h), nil, &stdout, &stderr, nil)
				if code != exitOK || stderr.Len() != 0 {
					t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
				}
				out := stdout.String()
				if !strings.HasPrefix(out, "Usage: itwin-export") || !strings.Contains(out, "\nExample") {
					t.Errorf("help lacks usage or example:\n%s", out)
				}
				_, flags, ok := strings.Cut(out, "\nFlags:\n")
				if dispatcher := len(name) == 0 || (len(name) == 1 && name[0] == "connection"); dispatcher {
					if !strings.Contains(out, "Commands:\n") {
						t.Errorf("help lists no commands:\n%s", out)
					}
					return
				}
				if !ok {
					t.Fatalf("help lists no flags:\n%s", out)
				}
				flags, _, _ = strings.Cut(flags, "\n\n")
				for _, l := range strings.Split(flags, "\n") {
					if !flagLine.MatchString(l) {
						t.Errorf("flag line without a description: %q", l)
					}
				}
			})
		}
	}
	// help CMD is CMD --help.
	var a, b bytes.Buffer
	run(context.Background(), []string{"help", "run"}, nil, &a, io.Discard, nil)
	run(context.Background(), []string{"run", "--help"}, nil, &b, io.Discard, nil)
	if a.String() != b.String() || !strings.Contains(a.String(), "--output-sas-url URL") {
		t.Errorf("help run:\n%s", a.String())
	}
}

// TestDemo: the demo needs no account and no network, shows the flow on
// stdout and exits 0.
func TestDemo(t *testing.T) {
	r := runBinary(t, nil, "demo")
	wantCode(t, r, exitOK)
	for _, part := range []string{"connection created: ", "run created: ", "at its Location http://127.0.0.1:",
		"Queued", "Executing", "Completed (Success)", "result:      Success\n", "output file: "} {
		if !strings.Contains(r.stdout, part) {
			t.Errorf("stdout lacks %q:\n%s", part, r.stdout)
		}
	}
}

// TestFakeServer: fake-server prints its URL first, serves any client with
// any token, and exits 0 when interrupted.
func TestFakeServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "fake-server", "--addr", "127.0.0.1:0", "--step", "20ms")
	cmd.Env = envList(nil)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() // only if the test fails before the end
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("no first line; stderr:\n%s", stderr.String())
	}
	base := lines.Text()
	if !regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*/export$`).MatchString(base) {
		t.Fatalf("first line %q is not the base URL", base)
	}

	// Any language's client: here the wrapper, with any token.
	c, err := wrapper.New(wrapper.Options{BaseURL: base, TokenSource: wrapper.StaticToken("any-token")})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := c.CreateConnection(ctx, api.ExportConnectionCreate{IModelID: "m"})
	if err != nil {
		t.Fatal(err)
	}
	_, run, err := c.Export(ctx, *conn.ID, wrapperRequest(), wrapper.WaitOptions{MinInterval: 10 * time.Millisecond, MaxInterval: 20 * time.Millisecond})
	if err != nil || *run.Result != api.ExecutionResultSuccess {
		t.Fatalf("export: %v", err)
	}
	// And the CLI itself.
	r := runCLI(t, map[string]string{envAPIURL: base, envAccessToken: "another-token"},
		"run", "--connection", *conn.ID, "--wait", "--poll-interval", "10ms")
	wantCode(t, r, exitOK)

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("fake-server after SIGINT: %v\nstderr:\n%s", err, stderr.String())
	}
	if len(rest) != 0 {
		t.Errorf("stdout after the URL: %q", rest)
	}
	if strings.Contains(stderr.String(), "contract violation") || !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestInterruptWhileWaiting: a real SIGINT to the built binary ends a wait
// at once with exit 130; the error line says how to resume from the
// Location.
func TestInterruptWhileWaiting(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts()) // the run never completes
	conn := addConnection(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "run", "--connection", conn, "--wait", "--poll-interval", "10ms")
	cmd.Env = envList(envFor(s.URL))
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Signal once the first state is shown: the run exists, the wait runs.
	lines := bufio.NewScanner(stderr)
	var shown []string
	for lines.Scan() {
		shown = append(shown, lines.Text())
		if strings.Contains(lines.Text(), "NotStarted") {
			break
		}
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		shown = append(shown, lines.Text())
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupt {
		t.Fatalf("exit %d, want %d\nstderr:\n%s", code, exitInterrupt, strings.Join(shown, "\n"))
	}
	last := shown[len(shown)-1]
	run := onlyRun(t, s, conn)
	for _, part := range []string{"itwin-export: interrupted: ", "resume with: itwin-export status " + runLocation(s, conn, *run.ID) + " --wait"} {
		if !strings.Contains(last, part) {
			t.Errorf("error line lacks %q: %s", part, last)
		}
	}
	if stdout.String() != "" {
		t.Errorf("stdout: %q", stdout.String())
	}
}

// TestFakeServerInProcess runs fake-server through run until its context
// ends.
func TestFakeServerInProcess(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	stdout := &watchedWriter{on: func(s string) { urls <- strings.TrimSpace(s) }}
	var stderr syncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"fake-server", "--addr", "127.0.0.1:0"}, nil, stdout, &stderr, nil) }()
	base := <-urls // the first line is the URL
	resp, err := http.Get(base + "/connections?imodelId=m") // no token: 401
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d; stderr:\n%s", code, stderr.String())
	}
	// A bad outcome is a usage error.
	if code := run(context.Background(), []string{"fake-server", "--outcome", "Maybe"}, nil, io.Discard, io.Discard, nil); code != exitUsage {
		t.Errorf("--outcome Maybe: exit %d", code)
	}
}

// TestInProcessConfiguration runs the command in-process with an injected
// environment: flags override variables, and a service app gets its tokens
// by the client-credentials grant.
func TestInProcessConfiguration(t *testing.T) {
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

	opts := manualOpts()
	opts.ValidToken = func(token string) bool { return token == ccToken || token == "flag-token" }
	s := newFake(t, opts)
	conn := addConnection(t, s)

	invoke := func(env map[string]string, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
		return code, stdout.String(), stderr.String()
	}

	t.Run("client credentials", func(t *testing.T) {
		env := map[string]string{envAPIURL: s.URL, envClientID: "app-id", envClientSecret: "app-secret-xyz", envTokenURL: tokens.URL + "/connect/token"}
		code, stdout, stderr := invoke(env, "connection", "get", conn, "--verbose")
		if code != exitOK || !strings.HasPrefix(stdout, conn+"\t") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		for _, secret := range []string{ccToken, "app-secret-xyz"} {
			if strings.Contains(stdout+stderr, secret) {
				t.Errorf("%q in the output", secret)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(forms) != 1 || forms[0].Get("grant_type") != "client_credentials" || forms[0].Get("scope") != wrapper.Scope {
			t.Errorf("token requests: %v", forms)
		}
	})
	t.Run("rejected client secret", func(t *testing.T) {
		refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"bad secret app-secret-xyz"}`)
		}))
		defer refusing.Close()
		env := map[string]string{envAPIURL: s.URL, envClientID: "app-id", envClientSecret: "app-secret-xyz", envTokenURL: refusing.URL}
		code, stdout, stderr := invoke(env, "connection", "get", conn)
		if code != exitRefused || stdout != "" || !strings.Contains(stderr, "invalid_client") {
			t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitRefused, stdout, stderr)
		}
		if strings.Contains(stderr, "app-secret-xyz") {
			t.Errorf("the client secret is in the error: %s", stderr)
		}
	})
	t.Run("flags override variables", func(t *testing.T) {
		env := map[string]string{envAPIURL: "http://127.0.0.1:1/export", envAccessToken: "env-token"}
		code, stdout, stderr := invoke(env, "connection", "get", conn, "--api-url", s.URL, "--token", "flag-token")
		if code != exitOK || !strings.HasPrefix(stdout, conn+"\t") {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		code, _, stderr = invoke(map[string]string{envAPIURL: s.URL, envAccessToken: "env-token"}, "connection", "get", conn)
		if code != exitRefused || !strings.Contains(stderr, "unauthorized") {
			t.Errorf("env token: exit %d, stderr %s", code, stderr)
		}
	})
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
			run := &api.ExportRun{State: &st}
			if st == api.ExecutionStateCompleted {
				run.Result = &result
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
	(&app{}).writeSummary(&b, &api.ExportRun{ID: new("r1"), State: &state, Result: &result, StartDateTime: new(time.Now())}, "")
	if d := diff("run:         r1\nstate:       Executing\nresult:      Undetermined\n", b.String()); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	got := taskErrorText(wrapper.TaskFailure{TaskID: "t1", Error: api.TaskError{ErrorCode: new("E1"), Message: new("went wrong"), KbArticleLink: new("https://kb/1")}})
	if got != "E1: went wrong (task t1, see https://kb/1)" {
		t.Errorf("taskErrorText = %q", got)
	}
}
