package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flags is the flag set of one command, with the command it belongs to and
// the factory it was made by. Its methods register flags as pflag's do.
type flags struct {
	*pflag.FlagSet
	cmd *cobra.Command
	f   *factory
}

// envDefault makes the environment variable env, when set, the value of
// the flag name when it is not given.
func (f *flags) envDefault(name, env string) {
	f.cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if v := f.f.getenv(env); v != "" && !cmd.Flags().Changed(name) {
			return cmd.Flags().Set(name, v)
		}
		return nil
	}
}

// given returns a pointer to v when the flag name was given, else nil: a
// flag not given leaves its field out of a request body.
func given[T any](fs *pflag.FlagSet, name string, v T) *T {
	if fs == nil || !fs.Changed(name) {
		return nil
	}
	return &v
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
		v, why := invalid.GetValue(), errors.Unwrap(invalid)
		if invalid.GetFlag().Value.Type() == "duration" { // "5" alone lacks its unit
			why = errors.New("not a duration, for example 2s, 500ms or 1m")
			if _, numErr := strconv.ParseFloat(v, 64); numErr == nil {
				why = fmt.Errorf("a duration needs a unit, for example %ss or %sms", v, v)
			}
		}
		return flagErrorf("invalid value %q for flag --%s: %v", v, invalid.GetFlag().Name, why)
	}
	return flagErrorf("%s", err.Error())
}

// positional returns the check of a command's n positional arguments.
func positional(n int) cobra.PositionalArgs {
	return func(_ *cobra.Command, pos []string) error {
		switch {
		case n == 0 && len(pos) > 0:
			return flagErrorf("unexpected argument %q", pos[0])
		case len(pos) < n:
			return flagErrorf("expected %d argument(s), got %d", n, len(pos))
		case len(pos) > n:
			return flagErrorf("too many arguments: %q", pos[n:])
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
