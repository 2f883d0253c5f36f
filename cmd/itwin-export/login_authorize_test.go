package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

// userConnection adds a User connection to a fake that fails the runs of
// users who have not authorized the service.
func userConnection(t *testing.T) (*apitest.Server, string) {
	t.Helper()
	s := newFake(t, apitest.Options{StepDuration: 20 * time.Millisecond, OAuth: apitest.OAuthOptions{RequireUserAuthorization: true}})
	return s, addConnection(t, s)
}

// TestRunAuthorize: not authorized, run --authorize prints the URL, waits
// for the visit and then creates the run, which succeeds: its user is now
// authorized.
func TestRunAuthorize(t *testing.T) {
	s, conn := userConnection(t)
	cmd := start(context.Background(), envFor(s.URL), "run", "--connection", conn, "--authorize", "--no-browser", "--wait", "--poll-interval", "10ms")
	u := cmd.nextURL(t)
	if !strings.Contains(u, apitest.ExportAuthorizePath) {
		t.Fatalf("printed URL %q is not the authorizationUrl", u)
	}
	if n := len(requestsTo(t, s, http.MethodPost, "/export/connections/*/runs")); n != 0 {
		t.Fatalf("%d runs created before the authorization", n)
	}
	if status, page := visit(t, u); status != http.StatusOK || !strings.Contains(page, "checks your authorization") {
		t.Errorf("browser ended on %d %q, want the command's loopback page", status, page)
	}
	r := cmd.wait()
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "authorization required") || !strings.Contains(r.stdout, "Success") {
		t.Errorf("stdout %q, stderr:\n%s", r.stdout, r.stderr)
	}
	if n := s.RunCount(conn); n != 1 {
		t.Fatalf("%d runs, want 1", n)
	}
	// Authorized now: --authorize asks once and creates the run at once.
	before := len(s.Requests())
	r = runIn(t, envFor(s.URL), "run", "--connection", addConnection(t, s), "--authorize", "--no-browser")
	wantCode(t, r, exitOK)
	if n := len(s.Requests()) - before; n != 2 || strings.Contains(r.stderr, "authorization required") {
		t.Errorf("%d requests (want the check and the create); stderr:\n%s", n, r.stderr)
	}
}

// TestRunAuthorizeNeverVisited: the wait ends with --timeout: exit 4, class
// authorization required, the URL on stderr, and no run created.
func TestRunAuthorizeNeverVisited(t *testing.T) {
	s, conn := userConnection(t)
	r := runIn(t, envFor(s.URL), "run", "--connection", conn, "--authorize", "--no-browser", "--timeout", "300ms")
	wantCode(t, r, exitRefused)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "itwin-export: authorization required: ") || !strings.Contains(last, apitest.ExportAuthorizePath+"?ticket=") {
		t.Errorf("last stderr line %q, want the class and the URL", last)
	}
	if n := len(requestsTo(t, s, http.MethodPost, "/export/connections/*/runs")); n != 0 || s.RunCount(conn) != 0 {
		t.Errorf("%d POSTs to runs, want none", n)
	}
	if r.stdout != "" {
		t.Errorf("stdout %q, want empty", r.stdout)
	}
}

// TestRunWithoutAuthorize: without --authorize, run sends no extra request;
// in the fake's model the run of an unauthorized user fails with a task
// error that says so.
func TestRunWithoutAuthorize(t *testing.T) {
	s, conn := userConnection(t)
	r := runIn(t, envFor(s.URL), "run", "--connection", conn, "--wait", "--poll-interval", "10ms")
	wantCode(t, r, exitRunFail)
	if n := len(requestsTo(t, s, http.MethodGet, "/export/authorizationinformation")); n != 0 {
		t.Errorf("%d authorization requests, want none", n)
	}
	if !strings.Contains(r.stdout+r.stderr, "UserNotAuthorized") {
		t.Errorf("the task error does not say the user is not authorized:\n%s%s", r.stdout, r.stderr)
	}
}

// TestConnectionCreateSaysWhetherAuthorizationIsNeeded: a User connection
// gets a note on stderr; a Service connection none, and no extra request.
func TestConnectionCreateSaysWhetherAuthorizationIsNeeded(t *testing.T) {
	s, _ := userConnection(t)
	env := envFor(s.URL)
	r := runIn(t, env, "connection", "create", "--imodel", "m1", "--auth", "User")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "authorization required") || !strings.Contains(r.stderr, "--authorize") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	before := len(requestsTo(t, s, http.MethodGet, "/export/authorizationinformation"))
	r = runIn(t, env, "connection", "create", "--imodel", "m2", "--auth", string(api.AuthenticationTypeService))
	wantCode(t, r, exitOK)
	if strings.Contains(r.stderr, "authorization") || len(requestsTo(t, s, http.MethodGet, "/export/authorizationinformation")) != before {
		t.Errorf("a Service connection got an authorization check; stderr:\n%s", r.stderr)
	}
	cmd := start(context.Background(), env, "run", "--connection", addConnection(t, s), "--authorize", "--no-browser")
	visit(t, cmd.nextURL(t))
	wantCode(t, cmd.wait(), exitOK)
	r = runIn(t, env, "connection", "create", "--imodel", "m3", "--auth", "User")
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "holds your authorization") {
		t.Errorf("after authorizing, stderr:\n%s", r.stderr)
	}
}
