package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

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

// TestSmallGaps: what a new user met, each said plainly.
func TestSmallGaps(t *testing.T) {
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

// TestHelpExamplesParse: every example of every help runs as written after
// go build (./itwin-export), its flags accepted: with no credentials and an
// ended context, none ends in a usage error about its own flags.
func TestHelpExamplesParse(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var names [][]string
	for _, e := range commands() {
		names = append(names, []string{e.name})
	}
	for _, e := range connectionCommands {
		names = append(names, []string{"connection", e.name})
	}
	names = append(names, nil, []string{"connection"})
	seen := 0
	for _, name := range names {
		help := runIn(t, nil, append(name, "--help")...).stdout
		for _, l := range strings.Split(help, "\n") {
			example, ok := strings.CutPrefix(l, "  ./itwin-export ")
			if !ok || strings.ContainsAny(example, "&$;") {
				continue
			}
			seen++
			args := shellWords(example)
			r := runInCtx(t, ctx, nil, args...)
			if strings.Contains(r.stderr, "--help' for usage") {
				t.Errorf("example %q: %s", example, r.stderr)
			}
		}
	}
	if seen < 10 {
		t.Errorf("only %d examples found", seen)
	}
}

// shellWords splits a command line as sh does for plain words and single
// quotes.
func shellWords(line string) []string {
	var (
		words  []string
		word   strings.Builder
		quoted bool
		inWord bool
	)
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words
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
