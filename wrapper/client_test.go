package wrapper_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

func TestErrorBodiesAreClassified(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		want        error
		wantCode    string
		wantBody    string
	}{
		{"401 html", 401, "text/html", "<html><body>Unauthorized</body></html>", wrapper.ErrUnauthorized, "", "<html><body>Unauthorized</body></html>"},
		{"500 empty", 500, "", "", wrapper.ErrServer, "", ""},
		{"403 api", 403, "application/json", `{"error":{"code":"InsufficientPermissions","message":"The user has insufficient permissions for the requested operation."}}`, wrapper.ErrForbidden, "InsufficientPermissions", ""},
		{"404 truncated json", 404, "application/json", `{"error":{"code":"ConnectionNotF`, wrapper.ErrNotFound, "", `{"error":{"code":"ConnectionNotF`},
		{"422", 422, "application/json", `{"error":{"code":"InvalidConnectionRunRequest","message":"Cannot perform operation.","details":[{"code":"InvalidValue","message":"bad","target":"exportType"}]}}`, wrapper.ErrInvalidRequest, "InvalidConnectionRunRequest", ""},
		{"400", 400, "text/plain", "bad request", wrapper.ErrInvalidRequest, "", "bad request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			_, err := newClient(t, srv.base()).GetConnection(context.Background(), "c1")
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, other := range []error{wrapper.ErrUnauthorized, wrapper.ErrForbidden, wrapper.ErrNotFound, wrapper.ErrConflict, wrapper.ErrInvalidRequest, wrapper.ErrRateLimited, wrapper.ErrServer} {
				if other != tc.want && errors.Is(err, other) {
					t.Errorf("err also matches %v", other)
				}
			}
			var ae *wrapper.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err is %T, want *APIError", err)
			}
			if ae.StatusCode != tc.status || ae.Code != tc.wantCode || ae.Body != strings.TrimSpace(ae.Body) {
				t.Errorf("APIError = %+v", ae)
			}
			if tc.wantBody != "" && ae.Body != tc.wantBody {
				t.Errorf("Body = %q, want %q", ae.Body, tc.wantBody)
			}
			if n := len(srv.seen()); n != 1 {
				t.Errorf("server saw %d requests; %d is not retried", n, tc.status)
			}
		})
	}
}

func TestAPIErrorDetails(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 422, `{"error":{"code":"InvalidConnectionRunRequest","message":"Cannot perform operation.","details":[{"code":"MissingRequiredParameter","message":"imodelId was not provided.","target":"imodelId"},{"code":"InvalidValue","message":"Provided connectionId value is not valid.","target":"connectionId"}]}}`)
	})
	_, err := newClient(t, srv.base()).CreateRun(context.Background(), "c1", ifcRequest())
	var ae *wrapper.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v", err)
	}
	want := []api.ErrorDetails{
		{Code: "MissingRequiredParameter", Message: "imodelId was not provided.", Target: ptr("imodelId")},
		{Code: "InvalidValue", Message: "Provided connectionId value is not valid.", Target: ptr("connectionId")},
	}
	if diff := cmp.Diff(want, ae.Details); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
	wantText := "invalid request: POST " + srv.base() + "/connections/c1/runs: 422 Unprocessable Entity: InvalidConnectionRunRequest: Cannot perform operation.; imodelId: MissingRequiredParameter: imodelId was not provided.; connectionId: InvalidValue: Provided connectionId value is not valid."
	if err.Error() != wantText {
		t.Errorf("error text\n got %s\nwant %s", err, wantText)
	}
}

func TestErrorExcerptIsBoundedAndRedacted(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("x", 4096)
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 500, "token "+testToken+" and Bearer "+testToken+" https://acct.blob.core.windows.net/c?sv=1&sig=SASSIGNATURE "+huge)
	})
	_, err := newClient(t, srv.base()).GetConnection(context.Background(), "c1")
	var ae *wrapper.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v", err)
	}
	if len(ae.Body) > 512 {
		t.Errorf("excerpt is %d bytes, want at most 512", len(ae.Body))
	}
	for _, secret := range []string{testToken, "SASSIGNATURE"} {
		if strings.Contains(err.Error(), secret) || strings.Contains(ae.Body, secret) {
			t.Errorf("error carries a secret %q: %v", secret, err)
		}
	}
}

func TestUnusableSuccessAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"not json", 200, "<html>oops</html>", wrapper.ErrMalformedResponse},
		{"truncated", 200, `{"run":{"id":"r1","state":"Exe`, wrapper.ErrMalformedResponse},
		{"no run", 200, `{"runs":[]}`, wrapper.ErrMalformedResponse},
		{"no state", 200, `{"run":{"id":"r1"}}`, wrapper.ErrMalformedResponse},
		{"trailing data", 200, `{"run":{"id":"r1","state":"Queued"}} {}`, wrapper.ErrMalformedResponse},
		{"unexpected 204", 204, "", wrapper.ErrUnexpectedStatus},
		{"redirect", 302, "", wrapper.ErrUnexpectedStatus},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if tc.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				writeJSON(w, tc.status, tc.body)
			})
			c := newClient(t, srv.base())
			ref, err := c.RunRefFor("c1", "r1")
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetRun(context.Background(), ref)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if n := len(srv.seen()); n != 1 {
				t.Errorf("server saw %d requests, want 1", n)
			}
		})
	}
}

func TestOneConnectionForAThousandCalls(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n%3 == 0 {
			writeJSON(w, 404, `{"error":{"code":"ConnectionNotFound","message":"Requested Connection is not available."}}`)
			return
		}
		writeJSON(w, 200, `{"connection":{"id":"c1"}}`)
	})
	c := newClient(t, srv.base())
	notFound := 0
	for i := 0; i < 1000; i++ {
		_, err := c.GetConnection(context.Background(), "c1")
		switch {
		case errors.Is(err, wrapper.ErrNotFound):
			notFound++
		case err != nil:
			t.Fatal(err)
		}
	}
	if notFound != 334 {
		t.Errorf("%d answers were 404, want 334", notFound)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Errorf("server accepted %d TCP connections for 1000 calls, want 1", n)
	}
}

func TestNew_TokenOnlyOverTLSOrLoopback(t *testing.T) {
	t.Parallel()
	_, err := wrapper.New(wrapper.Options{BaseURL: "http://api.example.net/export", TokenSource: wrapper.StaticToken(testToken)})
	if !errors.Is(err, wrapper.ErrInsecureToken) {
		t.Errorf("plain http to a remote host: err = %v, want ErrInsecureToken", err)
	}
	for _, base := range []string{"http://127.0.0.1:8080/export", "http://[::1]:8080/export", "http://localhost/export", "https://api.bentley.com/export"} {
		if _, err := wrapper.New(wrapper.Options{BaseURL: base, TokenSource: wrapper.StaticToken(testToken)}); err != nil {
			t.Errorf("%s: %v", base, err)
		}
	}
	if _, err := wrapper.New(wrapper.Options{BaseURL: "https://api.bentley.com/export"}); err == nil {
		t.Error("no token source: want an error")
	}
}

func TestNew_RefusesABlankStaticToken(t *testing.T) {
	t.Parallel()
	for _, tok := range []string{"", " ", "\t\n"} {
		c, err := wrapper.New(wrapper.Options{BaseURL: "https://api.bentley.com/export", TokenSource: wrapper.StaticToken(tok)})
		var verr *wrapper.ValidationError
		if c != nil || !errors.Is(err, wrapper.ErrValidation) || !errors.As(err, &verr) {
			t.Fatalf("StaticToken(%q): client %v, err = %v, want a *ValidationError matching ErrValidation", tok, c, err)
		}
		want := []wrapper.Problem{{Field: "Options.TokenSource", Message: "StaticToken was given a blank token"}}
		if diff := cmp.Diff(want, verr.Problems); diff != "" {
			t.Errorf("StaticToken(%q): problems (-want +got):\n%s", tok, diff)
		}
	}
	if _, err := wrapper.New(wrapper.Options{BaseURL: "https://api.bentley.com/export", TokenSource: wrapper.StaticToken(" padded ")}); err != nil {
		t.Errorf("a token with spaces around it: %v, want it used as is", err)
	}
}

