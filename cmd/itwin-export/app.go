package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/itwin-export/itwin-export/wrapper"
)

// Exit codes of the command: scripts rely on them (README, "Errors and exit codes").
const (
	exitOK       = 0 // success
	exitUsage    = 2 // usage or validation error: nothing was sent
	exitRunFail  = 3 // the run completed with a result other than Success
	exitRefused  = 4 // the API refused the request (4xx after retries)
	exitNoAnswer = 5 // no usable answer: network, 5xx, malformed, timeout
)

// Environment variables the command reads.
const (
	envAPIURL       = "ITWIN_API_URL"
	envAccessToken  = "ITWIN_ACCESS_TOKEN"
	envClientID     = "ITWIN_CLIENT_ID"
	envClientSecret = "ITWIN_CLIENT_SECRET"
	envTokenURL     = "ITWIN_TOKEN_URL"
)

// userAgent is sent with every request of the command.
const userAgent = "itwin-export-cli"

// app is one invocation of the command: its streams and environment.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a *app, args []string) int
}

// commands lists the subcommands in the order help shows them.
func commands() []command {
	return []command{
		{"run", "create an export run of a connection (and wait for it)", cmdRun},
		{"status", "show a run, by its Location or its id (and wait for it)", cmdStatus},
		{"runs", "list the runs of a connection", cmdRuns},
		{"connections", "list the export connections of an iModel", cmdConnections},
		{"connection", "create, get or delete an export connection", cmdConnection},
		{"auth-info", "tell whether the user is authorized for User connections", cmdAuthInfo},
		{"download", "download a file of iTwin Storage, such as a run's IFC output", cmdDownload},
		{"login", "sign in through the browser; later commands use the saved session", cmdLogin},
		{"logout", "delete the session login saved", cmdLogout},
		{"fake-server", "serve the in-memory Export API on a local port until interrupted", cmdFakeServer},
		{"demo", "show the whole flow against the in-memory Export API", cmdDemo},
	}
}

// run is the whole command, testable in-process: args without the program
// name, the standard streams and the environment. It returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	if len(args) == 0 {
		a.topUsage(stderr)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(rest) > 0 && name == "help" {
			// "help CMD" is "CMD --help".
			return run(ctx, append(rest[:1:1], "--help"), stdin, stdout, stderr, getenv)
		}
		a.topUsage(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			return c.run(ctx, a, rest)
		}
	}
	fmt.Fprintf(stderr, "itwin-export: unknown command %q\nRun 'itwin-export --help' for the list of commands.\n", name)
	return exitUsage
}

// topUsage writes the command's overall help.
func (a *app) topUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: itwin-export COMMAND [flags]

itwin-export drives the iTwin Platform Export API: export an iModel to IFC
as a run of an export connection, wait for it, and manage connections.

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, `
Run 'itwin-export COMMAND --help' for the flags of a command.

Environment:
  %s
      base URL of the Export API (default %s); --api-url overrides it
  %s
      a bearer token, used as is; --token overrides it
  %s, %s
      a service app: tokens by the OAuth2 client-credentials grant, scope %s
  %s
      token endpoint of that grant and of login (default %s)
  %s
      authorization endpoint of login (default %s)
  Without any of them, commands use the session 'itwin-export login' saved
  (ITWIN_CLIENT_ID alone naming the native app to sign in through).

Exit codes:
  0  success: run created or already active; with --wait, run completed with Success
  2  usage or validation error: nothing was sent
  3  the run completed with a result other than Success
  4  the API refused the request (4xx after retries)
  5  no usable answer: network failure, 5xx after retries, malformed response, timeout

Examples:
  itwin-export demo
  ITWIN_ACCESS_TOKEN=... itwin-export run --connection CONNECTION_ID --wait
`, envAPIURL, wrapper.DefaultBaseURL, envAccessToken, envClientID, envClientSecret,
		wrapper.Scope, envTokenURL, wrapper.DefaultTokenURL, envAuthorizeURL, wrapper.DefaultAuthorizeURL)
}

// usageError is a mistake in the command line or the configuration: exit 2,
// nothing was sent.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// clientFlags are the flags of every command that calls the API.
type clientFlags struct {
	apiURL  string
	token   string
	verbose bool
	// perMinute is the client's request budget (run only; 0: none).
	perMinute int
}

// add registers the flags on fs.
func (c *clientFlags) add(fs *flags) {
	fs.StringVar(&c.apiURL, "api-url", "", "`URL` of the Export API (default $"+envAPIURL+" or "+wrapper.DefaultBaseURL+")")
	fs.StringVar(&c.token, "token", "", "bearer `TOKEN` to use as is (default $"+envAccessToken+")")
	fs.BoolVar(&c.verbose, "verbose", false, "log every HTTP exchange to stderr (tokens and SAS signatures redacted)")
}

