package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/itwin-export/itwin-export/api"
)

// TestCompletionScripts: completion SHELL prints the script of each shell,
// exit 0; an unknown shell is a usage error.
func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for shell, marker := range map[string]string{
		"bash":       "__start_itwin-export",
		"zsh":        "#compdef itwin-export",
		"fish":       "complete -c itwin-export",
		"powershell": "Register-ArgumentCompleter",
	} {
		r := runIn(t, nil, "completion", shell)
		wantCode(t, r, exitOK)
		if !strings.Contains(r.stdout, marker) || r.stderr != "" {
			t.Errorf("completion %s: stdout lacks %q (stderr %q)", shell, marker, r.stderr)
		}
	}
	r := runIn(t, nil, "completion", "tcsh")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, `unknown shell "tcsh"`) {
		t.Errorf("stderr: %s", r.stderr)
	}
}

// bashCompletionLib is the bash-completion package's library, which a
// user's bash has loaded and the generated script relies on.
const bashCompletionLib = "/usr/share/bash-completion/bash_completion"

// bashComplete sources the bash completion script of the built binary in a
// real bash (after the bash-completion package) and completes the command line words (the last one being
// completed), with the environment env. It returns what bash would offer.
func bashComplete(t *testing.T, env map[string]string, words ...string) []string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed to test its completion: %v", err)
	}
	if _, err := os.Stat(bashCompletionLib); err != nil {
		t.Fatalf("the bash-completion package is needed (make test-tools): %v", err)
	}
	script := filepath.Join(t.TempDir(), "itwin-export.bash")
	if err := os.WriteFile(script, []byte(runIn(t, nil, "completion", "bash").stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The script runs COMP_WORDS[0] __complete ...: the binary itself.
	cmd := exec.CommandContext(ctx, bash, "--noprofile", "--norc", "-c", `
source "$1"; source "$2"; shift 2
COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; COMP_TYPE=9
__start_itwin-export
printf '%s\n' "${COMPREPLY[@]}"`, "bash", bashCompletionLib, script, binPath)
	cmd.Args = append(cmd.Args, words...)
	cmd.Env = append(envList(env), "PATH="+os.Getenv("PATH"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash completion of %q: %v", words, err)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			got = append(got, l)
		}
	}
	sort.Strings(got)
	return got
}

// TestBashCompletion: in a real bash, --ifc-version completes the IFC
// versions package api declares, and with ITWIN_IMODEL_ID=M --connection
// completes the connections of iModel M on the fake, and no other.
func TestBashCompletion(t *testing.T) {
	t.Parallel()
	var versions []string
	for _, v := range enumIFCVersion {
		if !v.Valid() {
			t.Errorf("%q is not a valid IFC version", v)
		}
		versions = append(versions, string(v))
	}
	sort.Strings(versions)
	if len(versions) != 4 {
		t.Errorf("%d IFC versions, want 4: %q", len(versions), versions)
	}
	if diff := cmp.Diff(versions, bashComplete(t, nil, "run", "--ifc-version", "")); diff != "" {
		t.Errorf("run --ifc-version <TAB> (-want +got):\n%s", diff)
	}

	s := newFake(t, manualOpts())
	c1 := s.AddConnection(api.ExportConnectionCreate{IModelID: "M", DisplayName: new("nightly")})
	c2 := s.AddConnection(api.ExportConnectionCreate{IModelID: "M"})
	s.AddConnection(api.ExportConnectionCreate{IModelID: "other"})
	env := envFor(s.URL)
	env[envIModelID] = "M"
	want := []string{c1.ID, c2.ID}
	sort.Strings(want)
	if diff := cmp.Diff(want, bashComplete(t, env, "run", "--connection", "")); diff != "" {
		t.Errorf("run --connection <TAB> (-want +got):\n%s", diff)
	}
	// Without credentials: nothing offered, nothing printed.
	delete(env, envAccessToken)
	if got := bashComplete(t, env, "run", "--connection", ""); len(got) != 0 {
		t.Errorf("without credentials: %q", got)
	}
}

// TestCompleteProtocol drives cobra's __complete protocol in process:
// enum values of every flag of the contract, the connections of
// ITWIN_IMODEL_ID, the runs of status's --connection, commands by prefix;
// and a failing service yields nothing on either stream.
func TestCompleteProtocol(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts())
	conn := s.AddConnection(api.ExportConnectionCreate{IModelID: "M", DisplayName: new("nightly")})
	ref, err := newClient(t, s.URL).CreateRun(context.Background(), conn.ID, api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC})
	if err != nil {
		t.Fatal(err)
	}
	env := envFor(s.URL)
	env[envIModelID] = "M"
	complete := func(env map[string]string, args ...string) []string {
		t.Helper()
		r := runIn(t, env, append([]string{"__completeNoDesc"}, args...)...)
		wantCode(t, r, exitOK)
		if strings.Contains(r.stderr, "itwin-export") {
			t.Errorf("%q: stderr %q", args, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		return lines[:len(lines)-1] // the last line is the directive
	}
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"run", "--export-type", ""}, names(enumExportType)},
		{[]string{"run", "--location", ""}, names(enumLocation)},
		{[]string{"connection", "create", "--auth", ""}, names(enumAuthenticationType)},
		{[]string{"status", "--connection", ""}, []string{conn.ID}},
		{[]string{"connection", "get", ""}, []string{conn.ID}},
		{[]string{"status", "--connection", conn.ID, ""}, []string{ref.RunID}},
		{[]string{"sta"}, []string{"status"}},
	} {
		if diff := cmp.Diff(tt.want, complete(env, tt.args...)); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.args, diff)
		}
	}
	if got := complete(map[string]string{envAPIURL: "http://127.0.0.1:1/export", envAccessToken: testToken, envIModelID: "M"},
		"run", "--connection", ""); len(got) != 0 {
		t.Errorf("unreachable service: %q", got)
	}
}

// allCommands lists cmd and every command under it.
func allCommands(cmd *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{cmd}
	for _, c := range cmd.Commands() {
		out = append(out, allCommands(c)...)
	}
	return out
}
