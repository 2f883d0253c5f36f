package wrapper

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
)

// Every error type and sentinel of the package is declared here, but for
// those of signing in and of saved sessions (login_errors.go). The package
// documentation says which error comes from which call.

// Sentinels for the classes of API errors. An *APIError matches the sentinel of
// its status class with errors.Is:
//
//	if errors.Is(err, wrapper.ErrRateLimited) { ... }
var (
	ErrUnauthorized   = errors.New("unauthorized")    // 401: no token, or a token the API does not accept
	ErrForbidden      = errors.New("forbidden")       // 403: the token may not use this resource
	ErrNotFound       = errors.New("not found")       // 404: no such connection or run
	ErrConflict       = errors.New("conflict")        // 409: another request for the same iModel is in flight, or the connection is in use
	ErrInvalidRequest = errors.New("invalid request") // 400 or 422: the API refused the request's content
	ErrRateLimited    = errors.New("rate limited")    // 429: the client's rate-limit tier is exhausted
	ErrServer         = errors.New("server error")    // 5xx: the API failed
)

// Sentinels for answers that could not be used, and for requests that were
// never sent.
var (
	// ErrMissingLocation: a 202 or 303 came without a Location header, or with
	// one that cannot be parsed or does not name a run.
	ErrMissingLocation = errors.New("missing or invalid Location")
	// ErrForeignLocation: a Location or paging link points at another scheme,
	// host or port than the API's; it is refused before any request, so the
	// token never leaves the API's origin.
	ErrForeignLocation = errors.New("foreign location: outside the API's origin")
	// ErrMalformedResponse: a success status whose body is not the JSON the
	// contract promises, or a body larger than the client reads.
	ErrMalformedResponse = errors.New("malformed response")
	// ErrUnexpectedStatus: a status below 400 that the operation does not
	// define (for example 200 to a create, or a redirect).
	ErrUnexpectedStatus = errors.New("unexpected status")
	// ErrValidation: the request failed local validation; nothing was sent.
	ErrValidation = errors.New("invalid request (not sent)")
	// ErrRunFailed: the run completed with a result other than Success,
	// PartialSuccess included (a *RunError says which): the outputs of a
	// PartialSuccess run can still be downloaded (see RunError).
	ErrRunFailed = errors.New("run did not succeed")
	// ErrInsecureToken: a bearer token would have been sent over plain http to
	// a host that is not a loopback address.
	ErrInsecureToken = errors.New("refusing to send a bearer token over plain http to a non-loopback host")
)

// Sentinels of downloads.
var (
	// ErrInsecureLink: a download link is not https (or plain http to a
	// loopback address); it is refused before any connection, so its signature
	// never travels in clear.
	ErrInsecureLink = errors.New("insecure download link")
	// ErrFileExists: the destination of a download exists and
	// DownloadOptions.Overwrite was not set. Nothing was written.
	ErrFileExists = errors.New("file exists (not overwritten)")
	// ErrChecksumMismatch: the downloaded content's MD5 is not the one the blob
	// store gave for the blob (x-ms-blob-content-md5, or Content-MD5 on a whole
	// GET). The bytes were altered in transit or at rest; no file was left. It
	// also matches ErrMalformedResponse.
	ErrChecksumMismatch = errors.New("checksum mismatch")
)

// APIError is an error status (400 or above) answered by the API. It carries
// the API's error object when the body had one; the reference warns that a
// failed request may carry no such body, so Code and Message may be empty and
// Body then holds what came instead.
type APIError struct {
	// Operation is the API operation, for example "createExportConnectionRun".
	Operation string
	// Method and URL of the request; the URL is redacted.
	Method, URL string
	// StatusCode is the HTTP status.
	StatusCode int
	// Code, Message, Target and Details are the API's error object, when any.
	Code    string
	Message string
	Target  string
	Details []api.ErrorDetails
	// RetryAfter is the wait the API asked for (Retry-After), or zero.
	RetryAfter time.Duration
	// Body is a redacted excerpt of the body, at most 512 bytes.
	Body string
	// Attempts is how many times the request was sent.
	Attempts int
}

