package wrapper_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/internal/secretscan"
	"github.com/itwin-export/itwin-export/wrapper"
)

// Planted credentials: the scanner searches for each of them, verbatim and
// decoded every way, in what the client prints.
const (
	plantedToken  = "planted-token-0123/abc+def="
	plantedSecret = "planted-secret-4567/ghi&jkl"
	plantedSig    = "PLANTEDSIG0123abc"
	plantedCode   = "PLANTEDCODE0123"
)

// plantedClient is a client that has sent plantedToken and knows
// plantedSecret (as Options.Secrets), on an API server that answers 404.
func plantedClient(t *testing.T) *wrapper.Client {
	t.Helper()
	srv := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 404, `{"error":{"code":"ConnectionNotFound","message":"no"}}`)
	})
	c := newClient(t, srv.base(), func(o *wrapper.Options) {
		o.TokenSource = wrapper.StaticToken(plantedToken)
		o.Secrets = []string{plantedSecret, "client-id:" + plantedSecret}
	})
	if _, err := c.GetConnection(context.Background(), "c1"); !errors.Is(err, wrapper.ErrNotFound) {
		t.Fatalf("setup: %v", err)
	}
	return c
}

// scanPlanted fails for every planted credential found in text.
func scanPlanted(t *testing.T, what, text string) {
	t.Helper()
	for _, f := range secretscan.Scan(text, plantedToken, plantedSecret, plantedSig, plantedCode) {
		t.Errorf("%s: %s\nin %q", what, f, text)
	}
}

// TestRunErrorScrubbed: a failed run whose ids, error code, description and
// message echo the bearer token and a SAS signature prints neither, through
// WaitRun (the client's credentials) and RunResult (SAS signatures).
func TestRunErrorScrubbed(t *testing.T) {
	sas := "https://acct.blob.core.windows.net/c/x?sv=1&sig=" + plantedSig
	run := fmt.Sprintf(`{"run":{"id":"r1","connectionId":"c1","state":"Completed","result":"Error","jobs":[{"id":"j-%[1]s","tasks":[
 {"id":"t-%[1]s","error":{"errorCode":"E-%[1]s","description":"token %[1]s and %[2]s"}},
 {"id":"t2","error":{"errorCode":"E2","message":"Bearer %[1]s, %[3]s"}}]}]}}`, plantedToken, sas, url.QueryEscape(sas))
	srv := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, run) })
	c := newClient(t, srv.base(), func(o *wrapper.Options) { o.TokenSource = wrapper.StaticToken(plantedToken) })
	ref, err := c.RunRefFor("c1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.WaitRun(context.Background(), ref, wrapper.WaitOptions{})
	var re *wrapper.RunError
	if !errors.As(err, &re) || len(re.Tasks) != 2 {
		t.Fatalf("error %v, want a *RunError with two tasks", err)
	}
	text := err.Error()
	if !strings.Contains(text, "REDACTED") || !strings.Contains(text, re.Tasks[1].String()[:len("task t2: E2")]) {
		t.Errorf("the error does not list the task errors: %s", text)
	}
	scanPlanted(t, "WaitRun's RunError", text+"\n"+fmt.Sprintf("%v", err))
	scanPlanted(t, "RunResult's RunError (SAS)", strings.ReplaceAll(wrapper.RunResult(got).Error(), plantedToken, ""))
}