func TestNew_HTTPClientIsNotMutated(t *testing.T) {
	t.Parallel()
	hc := &http.Client{Timeout: 7 * time.Second}
	if _, err := wrapper.New(wrapper.Options{TokenSource: wrapper.StaticToken(testToken), HTTPClient: hc}); err != nil {
		t.Fatal(err)
	}
	if hc.CheckRedirect != nil || hc.Transport != nil || hc.Timeout != 7*time.Second {
		t.Errorf("the caller's http.Client was modified: %+v", hc)
	}
}

func TestLogsAreRedacted(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"authorizationInformation":{"isUserAuthorized":true}}`)
	})
	var logs bytes.Buffer
	c := newClient(t, srv.base(), func(o *wrapper.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	info, err := c.AuthorizationInformation(context.Background(), "https://app.example.com/cb?code=AUTHCODE&sig=SIGVALUE")
	if err != nil {
		t.Fatal(err)
	}
	if info.IsUserAuthorized == nil || !*info.IsUserAuthorized {
		t.Errorf("info = %+v", info)
	}
	out := logs.String()
	if !strings.Contains(out, "status=200") || !strings.Contains(out, "attempt=1") {
		t.Errorf("log lacks the exchange: %s", out)
	}
	for _, secret := range []string{testToken, "AUTHCODE", "SIGVALUE"} {
		if strings.Contains(out, secret) {
			t.Errorf("log carries %q: %s", secret, out)
		}
	}
}

// Options.Clock does every wait of the client: a Retry-After, the
// client-wide pause it starts, the polls.
func TestOptions_ClockDoesTheRetryAfterAndThePolls(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "7")
			writeJSON(w, http.StatusTooManyRequests, `{"error":{"code":"RateLimitExceeded","message":"slow down"}}`)
			return
		}
		queuedThenDone(n-1, w, r)
	})
	clock := newFakeClock()
	start := clock.Now()
	c := newClient(t, srv.base(), func(o *wrapper.Options) {
		o.Clock = clock
		o.Retry.MaxRetryAfter = time.Minute
	})
	ref, err := c.RunRefFor("c1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	var elapsed []time.Duration
	if _, err := c.WaitRun(context.Background(), ref, wrapper.WaitOptions{OnProgress: func(p wrapper.Progress) { elapsed = append(elapsed, p.Elapsed) }}); err != nil {
		t.Fatal(err)
	}
	s := time.Second
	if diff := cmp.Diff([]time.Duration{7 * s, 2 * s, 4 * s, 8 * s, 16 * s, 30 * s}, clock.Sleeps()); diff != "" {
		t.Errorf("waits on the clock (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{7 * s, 67 * s}, elapsed); diff != "" {
		t.Errorf("Progress.Elapsed (-want +got):\n%s", diff)
	}
	if got := clock.Now().Sub(start); got != 67*s {
		t.Errorf("the clock moved %v, want 67s", got)
	}
	if n := len(srv.seen()); n != 7 {
		t.Errorf("%d requests, want 7 (a 429, then six polls)", n)
	}
}

func TestClock_ManualClockMovesForClientAndService(t *testing.T) {
	t.Parallel()
	var _ wrapper.Clock = (*apitest.ManualClock)(nil)
	clock := apitest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	start := clock.Now()
	if err := clock.Sleep(context.Background(), 90*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := clock.Now().Sub(start); got != 90*time.Second {
		t.Errorf("Sleep(90s) moved the clock %v", got)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	cause := errors.New("stopped")
	cancel(cause)
	if err := clock.Sleep(ctx, time.Hour); !errors.Is(err, cause) {
		t.Errorf("Sleep after the context ended: %v, want its cause", err)
	}
	if got := clock.Now().Sub(start); got != 90*time.Second {
		t.Errorf("a Sleep after the context ended moved the clock to +%v", got)
	}
}

func TestNew_RefusesUnusableBaseURLs(t *testing.T) {
	t.Parallel()
	for _, base := range []string{"not a url", "ftp://api.bentley.com/export", "/export", "https://user:pw@api.bentley.com/export",
		"https://api.bentley.com/export?x=1", "https://api.bentley.com/export#f", "https://api.bentley.com/export?"} {
		if _, err := wrapper.New(wrapper.Options{BaseURL: base, TokenSource: wrapper.StaticToken(testToken)}); err == nil || strings.Contains(err.Error(), "pw") {
			t.Errorf("%q: err = %v, want a refusal that does not repeat the password", base, err)
		}
	}
}
