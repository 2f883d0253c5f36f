package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
)

// TestJQ: --jq prints each result of the expression as 'jq -r' does:
// strings bare, other values as compact JSON, one a line; it implies
// --json. An expression that does not parse exits 2 with nothing sent.
func TestJQ(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts())
	c1 := s.AddConnection(api.ExportConnectionCreate{IModelID: "M", DisplayName: new("nightly")})
	c2 := s.AddConnection(api.ExportConnectionCreate{IModelID: "M"})
	s.AddConnection(api.ExportConnectionCreate{IModelID: "other"})
	env := envFor(s.URL)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"connections", "--imodel", "M", "--json", "--jq", ".[].id"}, c1.ID + "\n" + c2.ID + "\n"},
		{[]string{"connections", "--imodel", "M", "--jq", ".[].id"}, c1.ID + "\n" + c2.ID + "\n"},
		{[]string{"connections", "--imodel", "M", "--jq", "length"}, "2\n"},
		{[]string{"connection", "get", c1.ID, "--jq", "{id, displayName}"}, `{"displayName":"nightly","id":"` + c1.ID + `"}` + "\n"},
		{[]string{"connections", "--imodel", "M", "--jq=.[] | select(.displayName == \"nightly\") | .iModelId"}, "M\n"},
	} {
		r := runIn(t, env, tt.args...)
		wantCode(t, r, exitOK)
		if diff := cmp.Diff(tt.want, r.stdout); diff != "" {
			t.Errorf("%q: stdout (-want +got):\n%s", tt.args, diff)
		}
	}

	before := len(s.Requests())
	for _, args := range [][]string{
		{"connections", "--imodel", "M", "--json", "--jq", ".["},
		{"run", "--connection", c1.ID, "--jq", ".["},
		{"status", "--connection", c1.ID, "r1", "--jq", "nosuchfunction"},
	} {
		r := runIn(t, env, args...)
		wantCode(t, r, exitUsage)
		if r.stdout != "" || !strings.Contains(r.stderr, "--jq: ") || !strings.Contains(r.stderr, "--help' for usage") {
			t.Errorf("%q: stdout %q, stderr %q", args, r.stdout, r.stderr)
		}
	}
	if n := len(s.Requests()) - before; n != 0 {
		t.Errorf("%d requests sent after bad expressions, want none", n)
	}

	// A valid expression that fails on the document: a usage error too.
	r := runIn(t, env, "connections", "--imodel", "M", "--jq", ".id")
	wantCode(t, r, exitUsage)
	if !strings.Contains(r.stderr, "--jq: ") {
		t.Errorf("stderr: %s", r.stderr)
	}
}

// TestJQOnEveryJSONCommand: every command with --json has --jq, and its
// help says so.
func TestJQOnEveryJSONCommand(t *testing.T) {
	t.Parallel()
	root := newRootCmd(&factory{getenv: func(string) string { return "" }})
	seen := 0
	for _, cmd := range allCommands(root) {
		if cmd.Flags().Lookup("json") == nil {
			continue
		}
		seen++
		if cmd.Flags().Lookup("jq") == nil {
			t.Errorf("%s has --json but no --jq", cmd.CommandPath())
		}
		name := strings.Fields(commandName(cmd))
		if help := runIn(t, nil, append(name, "--help")...).stdout; !strings.Contains(help, "  --jq EXPR  ") {
			t.Errorf("%s --help lacks --jq:\n%s", cmd.CommandPath(), help)
		}
	}
	if seen < 8 {
		t.Errorf("only %d commands with --json", seen)
	}
}
