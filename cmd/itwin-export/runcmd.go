package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// defaultPollInterval is the shortest wait between two polls of a run.
const defaultPollInterval = 2 * time.Second

// waitFlags are the flags that wait for a run.
type waitFlags struct {
	wait bool
	poll time.Duration
	// download is the directory --download puts the outputs of a run
	// completed with Success into; "" means no download.
	download string
	// parallel is --parallel-transfers of the download.
	parallel int
}

// add registers the flags on fs.
func (w *waitFlags) add(fs *flags) {
	fs.BoolVar(&w.wait, "wait", false, "wait until the run is Completed, showing each state change on stderr")
	fs.DurationVar(&w.poll, "poll-interval", defaultPollInterval, "shortest `DURATION` between two polls of the run, for example 5s (it grows while the state stays the same)")
	fs.StringVar(&w.download, "download", "", "with --wait: once the run completed with Success, download its output files into `DIR` as 'download' does; a missing DIR is created before the run is (DIR naming a file, a device or a FIFO, or a DIR you cannot write to, exits 2, nothing sent), and a failed download prints the command that fetches the files later")
	fs.IntVar(&w.parallel, "parallel-transfers", wrapper.DefaultParallel, "with --download: fetch a file above 8 MiB as ranges over `N` connections at a time (1: one stream)")
}

// check returns a usage error for impossible values.
func (w *waitFlags) check() error {
	switch {
	case w.poll <= 0:
		return flagErrorf("--poll-interval must be positive")
	case w.download != "" && !w.wait:
		return flagErrorf("--download needs --wait: the outputs exist once the run has completed")
	case w.parallel < 1:
		return flagErrorf("--parallel-transfers must be at least 1")
	}
	return checkDownloadDir(w.download)
}

// checkDownloadDir settles --download DIR before anything is sent: a
// missing DIR is created (with its parents), one that cannot be used (a
// file, not writable) is a usage error, so that a long export never ends
// with nowhere to put its files.
func checkDownloadDir(dir string) error {
	if dir == "" {
		return nil
	}
	var ve *wrapper.ValidationError
	if err := wrapper.PrepareDownloadDir(dir); errors.As(err, &ve) && len(ve.Problems) > 0 {
		return flagErrorf("--download: %s", ve.Problems[0].Message)
	} else if err != nil {
		return flagErrorf("--download: %v", err)
	}
	return nil
}

// runRef is the JSON form of a created run's reference.
type runRef struct {
	Location string `json:"location"`
	RunID    string `json:"runId"`
	Existing bool   `json:"existing"`
}

// runCmd is `itwin-export run`: flags → create-run request → CreateRun →
// the Location, or with --wait the run's outcome.
type runCmd struct {
	clientFlags
	waitFlags
	requestFlags
	authorizeFlags
	connections     []string
	connectionsFile string
	parallel        int
	json            bool
}

// newRunCmd returns `itwin-export run`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newRunCmd(f *factory, runF func(*runCmd, []string) error) *cobra.Command {
	c := &runCmd{}
	fs := leaf(f, c, runF, spec{use: "run --connection ID [--connection ID ...] [--connections-file FILE] [--parallel N] [request flags] [--authorize [--no-browser]] [--wait [--download DIR] [--parallel-transfers N]] [--poll-interval D] [--timeout D] [--json] [--verbose]", short: "create an export run of a connection (and wait for it)",
		long: `Create an export run of a connection. Without --wait, stdout is the run's
absolute Location URL (keep it: 'itwin-export status LOCATION' resumes from it),
and stderr says whether the run was created or was already active (exit 0 in
both cases). With --wait, stderr shows each state change and stdout ends with
a summary of the run (with --json, the run object); a run completed with a
result other than Success exits 3. Interrupted (Ctrl-C), it exits 130 and
says how to resume.

A request flag that is not given is left out of the body. The request is
validated before it is sent: an invalid one exits 2 and sends nothing.

With several connections (--connection repeated, or --connections-file), the
same request is run for each, --parallel at a time. stdout has one line per
connection, in the order given: connection id, status (created, existing,
failed, or with --wait the result) and Location; with --json an array of
{connectionId, location, runId, existing, state, result, error, exitCode}.
stderr has each failure and each state change. The exit code is the worst of
the connections' codes.`,
		examples: []string{
			"run --connection CONNECTION_ID --ifc-version IFC4.3 --wait",
			"run --connection CONNECTION_ID --location USER_BLOB_STORAGE --output-sas-url 'https://acct.blob.core.windows.net/c?sv=...&sig=...' --json",
			"run --connections-file connections.txt --parallel 20 --requests-per-minute 490 --wait"}})
	fs.StringArrayVar(&c.connections, "connection", nil, "`ID` of the export connection; repeat it to export several")
	fs.StringVar(&c.connectionsFile, "connections-file", "", "`FILE` of connection IDs, one a line ('-': stdin; blank and # lines skipped)")
	fs.IntVar(&c.parallel, "parallel", 4, "with several connections, how many to export at once (`N`)")
	fs.IntVar(&c.perMinute, "requests-per-minute", 0, "send at most `N` requests a minute, evenly spread; set it a little under your rate-limit tier (default no limit)")
	c.requestFlags.add(fs)
	c.waitFlags.add(fs)
	c.authorizeFlags.add(fs)
	fs.jsonFlags(&c.json, "write JSON to stdout: {location, runId, existing}, or with --wait the run object")
	c.clientFlags.add(fs)
	return fs.cmd
}

