package wrapper

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/api"
)

// TestErrors_DeclaredInOneHome: every exported error type (an exported
// type with an Error method) and every exported sentinel (an exported
// variable named Err...) is declared in errors.go, or, for signing in and
// saved sessions, in login_errors.go.
func TestErrors_DeclaredInOneHome(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	home := map[string]bool{"errors.go": true, "login_errors.go": true}
	declared := map[string]string{} // exported type -> file
	var errorTypes, misplaced []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							declared[s.Name.Name] = name
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if d.Tok == token.VAR && n.IsExported() && strings.HasPrefix(n.Name, "Err") && !home[name] {
								misplaced = append(misplaced, n.Name+" in "+name)
							}
						}
					}
				}
			case *ast.FuncDecl:
				if d.Name.Name == "Error" && d.Recv != nil {
					errorTypes = append(errorTypes, receiverName(d.Recv.List[0].Type))
				}
			}
		}
	}
	if len(errorTypes) == 0 {
		t.Fatal("no Error method found: the test reads the wrong directory")
	}
	for _, typ := range errorTypes {
		if file, ok := declared[typ]; ok && !home[file] {
			misplaced = append(misplaced, typ+" in "+file)
		}
	}
	if len(misplaced) > 0 {
		t.Errorf("exported errors outside errors.go and login_errors.go: %v", misplaced)
	}
}

