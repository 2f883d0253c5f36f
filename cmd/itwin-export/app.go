package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/itwin-export/itwin-export/wrapper"
)

// app is one invocation of a command: its streams, its environment, how to
// build the API client, the filter every server text goes through.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// newClient, when set, builds the API client instead of connect (tests).
	newClient func(ctx context.Context, cf *clientFlags) (*wrapper.Client, error)
	out       outputFilter
	cmdName   string // the command running, for its usage errors
}

// factory is what command constructors take: an app before a command is
// chosen. Tests fill it to run commands on buffers, or with their client.
type factory = app

// app returns the invocation state of the command named name.
func (f *factory) app(name string) *app {
	a := *f
	a.cmdName = name
	return &a
}

// command is one subcommand's options and work, done by exec once the flags
// are parsed into the options; its error decides the exit code (classify).
type command interface {
	exec(ctx context.Context, a *app, args []string) error
}

// bounded is a command that calls the API: --timeout bounds all of it.
type bounded interface {
	deadline() time.Duration
}

// spec is what a command's help and man page say, and how many positional
// arguments it takes.
type spec struct {
	use      string // the synopsis after the program name
	short    string // one line for the list of commands
	long     string // what the command does, one paragraph or more
	args     int
	examples []string // command lines, without the program name
}

// leaf returns the flag set of a new command doing c's work: once its flags
// are parsed into c, runF when not nil (a test looking at the options), else
// c.exec, bounded by --timeout when c calls the API.
func leaf[C command](f *factory, c C, runF func(C, []string) error, s spec) *flags {
	cmd := &cobra.Command{Use: s.use, Short: s.short, Long: strings.TrimSpace(s.long), Args: positional(s.args), DisableFlagsInUseLine: true}
	cmd.Flags().SortFlags = false // help lists them as registered
	for _, e := range s.examples {
		cmd.Example += "  ./itwin-export " + e + "\n"
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if runF != nil {
			return runF(c, args)
		}
		// Ended when the command returns: what the command opened for its
		// length (the Redis client of --redis-url) closes then.
		ctx, stop := context.WithCancel(cmd.Context())
		defer stop()
		if b, ok := any(c).(bounded); ok && b.deadline() > 0 {
			ctx, stop = context.WithTimeoutCause(ctx, b.deadline(),
				fmt.Errorf("--timeout %s reached: %w", b.deadline(), context.DeadlineExceeded))
			defer stop()
		}
		a := f.app(commandName(cmd))
		if err := a.useJQ(cmd); err != nil {
			return err
		}
		if code := a.fail(ctx, c.exec(ctx, a, args)); code != exitOK {
			return &exitStatus{code: code}
		}
		return nil
	}
	return &flags{FlagSet: cmd.Flags(), cmd: cmd, f: f}
}

// group returns a command that only holds subcommands, such as
// `connection`: without one (its help, on stderr), or with an unknown one,
// it is a usage error.
func group(use, short, long, example string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: strings.TrimSpace(long), Example: example,
		Args: cobra.ArbitraryArgs, DisableFlagsInUseLine: true, SuggestionsMinimumDistance: 2,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				hint := ""
				if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
					hint = "; did you mean " + strings.Join(s, " or ") + "?"
				}
				return flagErrorf("unknown command %q%s", args[0], hint)
			}
			if cmd.HasParent() {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: missing command\n", cmd.CommandPath())
			}
			cmd.SetOut(cmd.ErrOrStderr())
			_ = cmd.Help()
			return &exitStatus{code: exitUsage}
		},
	}
	cmd.AddCommand(subs...)
	return cmd
}

// commandName is the command's path without the program name: "run",
// "connection create".
func commandName(cmd *cobra.Command) string {
	_, name, _ := strings.Cut(cmd.CommandPath(), " ")
	return name
}

