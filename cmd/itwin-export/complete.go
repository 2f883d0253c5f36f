package main

//go:generate go run ./internal/enumgen -in ../../api/api.gen.go -out enums.gen.go ExportType IFCVersion Location AuthenticationType

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// completionBound bounds the requests of a completion: a shell waits on it.
const completionBound = 2 * time.Second

// completionCmd is `itwin-export completion`.
type completionCmd struct{ cmd *cobra.Command }

// newCompletionCmd returns `itwin-export completion`.
func newCompletionCmd(f *factory) *cobra.Command {
	c := &completionCmd{}
	fs := leaf(f, c, nil, spec{use: "completion bash|zsh|fish|powershell", short: "print the shell completion script of bash, zsh, fish or PowerShell",
		long: `Print a script that makes the shell complete itwin-export's commands, flags
and the values of --export-type, --ifc-version, --location, --auth and
--outcome. With credentials set (as for any command), --connection completes
the connection ids of the iModel $` + envIModelID + ` names, and the argument of
status the run ids of its --connection; each such lookup gives up after 2s,
silently.

Load it in the current shell:
  bash:        source <(itwin-export completion bash)
  zsh:         source <(itwin-export completion zsh)
  fish:        itwin-export completion fish | source
  PowerShell:  itwin-export completion powershell | Out-String | Invoke-Expression
or, for every new shell, write it where the shell looks:
  bash:  itwin-export completion bash > ~/.local/share/bash-completion/completions/itwin-export
  zsh:   itwin-export completion zsh > "${fpath[1]}/_itwin-export"
  fish:  itwin-export completion fish > ~/.config/fish/completions/itwin-export.fish`,
		args: 1, examples: []string{"completion bash", "completion zsh"}})
	fs.cmd.ValidArgs = []string{"bash", "zsh", "fish", "powershell"}
	c.cmd = fs.cmd
	return fs.cmd
}

// exec prints the script of the shell.
func (c *completionCmd) exec(_ context.Context, a *app, args []string) error {
	root := c.cmd.Root()
	switch args[0] {
	case "bash":
		return root.GenBashCompletionV2(a.stdout, true)
	case "zsh":
		return root.GenZshCompletion(a.stdout)
	case "fish":
		return root.GenFishCompletion(a.stdout, true)
	case "powershell":
		return root.GenPowerShellCompletionWithDesc(a.stdout)
	}
	return flagErrorf("unknown shell %q: bash, zsh, fish or powershell", args[0])
}

// flagValues are the values completion offers for a flag, whatever its
// command; a flag of fixed values added to a command completes once it is
// listed here.
var flagValues = map[string][]string{
	"export-type": names(enumExportType),
	"ifc-version": names(enumIFCVersion),
	"location":    names(enumLocation),
	"auth":        names(enumAuthenticationType),
	"outcome":     []string{string(api.ExecutionResultSuccess), string(api.ExecutionResultPartialSuccess), string(api.ExecutionResultError)},
}

// names turns enum values into strings.
func names[T ~string](values []T) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}

// registerCompletions attaches to every command of the tree the
// completion of its flags' values and of its arguments.
func registerCompletions(f *factory, cmd *cobra.Command) {
	for name, values := range flagValues {
		if cmd.Flags().Lookup(name) != nil {
			_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
		}
	}
	if cmd.Flags().Lookup("connection") != nil {
		_ = cmd.RegisterFlagCompletionFunc("connection", f.completeConnections)
	}
	switch commandName(cmd) {
	case "status":
		cmd.ValidArgsFunction = f.completeRuns
	case "connection get", "connection delete":
		cmd.ValidArgsFunction = f.completeConnections
	}
	for _, c := range cmd.Commands() {
		registerCompletions(f, c)
	}
}

// completeConnections offers the ids of the connections of the iModel
// $ITWIN_IMODEL_ID names, each with its display name.
func (f *factory) completeConnections(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	iModel := f.getenv(envIModelID)
	if iModel == "" || (cmd.Flags().Lookup("connection") == nil && len(args) > 0) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return f.completeFrom(cmd, func(ctx context.Context, client *wrapper.Client) (out []cobra.Completion, err error) {
		for conn, err := range client.Connections(ctx, iModel) {
			if err != nil {
				return nil, err
			}
			out = append(out, cobra.CompletionWithDesc(conn.ID, sanitize(conn.DisplayName)))
		}
		return out, nil
	})
}

// completeRuns offers the ids of the runs of the command's --connection,
// each with its state, as status's argument.
func (f *factory) completeRuns(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	conn, _ := cmd.Flags().GetString("connection")
	if conn == "" || len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return f.completeFrom(cmd, func(ctx context.Context, client *wrapper.Client) (out []cobra.Completion, err error) {
		for r, err := range client.Runs(ctx, conn) {
			if err != nil {
				return nil, err
			}
			out = append(out, cobra.CompletionWithDesc(r.ID, stateText(&r)))
		}
		return out, nil
	})
}

// completeFrom asks the API for completions with the client the command
// would use (its --api-url and --token, else the environment), within
// completionBound. On any failure it offers nothing and prints nothing.
func (f *factory) completeFrom(cmd *cobra.Command, list func(context.Context, *wrapper.Client) ([]cobra.Completion, error)) ([]cobra.Completion, cobra.ShellCompDirective) {
	ctx, cancel := context.WithTimeout(context.Background(), completionBound)
	defer cancel()
	var cf clientFlags
	cf.apiURL, _ = cmd.Flags().GetString("api-url")
	cf.token, _ = cmd.Flags().GetString("token")
	a := f.app(commandName(cmd))
	a.stdout, a.stderr = io.Discard, io.Discard
	client, err := a.connect(ctx, &cf)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	out, err := list(ctx, client)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
