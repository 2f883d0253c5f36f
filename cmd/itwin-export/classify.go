package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/itwin-export/itwin-export/wrapper"
)

// Exit codes of the command: scripts rely on them (README, "Errors and exit codes").
const (
	exitOK        = 0   // success
	exitUsage     = 2   // usage or validation error: nothing was sent
	exitRunFail   = 3   // the run completed with a result other than Success
	exitRefused   = 4   // the API refused the request (4xx after retries)
	exitNoAnswer  = 5   // no usable answer: network, 5xx, malformed, timeout
	exitInterrupt = 130 // interrupted by SIGINT
	exitTerminate = 143 // ended by SIGTERM
	exitHangup    = 129 // ended by SIGHUP
)

// usageError is a mistake in the command line or the configuration: exit 2,
// nothing was sent. One about the command's own flags (flag set) is shown
// with a pointer to the command's help.
type usageError struct {
	msg  string
	flag bool
}

// Error returns the message.
func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError about the configuration.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// flagErrorf returns a usageError about the command's flags or arguments.
func flagErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), flag: true}
}

// exitStatus ends a command with a code whose reasons were already printed
// (the worst outcome of several connections).
type exitStatus struct{ code int }

// Error says which code.
func (e *exitStatus) Error() string { return fmt.Sprintf("exit %d", e.code) }

// interrupted is the cause of the command's context when a signal ended it.
type interrupted struct{ sig os.Signal }

// Error names the signal.
func (e *interrupted) Error() string { return "interrupted by " + e.sig.String() }

// Unwrap makes an interruption a cancellation.
func (e *interrupted) Unwrap() error { return context.Canceled }

// stopped is an error of a command whose context ended, with the reason it
// ended (a signal, or --timeout).
type stopped struct{ err, cause error }

// Error is the error, then why the context ended.
func (e *stopped) Error() string { return e.err.Error() + " (" + e.cause.Error() + ")" }

// Unwrap returns both: the error's class and the cause's count.
func (e *stopped) Unwrap() []error { return []error{e.cause, e.err} }

// withCause attaches to err the cause of ctx's end, when ctx has ended and
// err does not already carry it.
func withCause(ctx context.Context, err error) error {
	if err == nil || ctx == nil || ctx.Err() == nil {
		return err
	}
	cause := context.Cause(ctx)
	if cause == nil || errors.Is(err, cause) {
		return err
	}
	return &stopped{err: err, cause: cause}
}

// resumable is an error met while waiting for a run that exists: the
// command that resumes the wait goes with it.
type resumable struct {
	err      error
	location string // sanitized already
	download string // --download's DIR, sanitized and quoted for a shell; "" without
	fetch    bool   // the run succeeded: only its files are left to fetch
}

// Error is the error and the command that resumes (or, when only the files
// are left, fetches them), keeping --download DIR.
func (e *resumable) Error() string {
	verb, cmd := "resume with", "itwin-export status "+e.location+" --wait"
	if e.download != "" {
		cmd += " --download " + e.download
	}
	if e.fetch {
		verb = "fetch the files later with"
	}
	return fmt.Sprintf("%v (%s: %s)", e.err, verb, cmd)
}

// Unwrap returns the error.
func (e *resumable) Unwrap() error { return e.err }