// client builds the wrapper client from the flags and the environment. A
// configuration that cannot work is a usageError.
func (a *app) client(ctx context.Context, cf *clientFlags) (*wrapper.Client, error) {
	base := cf.apiURL
	if base == "" {
		base = a.getenv(envAPIURL)
	}
	if base == "" {
		base = wrapper.DefaultBaseURL
	}
	opts := wrapper.Options{BaseURL: base, UserAgent: userAgent, StorageURL: a.getenv(envStorageURL)}
	creds, err := a.resolveCredentials(cf.token)
	if err != nil {
		return nil, err
	}
	opts.TokenSource, opts.Secrets = creds.source, creds.secrets
	if cf.verbose {
		fmt.Fprintf(a.stderr, "credentials: %s\n", creds.from)
		opts.Logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if cf.perMinute > 0 {
		opts.Budget = wrapper.RateBudget{Requests: cf.perMinute, Per: time.Minute}
	}
	c, err := wrapper.New(opts)
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	return c, nil
}

// fail reports err on stderr, in one line naming its class, and returns its
// exit code.
func (a *app) fail(err error) int {
	fmt.Fprintln(a.stderr, "itwin-export: "+oneLine(describe(err)))
	return exitCode(err)
}

// exitCode maps an error onto the exit codes.
func exitCode(err error) int {
	var (
		usage    *usageError
		apiErr   *wrapper.APIError
		tokenErr *oauth2.RetrieveError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage), errors.Is(err, wrapper.ErrValidation), errors.Is(err, wrapper.ErrInsecureToken):
		return exitUsage
	case errors.Is(err, wrapper.ErrRunFailed):
		return exitRunFail
	case errors.Is(err, wrapper.ErrAuthorizationRequired), errors.Is(err, wrapper.ErrLoginFailed), errors.Is(err, wrapper.ErrUnauthorized):
		return exitRefused
	case errors.As(err, &apiErr) && apiErr.StatusCode >= 400 && apiErr.StatusCode < 500:
		return exitRefused
	case errors.As(err, &tokenErr) && tokenErr.Response != nil && tokenErr.Response.StatusCode >= 400 && tokenErr.Response.StatusCode < 500:
		// The identity service refused the client credentials.
		return exitRefused
	default:
		// 5xx, transport failures, malformed or unexpected answers, bad
		// Locations, timeouts and interruptions: no usable answer.
		return exitNoAnswer
	}
}

// classes name the error classes, most specific first; describe puts the
// class of an error in front of its text unless the text starts with it.
var classes = []struct {
	err  error
	name string
}{
	{wrapper.ErrValidation, wrapper.ErrValidation.Error()},
	{wrapper.ErrRunFailed, wrapper.ErrRunFailed.Error()},
	{wrapper.ErrAuthorizationRequired, wrapper.ErrAuthorizationRequired.Error()},
	{wrapper.ErrLoginFailed, wrapper.ErrLoginFailed.Error()},
	{wrapper.ErrUnauthorized, wrapper.ErrUnauthorized.Error()},
	{wrapper.ErrForbidden, wrapper.ErrForbidden.Error()},
	{wrapper.ErrNotFound, wrapper.ErrNotFound.Error()},
	{wrapper.ErrConflict, wrapper.ErrConflict.Error()},
	{wrapper.ErrInvalidRequest, wrapper.ErrInvalidRequest.Error()},
	{wrapper.ErrRateLimited, wrapper.ErrRateLimited.Error()},
	{wrapper.ErrServer, wrapper.ErrServer.Error()},
	{wrapper.ErrMissingLocation, wrapper.ErrMissingLocation.Error()},
	{wrapper.ErrForeignLocation, wrapper.ErrForeignLocation.Error()},
	{wrapper.ErrMalformedResponse, wrapper.ErrMalformedResponse.Error()},
	{wrapper.ErrUnexpectedStatus, wrapper.ErrUnexpectedStatus.Error()},
	{wrapper.ErrInsecureToken, "insecure"},
	{context.DeadlineExceeded, "timed out"},
	{context.Canceled, "interrupted"},
}

// describe is the one-line text of an error, starting with its class: the
// wrapper's sentinel text (for example "not found", "rate limited"), then
// the API's code and message and, for 422, each detail's target and message
// (all in the wrapper's error text).
func describe(err error) string {
	msg := err.Error()
	var (
		usage     *usageError
		transport *wrapper.TransportError
	)
	switch {
	case errors.As(err, &usage):
		return "usage: " + msg
	case errors.As(err, &transport) && !strings.HasPrefix(msg, "no answer"):
		return "no answer: " + msg
	}
	for _, c := range classes {
		if errors.Is(err, c.err) {
			if strings.HasPrefix(msg, c.name) {
				return msg
			}
			return c.name + ": " + msg
		}
	}
	return msg
}

// oneLine folds s onto one line.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
