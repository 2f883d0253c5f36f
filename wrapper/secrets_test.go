package wrapper_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/internal/secretscan"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestNoSecretInLogsOrErrors drives the client through successes, retries
// and failures whose answers echo the credentials back, and runs every log
// line and error text through the secret scanner.
func TestNoSecretInLogsOrErrors(t *testing.T) {
	const (
		clientSecret = "cs-secret-0123456789"
		accessToken  = "cc-access-token-abcdef0123"
		sasURL       = "https://acct.blob.core.windows.net/out/model.ifc?sv=2024-05-04&se=2099-12-01&sp=cw&sig=SASSIGNATURE0123%2B%3D"
	)
	ims, refusingIMS := identityServers(t, accessToken)
	srv := echoingAPI(t, clientSecret, accessToken, sasURL)

	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	c := newClient(t, srv.base(), func(o *wrapper.Options) {
		o.TokenSource = mustClientCredentials(t, "client-id", clientSecret, ims.URL)
		o.Logger = logger
	})
	var texts []string
	record := func(err error) {
		if err == nil {
			t.Error("expected an error")
			return
		}
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
	}

	blob := api.LocationUSERBLOBSTORAGE
	req := api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, OutputOptions: &api.ExportRunOutputOptions{Location: &blob, OutputSASURL: ptr(sasURL)}}
	_, err := c.CreateRun(ctx, "c1", req) // 429 (retried), then 422 echoing everything
	record(err)
	_, err = c.GetConnection(ctx, "c1") // 401 echoing the token
	record(err)
	ref, _ := c.RunRefFor("c1", "r1")
	_, err = c.GetRun(ctx, ref) // 500 with the secrets in plain text
	record(err)
	bad := req
	bad.OutputOptions = &api.ExportRunOutputOptions{OutputSASURL: ptr(sasURL)}
	_, err = c.CreateRun(ctx, "c1", bad) // local validation
	record(err)
	_, err = c.AuthorizationInformation(ctx, "https://app.example.com/cb?code=abc&sig=SASSIGNATURE0123")
	record(err)

	refused := newClient(t, srv.base(), func(o *wrapper.Options) {
		o.TokenSource = mustClientCredentials(t, "client-id", clientSecret, refusingIMS.URL)
		o.Logger = logger
	})
	_, err = refused.GetConnection(ctx, "c1") // the identity service echoes the secret
	record(err)

	srv.Close()
	_, err = c.GetConnection(ctx, "c1") // no answer at all
	record(err)

	all := logs.String() + "\n" + strings.Join(texts, "\n")
	if !strings.Contains(all, "status=422") || !strings.Contains(all, "status=429") {
		t.Fatalf("the scenarios did not run as planned:\n%s", all)
	}
	scanAll(t, all, clientSecret, accessToken, "SASSIGNATURE0123")
}

// scanAll fails for every secret found in text, and then shows the text.
func scanAll(t *testing.T, text string, secrets ...string) {
	t.Helper()
	for _, f := range secretscan.Scan(text, secrets...) {
		t.Errorf("secret found: %s", f)
	}
	if t.Failed() {
		t.Logf("scanned text:\n%s", text)
	}
}

// identityServers are a token endpoint that gives accessToken and one that
// refuses the client, echoing the form it got.
func identityServers(t *testing.T, accessToken string) (ims, refusing *httptest.Server) {
	ims = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","expires_in":3600}`, accessToken)
	}))
	t.Cleanup(ims.Close)
	refusing = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":"invalid_client","error_description":"you sent %s"}`, body)
	}))
	t.Cleanup(refusing.Close)
	return ims, refusing
}

// echoingAPI is an API that echoes whatever it got (the body, the
// Authorization header) and the credentials it is given, in a 429, a 422,
// a 500 and a 401.
func echoingAPI(t *testing.T, clientSecret, accessToken, sasURL string) *scripted {
	return newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		echo := fmt.Sprintf("got %s %s with %q: %s", r.Method, r.RequestURI, r.Header.Get("Authorization"), body)
		switch {
		case n == 0:
			w.Header().Set("Retry-After", "0")
			writeJSON(w, 429, fmt.Sprintf(`{"error":{"code":"RateLimitExceeded","message":%q}}`, echo))
		case r.Method == http.MethodPost:
			writeJSON(w, 422, fmt.Sprintf(`{"error":{"code":"InvalidConnectionRunRequest","message":%q,"target":%q,"details":[{"code":"InvalidValue","message":%q,"target":"outputOptions.outputSasUrl"}]}}`, echo, sasURL, sasURL))
		case strings.Contains(r.RequestURI, "/runs/"):
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(500)
			fmt.Fprintf(w, "stack trace: client_secret=%s token=%s %s", clientSecret, accessToken, echo)
		default:
			w.Header().Set("WWW-Authenticate", "Bearer "+accessToken)
			writeJSON(w, 401, `<html>`+echo+`</html>`)
		}
	})
}

// TestSecretsSurviveWrapping: a ClientCredentialsSource wrapped in
// oauth2.ReuseTokenSource hides its Secrets method; listed in
// Options.Secrets, the client secret is still scrubbed from an API error
// that echoes it bare.
func TestSecretsSurviveWrapping(t *testing.T) {
	const clientSecret = "wrapped-secret-0123456789"
	ims := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"access_token":"wrapped-token-abcdef","token_type":"Bearer","expires_in":3600}`)
	}))
	defer ims.Close()
	srv := newScripted(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 404, `{"error":{"code":"ConnectionNotFound","message":"no connection for `+clientSecret+`"}}`)
	})
	src := mustClientCredentials(t, "client-id", clientSecret, ims.URL)
	c := newClient(t, srv.base(), func(o *wrapper.Options) {
		o.TokenSource = oauth2.ReuseTokenSource(nil, src)
		o.Secrets = src.Secrets()
	})
	_, err := c.GetConnection(context.Background(), "c1")
	if !errors.Is(err, wrapper.ErrNotFound) {
		t.Fatalf("error %v, want ErrNotFound", err)
	}
	for _, f := range secretscan.Scan(err.Error(), clientSecret, "wrapped-token-abcdef") {
		t.Errorf("secret found in %q: %s", err, f)
	}
}
