package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// demoCmd is `itwin-export demo`.
type demoCmd struct {
	step    time.Duration
	dir     string
	verbose bool
}

// demoLines is how many lines of the downloaded IFC file demo shows: its
// STEP header up to FILE_SCHEMA.
const demoLines = 6

// newDemoCmd returns `itwin-export demo`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newDemoCmd(f *factory, runF func(*demoCmd, []string) error) *cobra.Command {
	c := &demoCmd{}
	fs := leaf(f, c, runF, spec{use: "demo [--step D] [--dir DIR] [--verbose]", short: "show the whole flow against the in-memory Export API",
		long: `Show the whole flow with no account and no network: start the in-memory
Export API of package apitest on a loopback port, create a connection through
the client library, create an export run, wait for it as 'run --wait' does,
download the IFC file it produced as 'download' does and print each step to
stdout, ending with the file's path and its first lines. Exits 0 when the run
completes with Success and the file is downloaded.`,
		examples: []string{
			"demo",
			"demo --step 1s --verbose"}})
	fs.DurationVar(&c.step, "step", 300*time.Millisecond, "`DURATION` of each state of the run (five steps to Completed)")
	fs.StringVar(&c.dir, "dir", "", "download the IFC file into `DIR` (default a new temporary directory, kept)")
	fs.BoolVar(&c.verbose, "verbose", false, "log every HTTP exchange to stderr")
	return fs.cmd
}

// exec runs the flow against a fake of its own.
func (c *demoCmd) exec(ctx context.Context, a *app, _ []string) error {
	if c.step <= 0 {
		return flagErrorf("--step must be positive")
	}
	s := apitest.NewServer(apitest.Options{StepDuration: c.step})
	defer s.Close()
	fmt.Fprintf(a.stdout, "fake Export API (package apitest) listening at %s\n", s.URL)
	opts := wrapper.Options{BaseURL: s.URL, TokenSource: wrapper.StaticToken("demo-token"), UserAgent: userAgent}
	if c.verbose {
		opts.Logger = a.verboseLogger()
	}
	client, err := wrapper.New(opts)
	if err != nil {
		return err
	}
	ref, err := c.createRun(ctx, a, client)
	if err != nil {
		return err
	}
	run, err := c.wait(ctx, a, client, ref)
	if err != nil {
		return err
	}
	return c.download(ctx, a, client, run)
}

// createRun creates the demo's connection and its run.
func (c *demoCmd) createRun(ctx context.Context, a *app, client *wrapper.Client) (wrapper.RunRef, error) {
	auth := api.AuthenticationTypeService
	name := "itwin-export demo"
	conn, err := client.CreateConnection(ctx, api.ExportConnectionCreate{IModelID: "demo-imodel", DisplayName: &name, AuthenticationType: &auth})
	if err != nil {
		return wrapper.RunRef{}, err
	}
	fmt.Fprintf(a.stdout, "connection created: %s (iModel %s, authentication %s)\n",
		a.out.text(conn.ID), a.out.text(conn.IModelID), conn.AuthenticationType)
	version := api.IFCVersionIFC43
	ref, err := client.CreateRun(ctx, conn.ID, api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, IFCVersion: &version})
	if err != nil {
		return wrapper.RunRef{}, err
	}
	fmt.Fprintf(a.stdout, "run created: %s\n  at its Location %s\n", a.out.text(ref.RunID), a.out.text(ref.Location))
	return ref, nil
}

// wait waits for the run as run --wait does and shows it.
func (c *demoCmd) wait(ctx context.Context, a *app, client *wrapper.Client, ref wrapper.RunRef) (*api.ExportRun, error) {
	fmt.Fprintf(a.stdout, "waiting for the run (each state lasts %s):\n", c.step)
	run, err := client.WaitRun(ctx, ref, wrapper.WaitOptions{
		MinInterval: max(c.step/3, time.Millisecond),
		MaxInterval: max(c.step/2, time.Millisecond),
		OnProgress: func(p wrapper.Progress) {
			fmt.Fprintf(a.stdout, "  %8s  %s\n", formatElapsed(p.Elapsed), a.out.text(stateText(p.Run)))
		},
	})
	if run != nil {
		fmt.Fprintln(a.stdout, "the run as 'itwin-export status' shows it:")
		a.writeSummary(a.stdout, run, ref.Location)
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(a.stdout, "done: result %s.\n", run.Result)
	return run, nil
}

// download downloads the run's IFC file as 'download' does (metadata, link,
// blob without credentials) and shows its path and first lines.
func (c *demoCmd) download(ctx context.Context, a *app, client *wrapper.Client, run *api.ExportRun) error {
	dir := c.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "itwin-export-demo-"); err != nil {
			return err
		}
	}
	files, err := client.DownloadRunOutputs(ctx, run, dir, wrapper.DownloadOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "Try './itwin-export fake-server' to drive the same service yourself.")
	for _, f := range files {
		fmt.Fprintf(a.stdout, "IFC file downloaded (%s): %s\nits first lines:\n", formatBytes(f.Size), a.out.text(f.Path))
		if err := a.showHead(f.Path, demoLines); err != nil {
			return err
		}
	}
	return nil
}

// showHead writes the first n lines of the file at path to stdout, indented.
func (a *app) showHead(path string, n int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for i := 0; i < n && lines.Scan(); i++ {
		fmt.Fprintf(a.stdout, "  %s\n", a.out.text(lines.Text()))
	}
	return lines.Err()
}