// TestTaskFailureString pins the one text of a task error, which RunError
// uses for each task.
func TestTaskFailureString(t *testing.T) {
	fix := true
	tf := wrapper.TaskFailure{JobID: "j1", TaskID: "t1", Error: api.TaskError{
		ErrorCode: ptr("TAE_BRW_1000"), Description: ptr("Failed to export your file."), Message: ptr("not shown"),
		CanUserFix: &fix, KbArticleLink: ptr("https://kb.example.com/1")}}
	want := "task t1: TAE_BRW_1000: Failed to export your file. (user can fix: true) (see https://kb.example.com/1)"
	if got := tf.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	onlyMessage := wrapper.TaskFailure{TaskID: "t2", Error: api.TaskError{ErrorCode: ptr("E"), Message: ptr("the message")}}
	if got := onlyMessage.String(); got != "task t2: E: the message" {
		t.Errorf("String() = %q", got)
	}
	e := &wrapper.RunError{Run: &api.ExportRun{ID: "r1"}, Result: api.ExecutionResultError, Tasks: []wrapper.TaskFailure{tf, onlyMessage}}
	if got, want := e.Error(), "run r1 completed with result Error; "+tf.String()+"; "+onlyMessage.String(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestLocationAndLogsScrubbed: a token echoed in a Location is in neither
// the LocationError of a foreign Location or of one that names no run, nor
// the logged URL of a run whose id carries it.
func TestLocationAndLogsScrubbed(t *testing.T) {
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && n == 0:
			w.Header().Set("Location", "https://evil.example/steal/"+url.PathEscape(plantedToken))
			w.WriteHeader(http.StatusAccepted)
		case r.Method == http.MethodPost && n == 1:
			w.Header().Set("Location", "/export/connections/"+url.PathEscape(plantedToken))
			w.WriteHeader(http.StatusAccepted)
		case r.Method == http.MethodPost:
			w.Header().Set("Location", "/export/connections/c1/runs/"+url.PathEscape(plantedToken))
			w.WriteHeader(http.StatusAccepted)
		default:
			writeJSON(w, 500, `{"error":{"code":"Down","message":"down"}}`)
		}
	})
	var logs bytes.Buffer
	c := newClient(t, srv.base(), func(o *wrapper.Options) {
		o.TokenSource = wrapper.StaticToken(plantedToken)
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.Retry.MaxAttempts = 1
	})
	ctx := context.Background()
	_, errLoc := c.CreateRun(ctx, "c1", ifcRequest())
	if !errors.Is(errLoc, wrapper.ErrForeignLocation) {
		t.Fatalf("error %v, want ErrForeignLocation", errLoc)
	}
	_, errNotRun := c.CreateRun(ctx, "c1", ifcRequest())
	if !errors.Is(errNotRun, wrapper.ErrMissingLocation) {
		t.Fatalf("error %v, want ErrMissingLocation", errNotRun)
	}
	ref, err := c.CreateRun(ctx, "c1", ifcRequest())
	if err != nil || ref.RunID != plantedToken {
		t.Fatalf("ref %+v, %v", ref, err)
	}
	_, err2 := c.GetRun(ctx, ref)
	if !errors.Is(err2, wrapper.ErrServer) || !strings.Contains(logs.String(), "status=500") {
		t.Fatalf("error %v, logs:\n%s", err2, logs.String())
	}
	scanPlanted(t, "errors and logs", errLoc.Error()+"\n"+errNotRun.Error()+"\n"+err2.Error()+"\n"+logs.String())
}

// rotatingTokens gives a new token on every call.
type rotatingTokens struct{ n atomic.Int32 }

func (r *rotatingTokens) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: fmt.Sprintf("rotating-token-%d-abcdef", r.n.Add(1)), TokenType: "Bearer"}, nil
}

// TestEveryTokenSentScrubbed: an answer that echoes a token sent before the
// current one is scrubbed too.
func TestEveryTokenSentScrubbed(t *testing.T) {
	var seenTokens []string
	srv := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		seenTokens = append(seenTokens, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		writeJSON(w, 404, fmt.Sprintf(`{"error":{"code":"NotFound","message":"tokens seen: %s"}}`, strings.Join(seenTokens, ", ")))
	})
	c := newClient(t, srv.base(), func(o *wrapper.Options) { o.TokenSource = &rotatingTokens{} })
	var err error
	for range 3 {
		_, err = c.GetConnection(context.Background(), "c1")
	}
	if !errors.Is(err, wrapper.ErrNotFound) || len(seenTokens) != 3 {
		t.Fatalf("error %v after %d requests", err, len(seenTokens))
	}
	for _, f := range secretscan.Scan(err.Error(), seenTokens...) {
		t.Errorf("%s in %q", f, err)
	}
}
