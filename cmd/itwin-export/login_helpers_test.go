package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// watchedStderr is a command's stderr that hands each URL printed on a line
// of its own (as login and run --authorize print them) to urls.
type watchedStderr struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	line []byte
	urls chan string
}

// Write keeps p and looks for URL lines in it.
func (w *watchedStderr) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	w.line = append(w.line, p...)
	for {
		i := bytes.IndexByte(w.line, '\n')
		if i < 0 {
			break
		}
		if l := strings.TrimSpace(string(w.line[:i])); strings.HasPrefix(l, "http") && !strings.Contains(l, " ") {
			select {
			case w.urls <- l:
			default:
			}
		}
		w.line = w.line[i+1:]
	}
	return len(p), nil
}

// String is everything written so far.
func (w *watchedStderr) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// running is a command running in process.
type running struct {
	stderr *watchedStderr
	stdout bytes.Buffer
	done   chan int
}

// start runs the command in process with exactly env as its environment.
func start(ctx context.Context, env map[string]string, args ...string) *running {
	r := &running{stderr: &watchedStderr{urls: make(chan string, 8)}, done: make(chan int, 1)}
	go func() {
		r.done <- run(ctx, args, strings.NewReader(""), &r.stdout, r.stderr, func(k string) string { return env[k] })
	}()
	return r
}

// nextURL waits for the next URL the command prints.
func (r *running) nextURL(t *testing.T) string {
	t.Helper()
	select {
	case u := <-r.stderr.urls:
		return u
	case code := <-r.done:
		r.done <- code
		t.Fatalf("the command ended (exit %d) without printing a URL:\n%s", code, r.stderr)
	}
	return ""
}

// wait returns the command's result once it has ended.
func (r *running) wait() result {
	code := <-r.done
	return result{code: code, stdout: r.stdout.String(), stderr: r.stderr.String()}
}

// testBrowser is the person's browser: it follows redirects.
var testBrowser = &http.Client{Timeout: 10 * time.Second}

// visit plays the browser on u and returns the final status and page.
func visit(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := testBrowser.Get(u)
	if err != nil {
		t.Errorf("browser: %v", err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// loginEnv is the environment of a person who signs in at the fake, with a
// configuration directory of the test's own.
func loginEnv(t *testing.T, s *apitest.Server) map[string]string {
	authURL, tokenURL := s.OAuthURLs()
	return map[string]string{
		envAPIURL:        s.URL,
		envClientID:      "native-app",
		envAuthorizeURL:  authURL,
		envTokenURL:      tokenURL,
		envXDGConfigHome: t.TempDir(),
		envHome:          t.TempDir(),
	}
}

// storeOf is the session store of env.
func storeOf(env map[string]string) *wrapper.SessionStore {
	return &wrapper.SessionStore{Path: wrapper.SessionPath(env[envXDGConfigHome])}
}

// tokenForms returns the forms the fake's token endpoint received.
func tokenForms(t *testing.T, s *apitest.Server) []url.Values {
	t.Helper()
	var forms []url.Values
	for _, r := range requestsTo(t, s, http.MethodPost, apitest.TokenPath) {
		f, err := url.ParseQuery(string(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		forms = append(forms, f)
	}
	return forms
}

// grants are the grant types of token requests: what a failure may show of
// them (their other fields are secrets).
func grants(forms []url.Values) []string {
	var out []string
	for _, f := range forms {
		out = append(out, f.Get("grant_type"))
	}
	return out
}

// lastBearer is the bearer token of the last API request the fake received.
func lastBearer(s *apitest.Server) string {
	reqs := s.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if strings.HasPrefix(reqs[i].Path, "/export/") {
			return strings.TrimPrefix(reqs[i].Header.Get("Authorization"), "Bearer ")
		}
	}
	return ""
}
