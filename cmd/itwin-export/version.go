package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/itwin-export/itwin-export/wrapper"
)

// versionCmd is `itwin-export version`.
type versionCmd struct{}

// newVersionCmd returns `itwin-export version`.
func newVersionCmd(f *factory, runF func(*versionCmd, []string) error) *cobra.Command {
	return leaf(f, &versionCmd{}, runF, spec{use: "version", short: "print the version of itwin-export and of Go",
		long: `Print one line: the version of itwin-export (the latest entry of its
CHANGELOG.md) and the version of Go it was built with.`, examples: []string{"version"}}).cmd
}

// exec prints the line: wrapper.Version as a module tag, then the Go version.
func (c *versionCmd) exec(_ context.Context, a *app, _ []string) error {
	goVersion := runtime.Version()
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
	}
	fmt.Fprintf(a.stdout, "itwin-export v%s %s\n", wrapper.Version, goVersion)
	return nil
}
