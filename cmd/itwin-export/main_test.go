package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/internal/leakcheck"
	"github.com/itwin-export/itwin-export/wrapper"
)

// binPath is the itwin-export binary TestMain builds; the tests drive it
// with os/exec as a user would.
var binPath string

// testToken is the bearer token the tests pass; it must never be printed.
const testToken = "tok-SECRET-a1b2c3d4e5f6"

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "itwin-export-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "itwin-export")
	args := []string{"build", "-o", binPath}
	if raceEnabled {
		args = append(args, "-race") // the binary checks itself for races too
	}
	build := exec.Command("go", append(args, ".")...)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := leakcheck.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// result is what a run of the binary produced.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command in process, as a user would run the binary.
func runCLI(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	return runIn(t, env, args...)
}

// runBinary runs the built binary with args and exactly the environment env
// (nothing is inherited, so the user's own ITWIN_* variables cannot leak
// in): the end-to-end check of main.
func runBinary(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = envList(env)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && ctx.Err() == nil:
	default:
		t.Fatalf("itwin-export %q: %v\nstderr: %s", args, err, stderr.String())
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// envList turns env into the form of exec.Cmd.Env, sorted. A race-enabled
// binary is told to exit at once instead of sleeping a second first, and to
// fail with exit 66 on a race.
func envList(env map[string]string) []string {
	list := []string{}
	if raceEnabled {
		list = append(list, "GORACE=atexit_sleep_ms=0 exitcode=66")
	}
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// envFor is the environment of a user with a token, pointed at base.
func envFor(base string) map[string]string {
	return map[string]string{envAPIURL: base, envAccessToken: testToken}
}

// wantCode fails the test unless r exited with code.
func wantCode(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

// wantOneErrorLine fails the test unless stderr holds exactly one line, the
// error, containing every part.
func wantOneErrorLine(t *testing.T, r result, parts ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "itwin-export: ") {
		t.Fatalf("stderr is not one error line:\n%s", r.stderr)
	}
	for _, p := range parts {
		if !strings.Contains(lines[0], p) {
			t.Errorf("error line lacks %q:\n%s", p, lines[0])
		}
	}
}

// newFake starts an apitest server that fails the test on any contract
// violation, closed when the test ends.
func newFake(t *testing.T, opts apitest.Options) *apitest.Server {
	t.Helper()
	opts.OnContractViolation = func(err error) { t.Errorf("contract violation: %v", err) }
	s := apitest.NewServer(opts)
	t.Cleanup(s.Close)
	return s
}

// manualOpts are server options on a clock that never moves: runs stay
// NotStarted, hence active, for the whole test.
func manualOpts() apitest.Options {
	return apitest.Options{Clock: apitest.NewManualClock(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))}
}

// newClient is a wrapper client of the fake, for the tests' own checks.
func newClient(t *testing.T, base string) *wrapper.Client {
	t.Helper()
	c, err := wrapper.New(wrapper.Options{BaseURL: base, TokenSource: wrapper.StaticToken(testToken)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// iModels counts the iModels addConnection made up.
var iModels atomic.Int64

// addConnection adds a connection to the fake, for an iModel of its own (the
// API keeps one active run per iModel), and returns its id.
func addConnection(t *testing.T, s *apitest.Server) string {
	t.Helper()
	c := s.AddConnection(api.ExportConnectionCreate{IModelID: fmt.Sprintf("imodel-%d", iModels.Add(1))})
	return c.ID
}

// onlyRun returns the one run of a connection, as the API shows it.
func onlyRun(t *testing.T, s *apitest.Server, connectionID string) *api.ExportRun {
	t.Helper()
	var runs []api.ExportRun
	for r, err := range newClient(t, s.URL).Runs(context.Background(), connectionID) {
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	if len(runs) != 1 {
		t.Fatalf("connection %s has %d runs, want 1", connectionID, len(runs))
	}
	return &runs[0]
}

// runLocation is the absolute Location of a run of the fake.
func runLocation(s *apitest.Server, connectionID, runID string) string {
	return s.URL + "/connections/" + connectionID + "/runs/" + runID
}

// rawRun GETs a run straight from the server and returns the run object as
// the API sent it.
func rawRun(t *testing.T, location string) any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, location, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Accept", "application/vnd.bentley.itwin-platform.v1+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v struct{ Run any }
	if err := json.Unmarshal(body, &v); err != nil || v.Run == nil {
		t.Fatalf("GET %s: %d %s", location, resp.StatusCode, body)
	}
	return v.Run
}

// decodeJSON decodes a whole stdout that must be one JSON value and a newline.
func decodeJSON(t *testing.T, stdout string) any {
	t.Helper()
	if !strings.HasSuffix(stdout, "}\n") && !strings.HasSuffix(stdout, "]\n") {
		t.Fatalf("stdout is not one JSON value and a newline:\n%s", stdout)
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(&v); err != nil || dec.More() {
		t.Fatalf("stdout is not one JSON value (%v):\n%s", err, stdout)
	}
	return v
}

// requestsTo returns the recorded requests with the method whose escaped
// path matches the glob.
func requestsTo(t *testing.T, s *apitest.Server, method, glob string) []apitest.RecordedRequest {
	t.Helper()
	var out []apitest.RecordedRequest
	for _, r := range s.Requests() {
		if ok, _ := path.Match(glob, r.Path); ok && r.Method == method {
			out = append(out, r)
		}
	}
	return out
}

// diff compares two values with go-cmp.
func diff(want, got any) string { return cmp.Diff(want, got) }

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
