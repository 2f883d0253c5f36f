package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestHelp: --help on every command lists its flags, each with a
// description, and an example, on stdout with exit 0.
func TestHelp(t *testing.T) {
	names := [][]string{{}, {"connection"}}
	for _, c := range commands() {
		if c.name != "connection" {
			names = append(names, []string{c.name})
		}
	}
	for _, c := range connectionCommands {
		names = append(names, []string{"connection", c.name})
	}
	flagLine := regexp.MustCompile(`^  --[a-z-]+( [A-Za-z_:.0-9|]+)?  +\S`)
	for _, name := range names {
		for _, h := range []string{"--help", "-h"} {
			t.Run(strings.Join(append(name, h), " "), func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				code := run(context.Background(), append(name, h), nil, &stdout, &stderr, nil)
				if code != exitOK || stderr.Len() != 0 {
					t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
				}
				out := stdout.String()
				if !strings.HasPrefix(out, "Usage: itwin-export") || !strings.Contains(out, "\nExample") {
					t.Errorf("help lacks usage or example:\n%s", out)
				}
				_, flags, ok := strings.Cut(out, "\nFlags:\n")
				if dispatcher := len(name) == 0 || (len(name) == 1 && name[0] == "connection"); dispatcher {
					if !strings.Contains(out, "Commands:\n") {
						t.Errorf("help lists no commands:\n%s", out)
					}
					return
				}
				if !ok {
					t.Fatalf("help lists no flags:\n%s", out)
				}
				flags, _, _ = strings.Cut(flags, "\n\n")
				for _, l := range strings.Split(flags, "\n") {
					if !flagLine.MatchString(l) {
						t.Errorf("flag line without a description: %q", l)
					}
				}
			})
		}
	}
	// help CMD is CMD --help.
	var a, b bytes.Buffer
	run(context.Background(), []string{"help", "run"}, nil, &a, io.Discard, nil)
	run(context.Background(), []string{"run", "--help"}, nil, &b, io.Discard, nil)
	if a.String() != b.String() || !strings.Contains(a.String(), "--output-sas-url URL") {
		t.Errorf("help run:\n%s", a.String())
	}
}

// TestHelpExamplesParse: every example of every help runs as written after
// go build (./itwin-export), its flags accepted: with no credentials and an
// ended context, none ends in a usage error about its own flags.
func TestHelpExamplesParse(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var names [][]string
	for _, e := range commands() {
		names = append(names, []string{e.name})
	}
	for _, e := range connectionCommands {
		names = append(names, []string{"connection", e.name})
	}
	names = append(names, nil, []string{"connection"})
	seen := 0
	for _, name := range names {
		help := runIn(t, nil, append(name, "--help")...).stdout
		for _, l := range strings.Split(help, "\n") {
			example, ok := strings.CutPrefix(l, "  ./itwin-export ")
			if !ok || strings.ContainsAny(example, "&$;") {
				continue
			}
			seen++
			args := shellWords(example)
			r := runInCtx(t, ctx, nil, args...)
			if strings.Contains(r.stderr, "--help' for usage") {
				t.Errorf("example %q: %s", example, r.stderr)
			}
		}
	}
	if seen < 10 {
		t.Errorf("only %d examples found", seen)
	}
}

// shellWords splits a command line as sh does for plain words and single
// quotes.
func shellWords(line string) []string {
	var (
		words  []string
		word   strings.Builder
		quoted bool
		inWord bool
	)
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, word.String())
				word.Reset()
				inWord = false
			}
		default:
			word.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words
}

// entry is one subcommand, as help lists it.
type entry struct{ name, summary string }

// commands lists the subcommands of itwin-export in the order help shows
// them.
func commands() []entry {
	return entries(newRootCmd(&factory{getenv: func(string) string { return "" }}))
}

// connectionCommands lists the subcommands of `itwin-export connection`.
var connectionCommands = entries(newConnectionCmd(&factory{}))

// entries lists cmd's subcommands, without help.
func entries(cmd *cobra.Command) []entry {
	var out []entry
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() && c.Name() != "help" {
			out = append(out, entry{c.Name(), c.Short})
		}
	}
	return out
}