// classify names the class of err and its exit code. It looks only at the
// error's identity (errors.Is/As), never at its text.
func classify(err error) (label string, code int) {
	var (
		usage     *usageError
		status    *exitStatus
		signal    *interrupted
		apiErr    *wrapper.APIError
		transport *wrapper.TransportError
		tokenErr  *wrapper.TokenError
		expired   *wrapper.SessionExpiredError
	)
	switch {
	case err == nil:
		return "", exitOK
	case errors.As(err, &signal):
		if signal.sig == syscall.SIGHUP {
			return "hung up", exitHangup
		}
		if signal.sig == syscall.SIGTERM {
			return "terminated", exitTerminate
		}
		return "interrupted", exitInterrupt
	case errors.As(err, &status):
		return "", status.code
	case errors.As(err, &usage), errors.Is(err, wrapper.ErrValidation), errors.Is(err, wrapper.ErrInsecureToken),
		errors.Is(err, wrapper.ErrNoSession):
		return "usage", exitUsage
	case errors.Is(err, wrapper.ErrFileExists):
		return "file exists", exitUsage // nothing was written
	case errors.Is(err, wrapper.ErrInsecureLink):
		return wrapper.ErrInsecureLink.Error(), exitNoAnswer
	case errors.Is(err, wrapper.ErrAuthorizationRequired), errors.Is(err, wrapper.ErrLoginFailed):
		// Before the deadline: a wait for the user that ran out is still
		// the user's missing authorization.
		return signInClass(err), exitRefused
	case errors.As(err, &expired):
		return wrapper.ErrUnauthorized.Error(), exitRefused // the session is over: sign in again
	case errors.Is(err, wrapper.ErrMalformedResponse):
		return wrapper.ErrMalformedResponse.Error(), exitNoAnswer
	case errors.Is(err, wrapper.ErrRunFailed):
		return wrapper.ErrRunFailed.Error(), exitRunFail
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out", exitNoAnswer
	case errors.Is(err, context.Canceled):
		return "interrupted", exitNoAnswer
	case errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500:
		return apiClass(err), exitRefused
	case errors.As(err, &tokenErr) && !errors.Is(err, wrapper.ErrServer):
		return apiClass(err), exitRefused // the identity service refused the credentials
	case errors.As(err, &transport):
		return "no answer", exitNoAnswer
	}
	return apiClass(err), exitNoAnswer
}

// signInClass names a refusal of the person's sign-in or authorization.
func signInClass(err error) string {
	if errors.Is(err, wrapper.ErrAuthorizationRequired) {
		return wrapper.ErrAuthorizationRequired.Error()
	}
	return wrapper.ErrLoginFailed.Error()
}

// answerClasses are the wrapper's classes of answers, most specific first.
var answerClasses = []error{
	wrapper.ErrUnauthorized, wrapper.ErrForbidden, wrapper.ErrNotFound,
	wrapper.ErrConflict, wrapper.ErrInvalidRequest, wrapper.ErrRateLimited,
	wrapper.ErrServer, wrapper.ErrMissingLocation, wrapper.ErrForeignLocation,
	wrapper.ErrUnexpectedStatus,
}

// apiClass is the name of the wrapper class err belongs to, or "".
func apiClass(err error) string {
	for _, c := range answerClasses {
		if errors.Is(err, c) {
			return c.Error()
		}
	}
	return ""
}

// namesItsClass reports whether err's own text starts with its class: the
// wrapper's typed errors do, when they lead the error (the command's own
// wrappers, which add a resume hint or a cause, come after them).
func namesItsClass(err error) bool {
	for {
		switch e := err.(type) {
		case *resumable:
			err = e.err
		case *stopped:
			err = e.err
		case *wrapper.APIError, *wrapper.LocationError, *wrapper.UnusableResponseError,
			*wrapper.ValidationError, *wrapper.TransportError, *wrapper.TokenError,
			*wrapper.LoginError, *wrapper.AuthorizationRequiredError, *wrapper.SessionExpiredError, *keptFile:
			return true
		default:
			return false
		}
	}
}

// describe is the one-line text of an error, starting with its class.
func describe(err error) string {
	label, _ := classify(err)
	if namesItsClass(err) || label == "" {
		return err.Error()
	}
	return label + ": " + err.Error()
}

// fail reports err on stderr, in one line naming its class, through the
// output filter, and returns its exit code. ctx is the command's: when it
// has ended, its cause (a signal, --timeout) decides the class.
func (a *app) fail(ctx context.Context, err error) int {
	err = withCause(ctx, err)
	_, code := classify(err)
	if code == exitOK || errors.As(err, new(*exitStatus)) {
		return code
	}
	var usage *usageError
	if errors.As(err, &usage) && usage.flag {
		name := strings.TrimSpace("itwin-export " + a.cmdName)
		fmt.Fprintf(a.stderr, "%s: %s\nRun '%s --help' for usage.\n", name, a.out.line(usage.msg), name)
		return exitUsage
	}
	fmt.Fprintln(a.stderr, "itwin-export: "+a.out.line(describe(err)))
	return code
}