// Error describes the failure in one line: class, status, code and message,
// and the details of a 422.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s %s: %d %s", e.class(), e.Method, e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Target != "" {
		fmt.Fprintf(&b, " (target %s)", e.Target)
	}
	for _, d := range e.Details {
		target := ""
		if d.Target != nil {
			target = *d.Target
		}
		fmt.Fprintf(&b, "; %s: %s: %s", target, d.Code, d.Message)
	}
	if e.Code == "" && e.Body != "" {
		fmt.Fprintf(&b, ": body %q", e.Body)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Is reports whether target is the sentinel of e's status class.
func (e *APIError) Is(target error) bool {
	return target == e.sentinel() && target != nil
}

func (e *APIError) sentinel() error {
	switch s := e.StatusCode; {
	case s == http.StatusUnauthorized:
		return ErrUnauthorized
	case s == http.StatusForbidden:
		return ErrForbidden
	case s == http.StatusNotFound:
		return ErrNotFound
	case s == http.StatusConflict:
		return ErrConflict
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		return ErrInvalidRequest
	case s == http.StatusTooManyRequests:
		return ErrRateLimited
	case s >= 500:
		return ErrServer
	}
	return nil
}

func (e *APIError) class() string {
	if s := e.sentinel(); s != nil {
		return s.Error()
	}
	return "API error"
}

// LocationError is a Location header (or paging link, or a download or
// upload link) that could not be followed. It matches ErrMissingLocation,
// ErrForeignLocation or, for a link to the blob store, ErrInsecureLink.
type LocationError struct {
	// Location is the header's value, redacted.
	Location string
	// Reason says what is wrong with it.
	Reason string
	kind   error
}

// Error describes the Location and why it was refused.
func (e *LocationError) Error() string {
	if e.Location == "" {
		return fmt.Sprintf("%v: %s", e.kind, e.Reason)
	}
	return fmt.Sprintf("%v: %q: %s", e.kind, e.Location, e.Reason)
}

// Is matches the error's kind: ErrMissingLocation, ErrForeignLocation or
// ErrInsecureLink.
func (e *LocationError) Is(target error) bool { return target == e.kind }

// UnusableResponseError is an answer the client could not use although its
// status was not an error (below 400): a malformed body
// (ErrMalformedResponse) or a status the operation does not define
// (ErrUnexpectedStatus). An error status is an *APIError.
type UnusableResponseError struct {
	// Operation, Method and URL (redacted) name the request.
	Operation  string
	Method     string
	URL        string
	StatusCode int // the HTTP status, below 400
	// Reason says what is wrong.
	Reason string
	// Body is a redacted excerpt of the body, at most 512 bytes.
	Body string
	kind error
}

// Error describes the response and what is wrong with it.
func (e *UnusableResponseError) Error() string {
	s := fmt.Sprintf("%v: %s %s: %d: %s", e.kind, e.Method, e.URL, e.StatusCode, e.Reason)
	if e.Body != "" {
		s += fmt.Sprintf(": body %q", e.Body)
	}
	return s
}

// Is matches ErrMalformedResponse or ErrUnexpectedStatus.
func (e *UnusableResponseError) Is(target error) bool { return target == e.kind }

// ResponseError is the former name of UnusableResponseError, renamed
// because in other Go clients (azcore's among them) a ResponseError is an
// error status, which here is an *APIError.
//
// Deprecated: use UnusableResponseError.
type ResponseError = UnusableResponseError

// TransportError is a request that got no usable answer: the connection
// failed, was reset or dropped mid-body. The URL is redacted.
type TransportError struct {
	Operation, Method, URL string // the request; URL redacted
	Err                    error  // the cause
}

// Error names the request and the cause.
func (e *TransportError) Error() string {
	return fmt.Sprintf("no answer: %s %s: %v", e.Method, e.URL, e.Err)
}

// Unwrap returns the cause (for example a *net.OpError or io.ErrUnexpectedEOF).
func (e *TransportError) Unwrap() error { return e.Err }

// scrubbedError keeps an error's identity for errors.Is/As while showing a
// redacted text.
type scrubbedError struct {
	err  error
	text string
}

// Error returns the redacted text.
func (e scrubbedError) Error() string { return e.text }

// Unwrap returns the original error.
func (e scrubbedError) Unwrap() error { return e.err }

// Problem is one reason a request failed local validation.
type Problem struct {
	// Field is the path of the field in the request body, for example
	// "outputOptions.outputSasUrl", or the name of an argument such as
	// "connectionID".
	Field string
	// Message says what is wrong; it never repeats a URL's query string.
	Message string
}

// ValidationError lists every problem local validation found. Nothing was
// sent. It matches ErrValidation.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems, one after the other.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return ErrValidation.Error() + ": " + strings.Join(parts, "; ")
}

// Is matches ErrValidation.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// RunRefParseError is text that ParseRunRef (or RunRef.UnmarshalText) could
// not read as a run's Location. It matches ErrValidation and, as the errors
// of ParseRunRef did before, ErrMissingLocation.
type RunRefParseError struct {
	// Text is the text given, redacted.
	Text string
	// Reason says what is wrong with it.
	Reason string
}

// Error says that the text does not parse as a run reference, and why.
func (e *RunRefParseError) Error() string {
	return fmt.Sprintf("parse error: run reference %q %s", e.Text, e.Reason)
}

// Is matches ErrValidation and ErrMissingLocation.
func (e *RunRefParseError) Is(target error) bool {
	return target == ErrValidation || target == ErrMissingLocation
}

// TaskFailure is the error of one task of a run, with where it happened.
type TaskFailure struct {
	JobID, TaskID string        // where the error happened
	Error         api.TaskError // as the API reported it
}

