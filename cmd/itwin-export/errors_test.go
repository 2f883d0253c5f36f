package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestUsageErrors: exit 2, nothing sent.
func TestUsageErrors(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts())
	conn := addConnection(t, s)
	tests := []struct {
		name  string
		env   map[string]string
		args  []string
		parts []string
	}{
		{"no credentials", map[string]string{envAPIURL: s.URL}, []string{"run", "--connection", conn},
			[]string{envAccessToken, envClientID, envClientSecret, "--token"}},
		{"client id without secret", map[string]string{envAPIURL: s.URL, envClientID: "app"}, []string{"runs", "--connection", conn},
			[]string{envClientSecret}},
		{"bad flag", envFor(s.URL), []string{"run", "--connection", conn, "--no-such-flag"},
			[]string{"flag provided but not defined: --no-such-flag"}},
		{"bad duration", envFor(s.URL), []string{"run", "--connection", conn, "--timeout", "soon"},
			[]string{"--timeout"}},
		{"missing connection", envFor(s.URL), []string{"run"}, []string{"--connection or --connections-file is required"}},
		{"unexpected argument", envFor(s.URL), []string{"runs", "--connection", conn, "extra"}, []string{`unexpected argument "extra"`}},
		{"unknown command", envFor(s.URL), []string{"export"}, []string{`unknown command "export"`}},
		{"no command", envFor(s.URL), nil, []string{"Usage: itwin-export COMMAND"}},
		{"connection without subcommand", envFor(s.URL), []string{"connection"}, []string{"missing command"}},
		{"insecure API URL", map[string]string{envAPIURL: "http://api.example.com/export", envAccessToken: testToken},
			[]string{"connection", "get", conn}, []string{"plain http"}},
		{"bad auth type", envFor(s.URL), []string{"connection", "create", "--imodel", "m", "--auth", "Robot"},
			[]string{"authenticationType (--auth)"}},
		{"relative redirect URL", envFor(s.URL), []string{"auth-info", "--redirect-url", "/callback"},
			[]string{"redirectUrl (--redirect-url)"}},
		{"run id with slash dots", envFor(s.URL), []string{"status", "..", "--connection", conn}, []string{"runID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Requests())
			r := runCLI(t, tt.env, tt.args...)
			wantCode(t, r, exitUsage)
			for _, p := range tt.parts {
				if !strings.Contains(r.stderr, p) {
					t.Errorf("stderr lacks %q:\n%s", p, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty:\n%s", r.stdout)
			}
			if n := len(s.Requests()) - before; n != 0 {
				t.Errorf("the server received %d requests, want none", n)
			}
		})
	}
}

// TestAPIRefusals: a 4xx answer exits 4 with one error line naming the
// class, the API's code and message.
func TestAPIRefusals(t *testing.T) {
	t.Parallel()
	t.Run("404 unknown connection", func(t *testing.T) {
		s := newFake(t, manualOpts())
		r := runCLI(t, envFor(s.URL), "run", "--connection", "no-such-connection")
		wantCode(t, r, exitRefused)
		want := "itwin-export: not found: POST " + s.URL + "/connections/no-such-connection/runs: 404 Not Found: " +
			"ConnectionNotFound: Requested Connection is not available.\n"
		if d := diff(want, r.stderr); d != "" {
			t.Errorf("stderr (-want +got):\n%s", d)
		}
		if r.stdout != "" {
			t.Errorf("stdout not empty:\n%s", r.stdout)
		}
	})
	t.Run("403 may not use", func(t *testing.T) {
		opts := manualOpts()
		opts.MayUse = func(token, connectionID string) bool { return false }
		s := newFake(t, opts)
		conn := addConnection(t, s)
		r := runCLI(t, envFor(s.URL), "run", "--connection", conn, "--wait")
		wantCode(t, r, exitRefused)
		wantOneErrorLine(t, r, "forbidden", "403", "InsufficientPermissions", "insufficient permissions")
		if s.RunCount(conn) != 0 {
			t.Error("a run was created")
		}
	})
	t.Run("401 invalid token", func(t *testing.T) {
		opts := manualOpts()
		opts.ValidToken = func(token string) bool { return false }
		s := newFake(t, opts)
		r := runCLI(t, envFor(s.URL), "connections", "--imodel", "m")
		wantCode(t, r, exitRefused)
		wantOneErrorLine(t, r, "unauthorized", "401", "InvalidToken", "The access token is not valid.")
	})
	t.Run("409 delete while running", func(t *testing.T) {
		s := newFake(t, manualOpts())
		conn := addConnection(t, s)
		if _, err := newClient(t, s.URL).CreateRun(context.Background(), conn, wrapperRequest()); err != nil {
			t.Fatal(err)
		}
		r := runCLI(t, envFor(s.URL), "connection", "delete", conn)
		wantCode(t, r, exitRefused)
		wantOneErrorLine(t, r, "conflict", "409", "ConnectionAlreadyInUse")
	})
}

// TestAPIRefusalsWithDetails: a 422 names each detail; a 429 is retried
// before it is reported.
func TestAPIRefusalsWithDetails(t *testing.T) {
	t.Parallel()
	t.Run("422 with details", func(t *testing.T) {
		// The wrapper refuses locally whatever the fake would answer 422 to,
		// so a plain server plays an API with rules of its own.
		var posts atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			posts.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{ "error": { "code": "InvalidConnectionRunRequest", "message": "Cannot perform operation.", "details": [`+
				`{ "code": "MissingRequiredParameter", "message": "imodelId was not provided.", "target": "imodelId" },`+
				`{ "code": "InvalidValue", "message": "Provided connectionId value is not valid.", "target": "connectionId" } ] } }`)
		}))
		defer srv.Close()
		r := runCLI(t, envFor(srv.URL+"/export"), "run", "--connection", "c1")
		wantCode(t, r, exitRefused)
		wantOneErrorLine(t, r, "invalid request", "422", "InvalidConnectionRunRequest", "Cannot perform operation.",
			"imodelId: MissingRequiredParameter: imodelId was not provided.",
			"connectionId: InvalidValue: Provided connectionId value is not valid.")
		if n := posts.Load(); n != 1 {
			t.Errorf("%d requests, want 1 (a 422 is not retried)", n)
		}
	})
	t.Run("429 after retries", func(t *testing.T) {
		s := newFake(t, manualOpts())
		conn := addConnection(t, s)
		s.InjectFault(apitest.Fault{Method: "GET", Path: "/export/connections/*", Count: 5, Status: http.StatusTooManyRequests,
			Header: http.Header{"Retry-After": {"0"}}})
		r := runCLI(t, envFor(s.URL), "connection", "get", conn)
		wantCode(t, r, exitRefused)
		wantOneErrorLine(t, r, "rate limited", "429")
		if n := len(requestsTo(t, s, "GET", "/export/connections/*")); n != 5 {
			t.Errorf("%d attempts, want 5", n)
		}
	})
}

// TestNoUsableAnswer: exit 5 for network failures, 5xx after retries,
// timeouts and malformed answers.
func TestNoUsableAnswer(t *testing.T) {
	t.Parallel()
	t.Run("unreachable", func(t *testing.T) {
		addr := hangUpAddr(t)
		// A create is not retried after a connection failure (the run may
		// exist), so this fails at once.
		r := runCLI(t, envFor("http://"+addr+"/export"), "run", "--connection", "c1")
		wantCode(t, r, exitNoAnswer)
		wantOneErrorLine(t, r, "no answer", "POST http://"+addr+"/export/connections/c1/runs")
	})
	t.Run("server closed", func(t *testing.T) {
		s := apitest.NewServer(manualOpts())
		conn := addConnection(t, s)
		s.Close()
		r := runCLI(t, envFor(s.URL), "run", "--connection", conn)
		wantCode(t, r, exitNoAnswer)
		wantOneErrorLine(t, r, "no answer")
	})
	t.Run("dropped connection", func(t *testing.T) {
		s := newFake(t, manualOpts())
		conn := addConnection(t, s)
		s.InjectFault(apitest.Fault{Method: "POST", Path: "/export/connections/*/runs", Kind: apitest.FaultDrop})
		r := runCLI(t, envFor(s.URL), "run", "--connection", conn)
		wantCode(t, r, exitNoAnswer)
		wantOneErrorLine(t, r, "no answer", "POST "+s.URL+"/connections/"+conn+"/runs")
	})
}

// TestServerErrors: exit 5 for 5xx after retries and for a timeout.
func TestServerErrors(t *testing.T) {
	t.Parallel()
	t.Run("500 on GET run", func(t *testing.T) {
		s := newFake(t, fastOpts())
		conn := addConnection(t, s)
		s.InjectFault(apitest.Fault{Method: "GET", Path: "/export/connections/*/runs/*", Status: http.StatusInternalServerError})
		r := runCLI(t, envFor(s.URL), "run", "--connection", conn, "--wait", "--poll-interval", "10ms")
		wantCode(t, r, exitNoAnswer)
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "itwin-export: server error: GET ") ||
			!strings.Contains(last, "500 Internal Server Error: InternalServerError") {
			t.Errorf("error line: %s", last)
		}
	})
	t.Run("503 after retries", func(t *testing.T) {
		s := newFake(t, fastOpts())
		conn := addConnection(t, s)
		s.InjectFault(apitest.Fault{Method: "GET", Path: "/export/connections/*/runs/*", Count: 5,
			Status: http.StatusServiceUnavailable, Body: apitest.FaultBodyHTML, Header: http.Header{"Retry-After": {"0"}}})
		r := runCLI(t, envFor(s.URL), "run", "--connection", conn, "--wait", "--poll-interval", "10ms")
		wantCode(t, r, exitNoAnswer)
		if !strings.Contains(r.stderr, "itwin-export: server error: ") || !strings.Contains(r.stderr, "503") {
			t.Errorf("stderr:\n%s", r.stderr)
		}
		if n := len(requestsTo(t, s, "GET", "/export/connections/*/runs/*")); n != 5 {
			t.Errorf("%d GETs of the run, want 5 attempts", n)
		}
	})
	t.Run("timeout on a hung GET", func(t *testing.T) {
		s := newFake(t, fastOpts())
		conn := addConnection(t, s)
		s.InjectFault(apitest.Fault{Method: "GET", Path: "/export/connections/*/runs/*", Count: 100, Kind: apitest.FaultHang})
		start := time.Now()
		r := runCLI(t, envFor(s.URL), "run", "--connection", conn, "--wait", "--poll-interval", "10ms", "--timeout", "300ms")
		wantCode(t, r, exitNoAnswer)
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %s despite --timeout 300ms", d)
		}
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		last := lines[len(lines)-1]
		for _, part := range []string{"itwin-export: timed out", "--timeout 300ms reached", "resume with: itwin-export status http"} {
			if !strings.Contains(last, part) {
				t.Errorf("error line lacks %q: %s", part, last)
			}
		}
	})
}

// TestMalformedAnswers: exit 5 for answers the client cannot use.
func TestMalformedAnswers(t *testing.T) {
	t.Parallel()
	t.Run("malformed answers", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch {
			case r.Method == http.MethodPost:
				w.WriteHeader(http.StatusAccepted) // no Location
			case strings.Contains(r.URL.Path, "/runs/"):
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"run": {"id": "r1"}}`) // no state
			default:
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"connection": {"id": "c1", `)
			}
		}))
		defer srv.Close()
		env := envFor(srv.URL + "/export")
		for _, tt := range []struct {
			args  []string
			parts []string
		}{
			{[]string{"connection", "get", "c1"}, []string{"malformed response", "body is not the expected JSON"}},
			{[]string{"status", "r1", "--connection", "c1"}, []string{"malformed response", `the run has no "state"`}},
			{[]string{"run", "--connection", "c1"}, []string{"missing or invalid Location", "the answer has no Location"}},
		} {
			r := runCLI(t, env, tt.args...)
			wantCode(t, r, exitNoAnswer)
			wantOneErrorLine(t, r, tt.parts...)
		}
	})
	t.Run("unexpected status", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK) // a create answers 202 or 303
		}))
		defer srv.Close()
		r := runCLI(t, envFor(srv.URL+"/export"), "run", "--connection", "c1")
		wantCode(t, r, exitNoAnswer)
		wantOneErrorLine(t, r, "unexpected status", "200")
	})
	t.Run("foreign Location", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "https://elsewhere.example.com/export/connections/c1/runs/r1")
			w.WriteHeader(http.StatusAccepted)
		}))
		defer srv.Close()
		r := runCLI(t, envFor(srv.URL+"/export"), "run", "--connection", "c1", "--wait")
		wantCode(t, r, exitNoAnswer)
		wantOneErrorLine(t, r, "foreign location: outside the API's origin")
	})
}

// TestExitCode maps each class of error onto its exit code.
func TestExitCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{usagef("bad"), exitUsage},
		{&wrapper.ValidationError{Problems: []wrapper.Problem{{Field: "f", Message: "m"}}}, exitUsage},
		{fmt.Errorf("x: %w", wrapper.ErrInsecureToken), exitUsage},
		{&wrapper.RunError{Run: &api.ExportRun{}, Result: api.ExecutionResultError}, exitRunFail},
		{&wrapper.APIError{StatusCode: 400}, exitRefused},
		{&wrapper.APIError{StatusCode: 404}, exitRefused},
		{&wrapper.APIError{StatusCode: 429}, exitRefused},
		{&wrapper.APIError{StatusCode: 500}, exitNoAnswer},
		{&wrapper.APIError{StatusCode: 503}, exitNoAnswer},
		{&wrapper.TransportError{Err: errors.New("refused")}, exitNoAnswer},
		{fmt.Errorf("x: %w", wrapper.ErrMalformedResponse), exitNoAnswer},
		{fmt.Errorf("x: %w", wrapper.ErrUnexpectedStatus), exitNoAnswer},
		{fmt.Errorf("x: %w", wrapper.ErrMissingLocation), exitNoAnswer},
		{fmt.Errorf("x: %w", wrapper.ErrForeignLocation), exitNoAnswer},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), exitNoAnswer},
		{fmt.Errorf("x: %w", wrapper.ErrNoSession), exitUsage},
		{&keptFile{err: fmt.Errorf("%w: /tmp/a.ifc", wrapper.ErrFileExists), hint: "h"}, exitUsage},
		{fmt.Errorf("x: %w", wrapper.ErrInsecureLink), exitNoAnswer},
		{&wrapper.LoginError{Reason: "state"}, exitRefused},
		{&wrapper.SessionExpiredError{Reason: "invalid_grant"}, exitRefused},
		// A wait for the user that --timeout ended is still the missing
		// authorization; a signal during it is an interruption.
		{&stopped{err: &wrapper.AuthorizationRequiredError{URL: "u"}, cause: fmt.Errorf("--timeout: %w", context.DeadlineExceeded)}, exitRefused},
		{&stopped{err: &wrapper.AuthorizationRequiredError{URL: "u"}, cause: &interrupted{sig: syscall.SIGINT}}, exitInterrupt},
	}
	for _, tt := range tests {
		if _, got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

// TestDescribe: every error line starts with its class.
func TestDescribe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{&wrapper.APIError{Method: "GET", URL: "u", StatusCode: 429, Code: "RateLimitExceeded", Message: "m"},
			"rate limited: GET u: 429 Too Many Requests: RateLimitExceeded: m"},
		{fmt.Errorf("waiting for run r: %w", &wrapper.TransportError{Method: "GET", URL: "u", Err: errors.New("refused")}),
			"no answer: waiting for run r: no answer: GET u: refused"},
		{fmt.Errorf("waiting for run r: %w", context.DeadlineExceeded), "timed out: waiting for run r: context deadline exceeded"},
		{fmt.Errorf("waiting: %w", context.Canceled), "interrupted: waiting: context canceled"},
		{&wrapper.RunError{Run: &api.ExportRun{ID: "r"}, Result: api.ExecutionResultError},
			"run did not succeed: run r completed with result Error"},
		{usagef("no credentials"), "usage: no credentials"},
		{&keptFile{err: fmt.Errorf("%w: /d/a.ifc", wrapper.ErrFileExists), hint: "--force replaces it"},
			"file exists (not overwritten): /d/a.ifc; nothing was written (--force replaces it)"},
		{&wrapper.AuthorizationRequiredError{URL: "https://x/auth"},
			"authorization required: the service holds no refresh token of the user; open https://x/auth in a browser to authorize it"},
		{errors.New("line one\nline two"), "line one\nline two"},
	}
	for _, tt := range tests {
		if got := describe(tt.err); got != tt.want {
			t.Errorf("describe(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if got := sanitize("a\nb\r\nc"); got != "a b  c" {
		t.Errorf("sanitize = %q", got)
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

// TestUsageErrorsSaidPlainly: a usage error says what to fix: a duration's
// unit, an empty connections file, half a service app, a URL that is no run.
func TestUsageErrorsSaidPlainly(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts())
	empty := filepath.Join(t.TempDir(), "ids.txt")
	if err := os.WriteFile(empty, []byte("# none yet\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"poll interval without unit", envFor(s.URL), []string{"run", "--connection", "c1", "--wait", "--poll-interval", "5"},
			"needs a unit, for example 5s"},
		{"empty connections file", envFor(s.URL), []string{"run", "--connections-file", empty}, "held no connection ids"},
		{"secret without id", map[string]string{envAPIURL: s.URL, envClientSecret: "s3cret-0123"}, []string{"runs", "--connection", "c1"},
			envClientSecret + " is set but " + envClientID + " is not"},
		{"status of an ftp URL", envFor(s.URL), []string{"status", "ftp://files.example.com/export/connections/c1/runs/r1"},
			"is not a run URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Requests())
			r := runIn(t, tt.env, tt.args...)
			wantCode(t, r, exitUsage)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, r.stderr)
			}
			if n := len(s.Requests()) - before; n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
	r := runIn(t, nil, "run", "--help")
	if !strings.Contains(r.stdout, "how many to export at once") {
		t.Errorf("--parallel help:\n%s", r.stdout)
	}
}

// TestListingPageBound: a listing whose every page links to a new next page
// stops at the client's page bound with exit 5.
func TestListingPageBound(t *testing.T) {
	t.Parallel()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		next := srv.URL + "/export/connections/c1/runs?page=" + r.URL.Query().Get("page") + "x"
		w.Write([]byte(`{"runs":[],"_links":{"next":{"href":"` + next + `"}}}`))
	}))
	t.Cleanup(srv.Close)
	r := runIn(t, envFor(srv.URL+"/export"), "runs", "--connection", "c1")
	wantCode(t, r, exitNoAnswer)
	wantOneErrorLine(t, r, "malformed response")
}
