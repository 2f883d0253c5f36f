package wrapper_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

func ptr[T any](v T) *T { return &v }

func ifcRequest() api.ExportConnectionRunCreate {
	return api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, IFCVersion: ptr(api.IFCVersionIFC43)}
}

func TestCreateRunSendsTheContractRequest(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/export/connections/c1/runs/r1")
		w.WriteHeader(http.StatusAccepted)
	})
	c := newClient(t, srv.base(), func(o *wrapper.Options) { o.UserAgent = "itwin-export-test/1" })
	ref, err := c.CreateRun(context.Background(), "c1", ifcRequest())
	if err != nil {
		t.Fatal(err)
	}
	want := wrapper.RunRef{Location: srv.base() + "/connections/c1/runs/r1", ConnectionID: "c1", RunID: "r1"}
	if diff := cmp.Diff(want, ref); diff != "" {
		t.Errorf("run ref (-want +got):\n%s", diff)
	}
	got := srv.seen()
	if len(got) != 1 {
		t.Fatalf("server saw %d requests, want 1", len(got))
	}
	r := got[0]
	if r.Method != http.MethodPost || r.URI != "/export/connections/c1/runs" {
		t.Errorf("request = %s %s", r.Method, r.URI)
	}
	headers := map[string]string{
		"Accept":        r.Header.Get("Accept"),
		"Authorization": r.Header.Get("Authorization"),
		"Content-Type":  r.Header.Get("Content-Type"),
		"User-Agent":    r.Header.Get("User-Agent"),
	}
	wantHeaders := map[string]string{
		"Accept":        "application/vnd.bentley.itwin-platform.v1+json",
		"Authorization": "Bearer " + testToken,
		"Content-Type":  "application/json",
		"User-Agent":    "itwin-export-test/1",
	}
	if diff := cmp.Diff(wantHeaders, headers); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	var body any
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"exportType": "IFC", "ifcVersion": "IFC4.3"}, body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

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

func TestCreateRunUnexpectedAnswers(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{}`)
	})
	_, err := newClient(t, srv.base()).CreateRun(context.Background(), "c1", ifcRequest())
	if !errors.Is(err, wrapper.ErrUnexpectedStatus) {
		t.Errorf("200 to a create: err = %v, want ErrUnexpectedStatus", err)
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

func TestValidationSendsNothing(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent: %s %s", r.Method, r.RequestURI)
	})
	c := newClient(t, srv.base())
	req := api.ExportConnectionRunCreate{
		ExportType:   api.ExportTypePDF,
		IFCVersion:   ptr(api.IFCVersion("IFC5")),
		InputOptions: &api.ExportRunInputOptions{ModelIDs: &[]string{}, ChangesetID: ptr(" ")},
		OutputOptions: &api.ExportRunOutputOptions{
			Location:     ptr(api.LocationSTORAGE),
			OutputSASURL: ptr("https://acct.blob.core.windows.net/c?sig=SECRET"),
			LogsSASURL:   ptr("http://acct.blob.core.windows.net/logs?sig=SECRET"),
		},
	}
	_, err := c.CreateRun(context.Background(), "c1", req)
	var ve *wrapper.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, wrapper.ErrValidation) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	want := []wrapper.Problem{
		{Field: "ifcVersion", Message: `"IFC5" is not one of IFC4.3, IFC2x3, IFC2x3 CV 2.0, IFC4 RV 1.2`},
		{Field: "inputOptions.changesetId", Message: "must not be empty when given"},
		{Field: "inputOptions.modelIds", Message: "must not be empty: leave it out to export every model"},
		{Field: "outputOptions.outputSasUrl", Message: "is allowed only with location USER_BLOB_STORAGE"},
		{Field: "outputOptions.logsSasUrl", Message: "is allowed only with saveLogs true"},
		{Field: "outputOptions.logsSasUrl", Message: "is allowed only with location USER_BLOB_STORAGE"},
		{Field: "outputOptions.logsSasUrl", Message: "must be an absolute https URL"},
	}
	if diff := cmp.Diff(want, ve.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("validation error repeats a SAS signature: %v", err)
	}
	for _, id := range []string{"", ".", ".."} {
		if _, err := c.CreateRun(context.Background(), id, ifcRequest()); !errors.Is(err, wrapper.ErrValidation) {
			t.Errorf("connection id %q: err = %v, want ErrValidation", id, err)
		}
	}
}

func TestValidateRunRequest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		req  api.ExportConnectionRunCreate
		want []wrapper.Problem
	}{
		{"minimal", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC}, nil},
		{"pdf", api.ExportConnectionRunCreate{ExportType: api.ExportTypePDF, InputOptions: &api.ExportRunInputOptions{ModelIDs: &[]string{"m1"}}}, nil},
		{"missing type", api.ExportConnectionRunCreate{}, []wrapper.Problem{{Field: "exportType", Message: "is required"}}},
		{"unknown type", api.ExportConnectionRunCreate{ExportType: "DWG"}, []wrapper.Problem{{Field: "exportType", Message: `"DWG" is not one of IFC, PDF`}}},
		{"ifc version with pdf", api.ExportConnectionRunCreate{ExportType: api.ExportTypePDF, IFCVersion: ptr(api.IFCVersionIFC2X3)}, []wrapper.Problem{{Field: "ifcVersion", Message: "is allowed only with exportType IFC"}}},
		{"blob without sas", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, OutputOptions: &api.ExportRunOutputOptions{Location: ptr(api.LocationUSERBLOBSTORAGE)}}, []wrapper.Problem{{Field: "outputOptions.outputSasUrl", Message: "is required with location USER_BLOB_STORAGE"}}},
		{"blob complete", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, OutputOptions: &api.ExportRunOutputOptions{
			Location: ptr(api.LocationUSERBLOBSTORAGE), OutputSASURL: ptr("https://a.blob.core.windows.net/c?sig=x"),
			LogsSASURL: ptr("https://a.blob.core.windows.net/l?sig=y"), SaveLogs: ptr(true)}}, nil},
		{"bad location", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, OutputOptions: &api.ExportRunOutputOptions{Location: ptr(api.Location("DISK"))}}, []wrapper.Problem{{Field: "outputOptions.location", Message: `"DISK" is not one of STORAGE, USER_BLOB_STORAGE`}}},
		{"mapping url not https", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, InputOptions: &api.ExportRunInputOptions{MappingfileBlobURL: ptr("file:///etc/passwd")}}, []wrapper.Problem{{Field: "inputOptions.mappingfileBlobUrl", Message: "must be an absolute https URL"}}},
		{"blank model id", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, InputOptions: &api.ExportRunInputOptions{ModelIDs: &[]string{"m1", ""}}}, []wrapper.Problem{{Field: "inputOptions.modelIds[1]", Message: "must not be empty"}}},
		{"blank folder", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, OutputOptions: &api.ExportRunOutputOptions{FolderID: ptr("")}}, []wrapper.Problem{{Field: "outputOptions.folderId", Message: "must not be empty when given"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := wrapper.ValidateRunRequest(tc.req)
			var got []wrapper.Problem
			var ve *wrapper.ValidationError
			if errors.As(err, &ve) {
				got = ve.Problems
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenOnlyOverTLSOrLoopback(t *testing.T) {
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

func TestHTTPClientIsNotMutated(t *testing.T) {
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