// newRootCmd returns the whole command tree. A new command is a
// constructor in the file of its work, added here; a flag is registered in
// its command's constructor (completion of its values: complete.go).
func newRootCmd(f *factory) *cobra.Command {
	root := group("itwin-export COMMAND [flags]", "drive the iTwin Platform Export API", `
itwin-export drives the iTwin Platform Export API: export an iModel to IFC
as a run of an export connection, wait for it, and manage connections.`,
		"  ./itwin-export demo\n  ./itwin-export version\n",
		newRunCmd(f, nil),
		newStatusCmd(f, nil),
		newRunsCmd(f, nil),
		newConnectionsCmd(f, nil),
		newConnectionCmd(f),
		newAuthInfoCmd(f, nil),
		newDownloadCmd(f, nil),
		newUploadCmd(f, nil),
		newLoginCmd(f, nil),
		newLogoutCmd(f, nil),
		newFakeServerCmd(f, nil),
		newDemoCmd(f, nil),
		newVersionCmd(f, nil),
		newCompletionCmd(f),
		newManCmd(f),
	)
	root.SilenceErrors, root.SilenceUsage = true, true
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetFlagErrorFunc(flagError)
	root.SetHelpTemplate(helpTemplate)
	root.SetOut(f.stdout)
	root.SetErr(f.stderr)
	registerCompletions(f, root)
	return root
}

func init() {
	cobra.EnableCommandSorting = false // help lists them as added
	cobra.AddTemplateFuncs(map[string]any{"flagLines": flagLines, "rootTrailer": rootTrailer})
}

// run is the whole command, testable in-process: args without the program
// name, the standard streams and the environment. It returns the exit code.
// A signal ends ctx with an *interrupted cause.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	return execute(ctx, &factory{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}, args)
}

// execute runs the command tree on args and returns the exit code.
func execute(ctx context.Context, f *factory, args []string) int {
	root := newRootCmd(f)
	if len(args) > 0 {
		if alias, ok := map[string]string{"-version": "version", "--version": "version", "-help": "--help"}[args[0]]; ok {
			args = append([]string{alias}, args[1:]...)
		}
	}
	root.SetArgs(append([]string{}, args...))
	cmd, err := root.ExecuteContextC(ctx)
	if status := (*exitStatus)(nil); errors.As(err, &status) {
		return status.code
	}
	return f.app(commandName(cmd)).fail(ctx, err)
}

// helpTemplate lays out a command's help: synopsis, description, its
// commands or its flags, the root's environment and exit codes, examples.
const helpTemplate = `Usage: {{.UseLine}}

{{.Long}}
{{if .HasAvailableSubCommands}}
Commands:
{{range .Commands}}{{if .IsAvailableCommand}}  {{rpad .Name .NamePadding}}  {{.Short}}
{{end}}{{end}}
Run '{{.CommandPath}} COMMAND --help' for the flags of a command.
{{else}}
Flags:
{{flagLines .Flags}}{{end}}{{if not .HasParent}}
{{rootTrailer}}
{{end}}{{with .Example}}
Example (after 'go build -o itwin-export ./cmd/itwin-export'):
{{.}}{{end}}`

// flagLines is one line per flag: "--name ARG", what it does, its default
// when not a zero value.
func flagLines(fs *pflag.FlagSet) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fs.VisitAll(func(fl *pflag.Flag) {
		arg, usage := pflag.UnquoteUsage(fl)
		name := strings.TrimSpace("--" + fl.Name + " " + arg)
		if fl.Name == "help" {
			usage = "show this help"
		} else if fl.Shorthand != "" {
			usage += " (short: -" + fl.Shorthand + ")"
		}
		if !slices.Contains([]string{"", "false", "0", "0s", "[]"}, fl.DefValue) {
			usage += " (default " + fl.DefValue + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, usage)
	})
	tw.Flush()
	return b.String()
}

// rootTrailer is the environment and exit-code sections of the overall
// help and of the man page.
func rootTrailer() string {
	return fmt.Sprintf(`Environment:
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
  %s
      the iModel of connections and connection create when --imodel is not
      given, and whose connections --connection completes
  %s
      a Redis shared by processes of one application: the request budget and
      the 429 pause (redis://[:PASSWORD@]HOST:PORT[/DB]); --redis-url overrides it
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
  130  interrupted (143 for SIGTERM, 129 for SIGHUP); stderr says how to resume`,
		envAPIURL, wrapper.DefaultBaseURL, envAccessToken, envClientID, envClientSecret,
		wrapper.Scope, envTokenURL, wrapper.DefaultTokenURL, envAuthorizeURL, wrapper.DefaultAuthorizeURL, envStorageURL, envIModelID, envRedisURL)
}
