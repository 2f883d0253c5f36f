package main

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// statusCmd is `itwin-export status`: argument → run reference → GetRun or
// WaitRun → the run.
type statusCmd struct {
	clientFlags
	waitFlags
	connection string
	json       bool
}

// newStatusCmd returns `itwin-export status`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newStatusCmd(f *factory, runF func(*statusCmd, []string) error) *cobra.Command {
	c := &statusCmd{}
	fs := leaf(f, c, runF, spec{use: "status LOCATION_OR_RUN_ID [--connection ID] [--wait [--download DIR] [--parallel-transfers N]] [--poll-interval D] [--timeout D] [--json] [--verbose]", short: "show a run, by its Location or its id (and wait for it)",
		long: `Show a run: stdout is a summary of it (with --json, the run object as the API
returned it). The run is named by its Location URL (an argument starting with
http:// or https://, as printed by 'itwin-export run') or by its id together
with --connection. With --wait, poll until the run is Completed, showing each
state change on stderr. A run completed with a result other than Success
exits 3; one still in progress exits 0.`, args: 1,
		examples: []string{
			"status https://api.bentley.com/export/connections/CONNECTION_ID/runs/RUN_ID --wait",
			"status RUN_ID --connection CONNECTION_ID --json"}})
	fs.StringVar(&c.connection, "connection", "", "`ID` of the connection; required when the argument is a run id")
	c.waitFlags.add(fs)
	fs.jsonFlags(&c.json, "write the run object to stdout as JSON")
	c.clientFlags.add(fs)
	return fs.cmd
}

// exec shows the run, or waits for it.
func (c *statusCmd) exec(ctx context.Context, a *app, args []string) error {
	if err := c.waitFlags.check(); err != nil {
		return err
	}
	ref, byLocation, err := c.locationRef(args[0])
	if err != nil {
		return err
	}
	client, err := a.connect(ctx, &c.clientFlags)
	if err != nil {
		return err
	}
	if !byLocation {
		if ref, err = client.RunRefFor(c.connection, args[0]); err != nil {
			return withFlagNames(err)
		}
	}
	if c.wait {
		return a.waitAndReport(ctx, client, ref, c.waitFlags, c.json, c.verbose)
	}
	run, raw, err := client.GetRunRaw(ctx, ref)
	if err != nil {
		return foreignAsUsage(err)
	}
	if err := a.writeRun(run, raw, ref.Location, c.json); err != nil {
		return err
	}
	if run.State == api.ExecutionStateCompleted {
		return wrapper.RunResult(run)
	}
	return nil
}

// locationRef parses the argument when it is a URL; a run id (no scheme)
// is resolved later, against the API.
func (c *statusCmd) locationRef(arg string) (wrapper.RunRef, bool, error) {
	if !strings.Contains(arg, "://") {
		if c.connection == "" {
			return wrapper.RunRef{}, false, flagErrorf("a run id needs --connection (or pass the run's Location URL)")
		}
		return wrapper.RunRef{}, false, nil
	}
	if u, err := url.Parse(arg); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return wrapper.RunRef{}, false, flagErrorf("%q is not a run URL: a run's Location is an http or https URL", arg)
	}
	ref, err := wrapper.ParseRunRef(arg)
	if err != nil {
		return wrapper.RunRef{}, false, &usageError{msg: err.Error()}
	}
	if c.connection != "" && c.connection != ref.ConnectionID {
		return wrapper.RunRef{}, false, flagErrorf("--connection %q does not match the Location's connection %q", c.connection, ref.ConnectionID)
	}
	return ref, true, nil
}

// foreignAsUsage turns a Location given on the command line that points
// outside the API into a usage error: nothing was sent.
func foreignAsUsage(err error) error {
	if errors.Is(err, wrapper.ErrForeignLocation) {
		return &usageError{msg: err.Error() + " (set --api-url or " + envAPIURL + " to the API that created the run)"}
	}
	return err
}