// exec creates the run (or one per connection) and reports it.
func (c *runCmd) exec(ctx context.Context, a *app, _ []string) error {
	ids, err := c.ids(a)
	if err != nil {
		return err
	}
	// Validate before looking for credentials: a request that cannot be
	// sent is reported as such, whatever the configuration.
	req, err := c.request()
	if err != nil {
		return err
	}
	localMapping, err := c.checkMapping()
	if err != nil {
		return err
	}
	client, err := a.connect(ctx, &c.clientFlags)
	if err != nil {
		return err
	}
	if err := a.authorizeIfAsked(ctx, client, c.authorizeFlags, c.timeout); err != nil {
		return err
	}
	if localMapping {
		if err := a.uploadMapping(ctx, client, ids, c.folderID, c.mappingFile, &req); err != nil {
			return err
		}
	}
	if len(ids) > 1 || c.connectionsFile != "" {
		return a.runMany(ctx, client, ids, req, c.parallel, c.waitFlags, c.json)
	}
	ref, err := client.CreateRun(ctx, ids[0], req)
	if err != nil {
		return withFlagNames(err)
	}
	return a.reportCreated(ctx, client, ref, c.waitFlags, c.json, c.verbose)
}

// ids are the connections to run, checked with the other flags.
func (c *runCmd) ids(a *app) ([]string, error) {
	ids := append([]string(nil), c.connections...)
	if c.connectionsFile != "" {
		more, err := a.readIDs(c.connectionsFile)
		if err != nil {
			return nil, err
		}
		ids = append(ids, more...)
	}
	switch {
	case len(ids) == 0:
		return nil, flagErrorf("--connection or --connections-file is required")
	case c.parallel < 1:
		return nil, flagErrorf("--parallel must be at least 1")
	case c.download != "" && (len(ids) > 1 || c.connectionsFile != ""):
		return nil, flagErrorf("--download works with one connection; run 'itwin-export download' for each output of several")
	}
	return ids, c.waitFlags.check()
}

// reportCreated says on stderr whether the run was created or already
// active, then writes its reference, or with --wait waits for it.
func (a *app) reportCreated(ctx context.Context, client *wrapper.Client, ref wrapper.RunRef, wf waitFlags, jsonOut, verbose bool) error {
	if ref.Existing {
		fmt.Fprintf(a.stderr, "run %s already active: %s\n", a.out.text(ref.RunID), a.out.text(ref.Location))
	} else {
		fmt.Fprintf(a.stderr, "created run %s: %s\n", a.out.text(ref.RunID), a.out.text(ref.Location))
	}
	if wf.wait {
		return a.waitAndReport(ctx, client, ref, wf, jsonOut, verbose)
	}
	if jsonOut {
		return a.out.writeJSON(a.stdout, runRef{Location: ref.Location, RunID: ref.RunID, Existing: ref.Existing})
	}
	fmt.Fprintln(a.stdout, a.out.text(ref.Location))
	return nil
}

// stateText is a run's state, with its result once Completed.
func stateText(run *api.ExportRun) string {
	s := string(run.State)
	if run.State == api.ExecutionStateCompleted && run.Result != "" {
		s += " (" + string(run.Result) + ")"
	}
	return s
}

// formatElapsed rounds an elapsed time to a tenth of a second.
func formatElapsed(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}