// String is the one text of a task error, shared by RunError and the
// command line: "task ID: CODE: description", the message when there is no
// description, then whether the user can fix it and the article to read.
// It is the API's text as is: redact it before showing it (Client.Redact).
func (t TaskFailure) String() string {
	var b strings.Builder
	te := t.Error
	fmt.Fprintf(&b, "task %s: %s", t.TaskID, deref(te.ErrorCode))
	if d := deref(te.Description); d != "" {
		fmt.Fprintf(&b, ": %s", d)
	} else if m := deref(te.Message); m != "" {
		fmt.Fprintf(&b, ": %s", m)
	}
	if te.CanUserFix != nil {
		fmt.Fprintf(&b, " (user can fix: %t)", *te.CanUserFix)
	}
	if kb := deref(te.KbArticleLink); kb != "" {
		fmt.Fprintf(&b, " (see %s)", kb)
	}
	return b.String()
}

// RunError is a run that completed with a result other than Success. It
// carries the run as the API returned it and every task error. It matches
// ErrRunFailed. Its fields hold the API's text as is; Error redacts it.
//
// Result PartialSuccess means some tasks failed (Tasks) while the others
// wrote their outputs to Storage. Export and WaitRun return the run with the
// error; DownloadRunOutputs downloads the outputs of a Success or
// PartialSuccess run:
//
//	_, run, err := client.Export(ctx, connectionID, req, wrapper.WaitOptions{})
//	var runErr *wrapper.RunError
//	if errors.As(err, &runErr) && runErr.Result == api.ExecutionResultPartialSuccess {
//		files, err := client.DownloadRunOutputs(ctx, run, dir, wrapper.DownloadOptions{})
//		// ...
//	}
type RunError struct {
	Run    *api.ExportRun      // as the API last returned it
	Result api.ExecutionResult // the run's result, never Success
	Tasks  []TaskFailure       // every task error of every job
	// redact removes credentials from the text of Error: the client's own
	// (tokens, secrets) when a Client made the error, the patterns' (SAS
	// signatures, sensitive parameters) otherwise.
	redact func(string) string
}

// Error names the run, its result and each task error, without credentials
// the run may echo.
func (e *RunError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s completed with result %s", e.Run.ID, e.Result)
	for _, t := range e.Tasks {
		b.WriteString("; " + t.String())
	}
	if e.redact != nil {
		return e.redact(b.String())
	}
	return redact.Text(b.String())
}

// Is matches ErrRunFailed.
func (e *RunError) Is(target error) bool { return target == ErrRunFailed }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// TokenError is a token request that the identity service answered without
// a token. A refusal of the credentials (a 4xx such as invalid_client,
// invalid_grant or unauthorized_client) matches ErrUnauthorized, a 429
// ErrRateLimited, and an answer that is of no use (a 5xx, a redirect, a body
// that is not a token) ErrServer. It is its own type rather than an
// *APIError because the identity service is not the Export API: its 400
// means "these credentials are refused", not "invalid request", and its
// answer carries an OAuth2 error code instead of the API's error object. A
// token endpoint that gives no answer at all is a *TransportError.
type TokenError struct {
	// TokenURL is the token endpoint, redacted.
	TokenURL string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code and Description are the answer's OAuth2 error and
	// error_description (RFC 6749 section 5.2), scrubbed of credentials.
	Code, Description string
	// Reason says what is wrong with an answer that is not a refusal.
	Reason string
	// Err is the cause as x/oauth2 reported it (an *oauth2.RetrieveError
	// when there was an answer), for errors.As; its text is scrubbed.
	Err  error
	kind error
}

// Error names the class, the endpoint, the status and the OAuth2 error.
func (e *TokenError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: token request to %s", e.kind, e.TokenURL)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, ": %s", e.Description)
	}
	if e.Reason != "" {
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	return b.String()
}

// Is matches ErrUnauthorized, ErrRateLimited or ErrServer, as the answer was.
func (e *TokenError) Is(target error) bool { return target == e.kind }

// Unwrap returns the cause.
func (e *TokenError) Unwrap() error { return e.Err }

// UploadError is an upload that failed after the file was created. Err is
// why (errors.Is/As see through to it); the created file was deleted
// unless Cleanup says why it could not be.
type UploadError struct {
	FileID  string // the file the upload created
	Err     error  // why the upload failed
	Cleanup error  // nil when the created file was deleted
}

// Error says why the upload failed and what became of the created file.
func (e *UploadError) Error() string {
	if e.Cleanup != nil {
		return fmt.Sprintf("upload of file %s failed: %v; the created file could not be deleted (%v): delete it yourself",
			e.FileID, e.Err, e.Cleanup)
	}
	return fmt.Sprintf("upload of file %s failed (the created file was deleted): %v", e.FileID, e.Err)
}

// Unwrap returns why the upload failed.
func (e *UploadError) Unwrap() error { return e.Err }
