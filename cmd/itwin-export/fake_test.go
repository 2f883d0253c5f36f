package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

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
	_, run, err := c.Export(ctx, conn.ID, wrapperRequest(), wrapper.WaitOptions{MinInterval: 10 * time.Millisecond, MaxInterval: 20 * time.Millisecond})
	if err != nil || run.Result != api.ExecutionResultSuccess {
		t.Fatalf("export: %v", err)
	}
	// And the CLI itself.
	r := runCLI(t, map[string]string{envAPIURL: base, envAccessToken: "another-token"},
		"run", "--connection", conn.ID, "--wait", "--poll-interval", "10ms")
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
	base := <-urls                                          // the first line is the URL
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

// startFakeServer runs fake-server in process with args and returns the
// origin it serves at; the server stops when the test ends.
func startFakeServer(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"fake-server", "--addr", "127.0.0.1:0"}, args...), nil, w, io.Discard, nil)
		w.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("fake-server exit %d", code)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no first line: %v", err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return strings.TrimSuffix(strings.TrimSpace(line), "/export")
}

// TestFakeServerControlFlag: the control API answers only with --control;
// without it every path under /_fake/ is an unknown route (404, no token
// asked for).
func TestFakeServerControlFlag(t *testing.T) {
	status := func(method, url string) int {
		t.Helper()
		req, err := http.NewRequest(method, url, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	plain := startFakeServer(t)
	for _, p := range []string{"info", "requests"} {
		if got := status(http.MethodGet, plain+"/_fake/"+p); got != http.StatusNotFound {
			t.Errorf("without --control: GET /_fake/%s = %d, want 404", p, got)
		}
	}
	for _, p := range []string{"reset", "script", "verify"} {
		if got := status(http.MethodPost, plain+"/_fake/"+p); got != http.StatusNotFound {
			t.Errorf("without --control: POST /_fake/%s = %d, want 404", p, got)
		}
	}
	controlled := startFakeServer(t, "--control")
	if got := status(http.MethodGet, controlled+"/_fake/info"); got != http.StatusOK {
		t.Errorf("with --control: GET /_fake/info = %d, want 200", got)
	}
	if got := status(http.MethodPost, controlled+"/_fake/reset"); got != http.StatusNoContent {
		t.Errorf("with --control: POST /_fake/reset = %d, want 204", got)
	}
}

// TestParseBlobRate: fake-server --blob-rate reads RATE[@LATENCY].
func TestParseBlobRate(t *testing.T) {
	for _, tc := range []struct {
		in      string
		rate    int64
		latency time.Duration
		bad     bool
	}{
		{"", 0, 0, false},
		{"16MiB@30ms", 16 << 20, 30 * time.Millisecond, false},
		{"512KiB/s", 512 << 10, 0, false},
		{"1000", 1000, 0, false},
		{"0", 0, 0, true},
		{"fast", 0, 0, true},
		{"1MiB@soon", 0, 0, true},
	} {
		rate, latency, err := parseBlobRate(tc.in)
		if (err != nil) != tc.bad || rate != tc.rate || latency != tc.latency {
			t.Errorf("parseBlobRate(%q) = %d, %v, %v", tc.in, rate, latency, err)
		}
	}
}

func TestFakeServer_RateLimitFlag(t *testing.T) {
	for v, want := range map[string]rateLimitFlag{
		"500/1m":  {500, time.Minute},
		"50/6s":   {50, 6 * time.Second},
		"1/250ms": {1, 250 * time.Millisecond},
	} {
		var f rateLimitFlag
		if err := f.Set(v); err != nil {
			t.Errorf("%q: %v", v, err)
		}
		if diff := cmp.Diff(want, f, cmp.AllowUnexported(rateLimitFlag{})); diff != "" {
			t.Errorf("%q (-want +got):\n%s", v, diff)
		}
	}
	for _, v := range []string{"", "500", "0/1m", "-1/1m", "500/", "500/0s", "500/-1m", "x/1m", "500/minute"} {
		var f rateLimitFlag
		if err := f.Set(v); err == nil {
			t.Errorf("%q accepted as %v", v, f)
		}
	}
	r := runIn(t, nil, "fake-server", "--rate-limit", "500")
	wantCode(t, r, 2)
}

// TestFakeServerRefreshFlags: --refresh-tokens reuse keeps a refresh token
// good after use (rotate, the default, does not: see the tests of
// session_lock_test.go); unknown policies and negative delays are usage
// errors.
func TestFakeServerRefreshFlags(t *testing.T) {
	t.Parallel()
	for _, bad := range [][]string{{"--refresh-tokens", "sometimes"}, {"--refresh-delay", "-1s"}} {
		if code := run(context.Background(), append([]string{"fake-server", "--addr", "127.0.0.1:0"}, bad...), nil, io.Discard, io.Discard, nil); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", bad, code, exitUsage)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	stdout := &watchedWriter{on: func(s string) { urls <- strings.TrimSpace(s) }}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"fake-server", "--addr", "127.0.0.1:0", "--refresh-tokens", "reuse", "--refresh-delay", "1ms"},
			nil, stdout, io.Discard, nil)
	}()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("fake-server: exit %d", code)
		}
	}()
	origin := strings.TrimSuffix(<-urls, "/export")
	verifier := oauth2.GenerateVerifier()
	const redirect = "http://127.0.0.1:9/cb"
	resp, err := noFollowBrowser.Get(origin + apitest.AuthorizePath + "?" + url.Values{"response_type": {"code"}, "client_id": {"app"},
		"redirect_uri": {redirect}, "state": {"s"}, "code_challenge_method": {"S256"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, _ := url.Parse(resp.Header.Get("Location"))
	token := func(form url.Values) map[string]any {
		t.Helper()
		resp, err := http.PostForm(origin+apitest.TokenPath, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("token endpoint: %d (%v), want tokens", resp.StatusCode, err)
		}
		return body
	}
	rt, _ := token(url.Values{"grant_type": {"authorization_code"}, "client_id": {"app"}, "code": {back.Query().Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier}})["refresh_token"].(string)
	for range 2 { // reused: good twice, and no new one answered
		if body := token(url.Values{"grant_type": {"refresh_token"}, "client_id": {"app"}, "refresh_token": {rt}}); body["refresh_token"] != nil {
			t.Error("a reused refresh token was answered with a new one")
		}
	}
}