// receiverName is the type name of a method's receiver, T or *T.
func receiverName(e ast.Expr) string {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// TestAPIError_ClassByStatus: each status matches its one sentinel, and
// the text names the class, the request, the status and the API's words.
func TestAPIError_ClassByStatus(t *testing.T) {
	t.Parallel()
	sentinels := []error{ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict, ErrInvalidRequest, ErrRateLimited, ErrServer}
	for status, want := range map[int]error{
		401: ErrUnauthorized, 403: ErrForbidden, 404: ErrNotFound, 409: ErrConflict,
		400: ErrInvalidRequest, 422: ErrInvalidRequest, 429: ErrRateLimited, 500: ErrServer, 503: ErrServer, 418: nil,
	} {
		e := &APIError{Method: "GET", URL: "https://api.bentley.com/export/connections/c1", StatusCode: status}
		for _, s := range sentinels {
			if got := errors.Is(e, s); got != (s == want) {
				t.Errorf("%d: errors.Is(%v) = %t", status, s, got)
			}
		}
	}
	e := &APIError{Method: "GET", URL: "https://api.bentley.com/export/runs", StatusCode: 429, Code: "TooManyRequests",
		Message: "slow down", Target: "runs", RetryAfter: 3 * time.Second}
	if got, want := e.Error(), "rate limited: GET https://api.bentley.com/export/runs: 429 Too Many Requests: TooManyRequests: slow down (target runs) (retry after 3s)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &APIError{Method: "GET", URL: "https://h/x", StatusCode: 418, Body: "<html>"}
	if got, want := e.Error(), `API error: GET https://h/x: 418 I'm a teapot: body "<html>"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestLocationError_MatchesItsKind: the text quotes the (redacted)
// Location when there is one; Is matches the kind alone.
func TestLocationError_MatchesItsKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  *LocationError
		text string
	}{
		{&LocationError{Reason: "the answer has no Location", kind: ErrMissingLocation},
			"missing or invalid Location: the answer has no Location"},
		{&LocationError{Location: "https://evil.example.com/x", Reason: "not the API's", kind: ErrForeignLocation},
			`foreign location: outside the API's origin: "https://evil.example.com/x": not the API's`},
		{&LocationError{Location: "http://blob/x?sig=REDACTED", Reason: "https only", kind: ErrInsecureLink},
			`insecure download link: "http://blob/x?sig=REDACTED": https only`},
	} {
		if got := tc.err.Error(); got != tc.text {
			t.Errorf("Error() = %q, want %q", got, tc.text)
		}
		for _, s := range []error{ErrMissingLocation, ErrForeignLocation, ErrInsecureLink} {
			if got := errors.Is(tc.err, s); got != (s == tc.err.kind) {
				t.Errorf("%v: errors.Is(%v) = %t", tc.err.kind, s, got)
			}
		}
	}
}

// TestUnusableResponseError_OldNameStillWorks: the deprecated name
// ResponseError is the same type, for errors.As too; Is matches the kind.
func TestUnusableResponseError_OldNameStillWorks(t *testing.T) {
	t.Parallel()
	var err error = fmt.Errorf("getRun: %w", &UnusableResponseError{Operation: "getRun", Method: "GET", URL: "https://h/r",
		StatusCode: 200, Reason: "no run", Body: "{}", kind: ErrMalformedResponse})
	var old *ResponseError
	var current *UnusableResponseError
	if !errors.As(err, &old) || !errors.As(err, &current) || old != current {
		t.Fatalf("errors.As: %v, %v", old, current)
	}
	if !errors.Is(err, ErrMalformedResponse) || errors.Is(err, ErrUnexpectedStatus) {
		t.Errorf("Is: %v", err)
	}
	if got, want := current.Error(), `malformed response: GET https://h/r: 200: no run: body "{}"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestTransportError_UnwrapsThroughTheScrubbedText: the cause stays
// reachable with errors.Is while the text shows only the scrubbed words.
func TestTransportError_UnwrapsThroughTheScrubbedText(t *testing.T) {
	t.Parallel()
	cause := fmt.Errorf("read Bearer SECRETTOKEN: %w", io.ErrUnexpectedEOF)
	e := &TransportError{Operation: "getRun", Method: "GET", URL: "https://h/r", Err: scrubbedError{cause, "read Bearer REDACTED: unexpected EOF"}}
	if !errors.Is(e, io.ErrUnexpectedEOF) {
		t.Error("the cause is lost")
	}
	if got, want := e.Error(), "no answer: GET https://h/r: read Bearer REDACTED: unexpected EOF"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestValidationError_ListsEveryProblem: one line with every problem; it
// matches ErrValidation and no API class.
func TestValidationError_ListsEveryProblem(t *testing.T) {
	t.Parallel()
	e := &ValidationError{Problems: []Problem{{Field: "connectionID", Message: "is empty"}, {Field: "exportType", Message: "is unknown"}}}
	if got, want := e.Error(), "invalid request (not sent): connectionID: is empty; exportType: is unknown"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, ErrValidation) || errors.Is(e, ErrInvalidRequest) {
		t.Errorf("Is: %v", e)
	}
}

// TestRunRefParseError_MatchesValidationAndLocation: a parse error says
// so, and matches both of its sentinels.
func TestRunRefParseError_MatchesValidationAndLocation(t *testing.T) {
	t.Parallel()
	e := &RunRefParseError{Text: "garbage", Reason: "is not an absolute URL"}
	if got, want := e.Error(), `parse error: run reference "garbage" is not an absolute URL`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(e, ErrValidation) || !errors.Is(e, ErrMissingLocation) || errors.Is(e, ErrForeignLocation) {
		t.Errorf("Is: %v", e)
	}
}

// TestRunError_RedactsItsText: the run's own text is redacted by the
// client's scrubber when it has one, by the patterns otherwise; it matches
// ErrRunFailed.
func TestRunError_RedactsItsText(t *testing.T) {
	t.Parallel()
	run := &api.ExportRun{}
	tasks := []TaskFailure{{JobID: "j1", TaskID: "t1 https://a.blob.core.windows.net/c?sig=SIGNATURE1 client-secret-9"}}
	e := &RunError{Run: run, Result: api.ExecutionResultError, Tasks: tasks}
	if got := e.Error(); strings.Contains(got, "SIGNATURE1") || !strings.Contains(got, "completed with result Error") {
		t.Errorf("without a client: %q", got)
	}
	c, err := New(Options{TokenSource: StaticToken("t"), Secrets: []string{"client-secret-9"}})
	if err != nil {
		t.Fatal(err)
	}
	e.redact = c.scrub
	if got := e.Error(); strings.Contains(got, "SIGNATURE1") || strings.Contains(got, "client-secret-9") {
		t.Errorf("with the client's scrubber: %q", got)
	}
	if !errors.Is(e, ErrRunFailed) {
		t.Error("not ErrRunFailed")
	}
}

// TestTokenError_ClassAndCause: the text names the class, the endpoint and
// the OAuth2 error; Is matches the kind and Unwrap gives the cause.
func TestTokenError_ClassAndCause(t *testing.T) {
	t.Parallel()
	cause := &oauth2.RetrieveError{ErrorCode: "invalid_client"}
	e := &TokenError{TokenURL: "https://ims/token", StatusCode: 401, Code: "invalid_client", Description: "unknown client", Err: cause, kind: ErrUnauthorized}
	if got, want := e.Error(), "unauthorized: token request to https://ims/token: 401 Unauthorized: invalid_client: unknown client"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var re *oauth2.RetrieveError
	if !errors.Is(e, ErrUnauthorized) || errors.Is(e, ErrServer) || !errors.As(e, &re) || re != cause {
		t.Errorf("Is/As: %v", e)
	}
	e = &TokenError{TokenURL: "https://ims/token", Reason: "not a token", kind: ErrServer}
	if got, want := e.Error(), "server error: token request to https://ims/token: not a token"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestUploadError_SaysWhatBecameOfTheFile: the text says whether the
// created file was deleted; Unwrap gives why the upload failed.
func TestUploadError_SaysWhatBecameOfTheFile(t *testing.T) {
	t.Parallel()
	cause := &APIError{Method: "PUT", URL: "https://blob/x", StatusCode: 503}
	for _, tc := range []struct {
		err  *UploadError
		want string
	}{
		{&UploadError{FileID: "f1", Err: cause}, "upload of file f1 failed (the created file was deleted): server error: PUT https://blob/x: 503 Service Unavailable"},
		{&UploadError{FileID: "f1", Err: cause, Cleanup: os.ErrPermission},
			"upload of file f1 failed: server error: PUT https://blob/x: 503 Service Unavailable; the created file could not be deleted (permission denied): delete it yourself"},
	} {
		if diff := cmp.Diff(tc.want, tc.err.Error()); diff != "" {
			t.Errorf("Error() (-want +got):\n%s", diff)
		}
		if !errors.Is(tc.err, ErrServer) {
			t.Errorf("%v does not match its cause's class", tc.err)
		}
	}
}
