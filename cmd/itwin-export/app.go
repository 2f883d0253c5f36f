package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/itwin-export/itwin-export/wrapper"
)

// app is one invocation of the command: its streams, its environment and
// the filter every server text goes through on its way to the streams.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	out            outputFilter
	cmdName        string // the command running, for its usage errors
}

// command is one subcommand: define registers its flags (and says what
// --help shows), exec does the work with the positional arguments. exec
// returns nil on success; its error decides the exit code (classify).
type command interface {
	define(a *app) *flags
	exec(ctx context.Context, a *app, args []string) error
}

// bounded is a command that calls the API: --timeout bounds all of it.
type bounded interface {
	deadline() time.Duration
}

// entry is one line of the command table.
type entry struct {
	name, summary string
	run           func(ctx context.Context, a *app, args []string) int
}

// leaf makes a command table entry's run from the command's constructor.
func leaf(newCommand func() command) func(ctx context.Context, a *app, args []string) int {
	return func(ctx context.Context, a *app, args []string) int {
		return a.runCommand(ctx, newCommand(), args)
	}
}

// commands lists the subcommands in the order help shows them.
func commands() []entry {
	return []entry{
		{"run", "create an export run of a connection (and wait for it)", leaf(func() command { return &runCmd{} })},
		{"status", "show a run, by its Location or its id (and wait for it)", leaf(func() command { return &statusCmd{} })},
		{"runs", "list the runs of a connection", leaf(func() command { return &runsCmd{} })},
		{"connections", "list the export connections of an iModel", leaf(func() command { return &connectionsCmd{} })},
		{"connection", "create, get or delete an export connection", runConnection},
		{"auth-info", "tell whether the user is authorized for User connections", leaf(func() command { return &authInfoCmd{} })},
		{"download", "download a file of iTwin Storage, such as a run's IFC output", leaf(func() command { return &downloadCmd{} })},
		{"upload", "put a local file into iTwin Storage, such as a custom mapping file", leaf(func() command { return &uploadCmd{} })},
		{"login", "sign in through the browser; later commands use the saved session", leaf(func() command { return &loginCmd{} })},
		{"logout", "delete the session login saved", leaf(func() command { return &logoutCmd{} })},
		{"fake-server", "serve the in-memory Export API on a local port until interrupted", leaf(func() command { return &fakeServerCmd{} })},
		{"demo", "show the whole flow against the in-memory Export API", leaf(func() command { return &demoCmd{} })},
		{"version", "print the version of itwin-export and of Go", leaf(func() command { return &versionCmd{} })},
	}
}

// run is the whole command, testable in-process: args without the program
// name, the standard streams and the environment. It returns the exit code.
// A signal ends ctx with an *interrupted cause.
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
	case "-version", "--version":
		name = "version"
	}
	for _, e := range commands() {
		if e.name == name {
			return e.run(ctx, a, rest)
		}
	}
	fmt.Fprintf(stderr, "itwin-export: unknown command %q\nRun 'itwin-export --help' for the list of commands.\n", name)
	return exitUsage
}

// runCommand parses the command's flags, bounds it by --timeout when it
// calls the API, runs it and reports its error.
func (a *app) runCommand(ctx context.Context, c command, args []string) int {
	fs := c.define(a)
	pos, code, done := fs.parse(args)
	if done {
		return code
	}
	if b, ok := c.(bounded); ok && b.deadline() > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, b.deadline(),
			fmt.Errorf("--timeout %s reached: %w", b.deadline(), context.DeadlineExceeded))
		defer cancel()
	}
	return a.fail(ctx, c.exec(ctx, a, pos))
}

// topUsage writes the command's overall help.
func (a *app) topUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: itwin-export COMMAND [flags]

itwin-export drives the iTwin Platform Export API: export an iModel to IFC
as a run of an export connection, wait for it, and manage connections.

Commands:
`)
	for _, e := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", e.name, e.summary)
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
  %s
      base URL of the Storage API, where downloads come from (default the
      API URL with its final /export replaced by /storage)
The first credentials set win: the token, then the service app, then the
session 'itwin-export login' saved (ITWIN_CLIENT_ID alone naming the native
app to sign in through).

Exit codes:
  0    success: run created or already active; with --wait, run completed with Success
  2    usage or validation error: nothing was sent (download: nothing was written)
  3    the run completed with a result other than Success
  4    the API refused the request (4xx after retries)
  5    no usable answer: network failure, 5xx after retries, malformed response,
       timeout, a failed download
  130  interrupted (143 for SIGTERM); stderr says how to resume

Examples (after 'go build -o itwin-export ./cmd/itwin-export'):
  ./itwin-export demo
  ./itwin-export version
`, envAPIURL, wrapper.DefaultBaseURL, envAccessToken, envClientID, envClientSecret,
		wrapper.Scope, envTokenURL, wrapper.DefaultTokenURL, envAuthorizeURL, wrapper.DefaultAuthorizeURL, envStorageURL)
}

// versionCmd is `itwin-export version`.
type versionCmd struct{}

// define registers no flags.
func (c *versionCmd) define(a *app) *flags {
	return a.newFlags("version", "version", `Print one line: the version of the itwin-export module (devel for a build
from a work tree) and the version of Go it was built with.`, 0, 0, "version")
}

// exec prints the line.
func (c *versionCmd) exec(_ context.Context, a *app, _ []string) error {
	version, goVersion := "devel", runtime.Version()
	if info, ok := debug.ReadBuildInfo(); ok {
		if v := info.Main.Version; v != "" && v != "(devel)" {
			version = v
		}
		goVersion = info.GoVersion
	}
	fmt.Fprintf(a.stdout, "itwin-export %s %s\n", version, goVersion)
	return nil
}
