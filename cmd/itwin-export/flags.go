package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flags is the flag set of one command, with the command it belongs to.
// Its methods register flags as the flag package's do.
type flags struct {
	*pflag.FlagSet
	cmd *cobra.Command
}

// Var registers a flag of a custom type; one that says IsBoolFlag may be
// given without a value, as --replace.
func (f *flags) Var(value pflag.Value, name, usage string) {
	fl := f.VarPF(value, name, "", usage)
	if b, ok := value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		fl.NoOptDefVal = "true"
	}
}

// envKey annotates a flag with the environment variable that gives its
// default.
const envKey = "env"

// envDefault makes the environment variable env the default of the flag
// name when it is set: a command sees it as if the flag were given.
func (f *flags) envDefault(name, env string) {
	_ = f.SetAnnotation(name, envKey, []string{env})
}

// applyEnvDefaults gives each flag of fs that was not given the value of
// its environment variable, when set.
func applyEnvDefaults(fs *pflag.FlagSet, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(fl *pflag.Flag) {
		if env := fl.Annotations[envKey]; len(env) == 1 && !fl.Changed && err == nil {
			if v := getenv(env[0]); v != "" {
				err = fl.Value.Set(v)
			}
		}
	})
	return err
}

// durationFlag registers a duration flag whose error says what a duration
// looks like: "5" alone lacks its unit.
func (f *flags) durationFlag(p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	f.Var((*durationValue)(p), name, usage)
}

// flagError turns an error of the flag parser into a usage error of the
// command, in the words of the command's contract.
func flagError(_ *cobra.Command, err error) error {
	var (
		notExist *pflag.NotExistError
		invalid  *pflag.InvalidValueError
	)
	switch {
	case errors.As(err, &notExist) && notExist.GetSpecifiedShortnames() == "":
		return flagErrorf("flag provided but not defined: --%s", notExist.GetSpecifiedName())
	case errors.As(err, &invalid):
		return flagErrorf("invalid value %q for flag --%s: %v", invalid.GetValue(), invalid.GetFlag().Name, errors.Unwrap(invalid))
	}
	return flagErrorf("%s", err.Error())
}

// positional returns the check of a command's positional arguments: between
// minPos and maxPos of them.
func positional(minPos, maxPos int) cobra.PositionalArgs {
	return func(_ *cobra.Command, pos []string) error {
		switch {
		case len(pos) < minPos && minPos == maxPos:
			return flagErrorf("expected %d argument(s), got %d", minPos, len(pos))
		case len(pos) < minPos:
			return flagErrorf("expected at least %d argument(s), got %d", minPos, len(pos))
		case len(pos) > maxPos && maxPos == 0:
			return flagErrorf("unexpected argument %q", pos[0])
		case len(pos) > maxPos:
			return flagErrorf("too many arguments: %q", pos[maxPos:])
		}
		return nil
	}
}

// required returns a usage error when a required flag is empty.
func required(value, name string) error {
	if strings.TrimSpace(value) == "" {
		return flagErrorf("--%s is required", name)
	}
	return nil
}

// durationValue is a time.Duration as a flag value.
type durationValue time.Duration

// String formats the duration.
func (d *durationValue) String() string { return time.Duration(*d).String() }

// Type names the value in help.
func (d *durationValue) Type() string { return "duration" }

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

// Type names a repeatable string flag's value in help.
func (l *listFlag) Type() string { return "strings" }

// optString is a string flag that remembers whether it was given, so that a
// flag not given leaves its field out of a request body.
type optString struct {
	value string
	set   bool
}

// String returns the value.
func (o *optString) String() string { return o.value }

// Type names the value in help.
func (o *optString) Type() string { return "string" }

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

// Type names the value in help: none, as for a boolean.
func (o *optBool) Type() string { return "bool" }

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
