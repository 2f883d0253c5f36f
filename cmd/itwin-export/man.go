package main

import (
	"context"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// manCmd is `itwin-export man-pages DIR`, hidden: `make man` runs it.
type manCmd struct{ cmd *cobra.Command }

// newManCmd returns `itwin-export man-pages`.
func newManCmd(f *factory) *cobra.Command {
	c := &manCmd{}
	fs := leaf(f, c, nil, spec{use: "man-pages DIR", short: "write the man pages into DIR",
		long: `Write the man pages of itwin-export into DIR: itwin-export.1 and one page per
command (itwin-export-run.1, itwin-export-connection-create.1, ...), from the
same definitions as --help.`, args: 1, examples: []string{"man-pages man"}})
	fs.cmd.Hidden = true
	c.cmd = fs.cmd
	return fs.cmd
}

// exec writes the pages.
func (c *manCmd) exec(_ context.Context, _ *app, args []string) error {
	root := c.cmd.Root()
	root.Long += "\n\n" + rootTrailer()
	noGenTag(root)
	header := &doc.GenManHeader{Title: "ITWIN-EXPORT", Section: "1", Source: "itwin-export", Manual: "itwin-export manual"}
	if err := os.MkdirAll(args[0], 0o777); err != nil {
		return usagef("man-pages: %v", err)
	}
	if err := doc.GenManTree(root, header, args[0]); err != nil {
		return usagef("man-pages: %v", err)
	}
	return nil
}

// noGenTag leaves the date and the generator's name out of every page, so
// that the pages change only when the commands do.
func noGenTag(cmd *cobra.Command) {
	cmd.DisableAutoGenTag = true
	for _, c := range cmd.Commands() {
		noGenTag(c)
	}
}
