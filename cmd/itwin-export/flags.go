package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// flags is the flag set of one command, with what its --help shows.
type flags struct {
	*flag.FlagSet
	a        *app
	name     string   // "run", "connection create"
	usage    string   // the synopsis after the program name
	about    string   // what the command does, one paragraph or more
	examples []string // command lines, without the program name
	// minPos and maxPos bound the number of positional arguments.
	minPos, maxPos int
}

// newFlags returns an empty flag set for the command name, which takes
// between minPos and maxPos positional arguments.
func (a *app) newFlags(name, usage, about string, minPos, maxPos int, examples ...string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors and help are written by parse
	a.cmdName = name
	return &flags{FlagSet: fs, a: a, name: name, usage: usage, about: about, examples: examples, minPos: minPos, maxPos: maxPos}
}

// parse parses args, in which flags and positional arguments may come in any
// order ("--" ends the flags). It returns the positional arguments, of which
// there must be between minPos and maxPos. When done is true the command ends
// at once with code: after --help (stdout, 0) or a usage error (stderr, 2).
func (f *flags) parse(args []string) (pos []string, code int, done bool) {
	minPos, maxPos := f.minPos, f.maxPos
	for {
		if err := f.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.help(f.a.stdout)
				return nil, exitOK, true
			}
			return nil, f.usageError("%s", dashes.Replace(err.Error())), true
		}
		rest := f.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	switch {
	case len(pos) < minPos && minPos == maxPos:
		return nil, f.usageError("expected %d argument(s), got %d", minPos, len(pos)), true
	case len(pos) < minPos:
		return nil, f.usageError("expected at least %d argument(s), got %d", minPos, len(pos)), true
	case len(pos) > maxPos && maxPos == 0:
		return nil, f.usageError("unexpected argument %q", pos[0]), true
	case len(pos) > maxPos:
		return nil, f.usageError("too many arguments: %q", pos[maxPos:]), true
	}
	return pos, exitOK, false
}

// dashes rewrites the flag package's "-name" into the "--name" users type.
var dashes = strings.NewReplacer(
	"flag provided but not defined: -", "flag provided but not defined: --",
	"flag needs an argument: -", "flag needs an argument: --",
	"for flag -", "for flag --",
	" for -", " for --",
)

// usageError reports a usage error of the command on stderr and returns 2.
func (f *flags) usageError(format string, args ...any) int {
	return f.a.fail(context.Background(), flagErrorf(format, args...))
}

// required returns a usage error when a required flag is empty.
func required(value, name string) error {
	if strings.TrimSpace(value) == "" {
		return flagErrorf("--%s is required", name)
	}
	return nil
}

// durationFlag registers a duration flag whose error says what a duration
// looks like: "5" alone lacks its unit.
func (f *flags) durationFlag(p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	f.Var((*durationValue)(p), name, usage)
}

// durationValue is a time.Duration as a flag.Value.
type durationValue time.Duration

// String formats the duration.
func (d *durationValue) String() string { return time.Duration(*d).String() }

// Set parses a duration such as 2s, 500ms or 1m.
func (d *durationValue) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err == nil {
		*d = durationValue(v)
		return nil
	}
	if _, numErr := strconv.ParseFloat(s, 64); numErr == nil {
		return fmt.Errorf("a duration needs a unit, for example %ss or %sms", s, s)
	}
	return errors.New("not a duration, for example 2s, 500ms or 1m")
}

// help writes the command's help: synopsis, description, every flag with a
// one-line description, and examples.
func (f *flags) help(w io.Writer) {
	fmt.Fprintf(w, "Usage: itwin-export %s\n\n%s\n", f.usage, strings.TrimSpace(f.about))
	var lines []string
	f.VisitAll(func(fl *flag.Flag) {
		arg, usage := flag.UnquoteUsage(fl)
		name := "--" + fl.Name
		if arg != "" {
			name += " " + arg
		}
		switch fl.DefValue {
		case "", "false", "0", "0s":
		default:
			usage += fmt.Sprintf(" (default %s)", fl.DefValue)
		}
		lines = append(lines, "  "+name+"\t"+usage)
	})
	lines = append(lines, "  --help\tshow this help")
	fmt.Fprint(w, "\nFlags:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range lines {
		fmt.Fprintln(tw, l)
	}
	tw.Flush()
	if len(f.examples) > 0 {
		fmt.Fprint(w, "\nExample (after 'go build -o itwin-export ./cmd/itwin-export'):\n")
		for _, e := range f.examples {
			fmt.Fprintf(w, "  ./itwin-export %s\n", e)
		}
	}
}

// optString is a string flag that remembers whether it was given, so that a
// flag not given leaves its field out of a request body.
type optString struct {
	value string
	set   bool
}

// String returns the value.
func (o *optString) String() string { return o.value }

// Set records the value.
func (o *optString) Set(v string) error {
	o.value, o.set = v, true
	return nil
}

// ptr returns a pointer to the value when the flag was given, else nil.
func (o *optString) ptr() *string {
	if !o.set {
		return nil
	}
	v := o.value
	return &v
}

// optBool is a boolean flag that remembers whether it was given.
type optBool struct {
	value bool
	set   bool
}

// String returns the value.
func (o *optBool) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatBool(o.value)
}

// Set records the value.
func (o *optBool) Set(v string) error {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("must be true or false")
	}
	o.value, o.set = b, true
	return nil
}

// IsBoolFlag lets the flag be given without a value.
func (o *optBool) IsBoolFlag() bool { return true }

// ptr returns a pointer to the value when the flag was given, else nil.
func (o *optBool) ptr() *bool {
	if !o.set {
		return nil
	}
	v := o.value
	return &v
}
