package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// demoCmd is `itwin-export demo`.
type demoCmd struct {
	step    time.Duration
	verbose bool
}

// define registers the flags of demo.
func (c *demoCmd) define(a *app) *flags {
	fs := a.newFlags("demo", "demo [--step D] [--verbose]",
		`Show the whole flow with no account and no network: start the in-memory
Export API of package apitest on a loopback port, create a connection through
the client library, create an export run, wait for it as 'run --wait' does and
print each step to stdout. Exits 0 when the run completes with Success.`, 0, 0,
		"demo",
		"demo --step 1s --verbose")
	fs.durationFlag(&c.step, "step", 300*time.Millisecond, "`DURATION` of each state of the run (five steps to Completed)")
	fs.BoolVar(&c.verbose, "verbose", false, "log every HTTP exchange to stderr")
	return fs
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
		opts.Logger = slog.New(slog.NewTextHandler(filterWriter{&a.out, a.stderr}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	client, err := wrapper.New(opts)
	if err != nil {
		return err
	}
	ref, err := c.createRun(ctx, a, client)
	if err != nil {
		return err
	}
	return c.wait(ctx, a, client, ref)
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
		a.out.text(deref(conn.ID)), a.out.text(deref(conn.IModelID)), deref(conn.AuthenticationType))
	version := api.IFCVersionIFC43
	ref, err := client.CreateRun(ctx, deref(conn.ID), api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, IFCVersion: &version})
	if err != nil {
		return wrapper.RunRef{}, err
	}
	fmt.Fprintf(a.stdout, "run created: %s\n  at its Location %s\n", a.out.text(ref.RunID), a.out.text(ref.Location))
	return ref, nil
}

// wait waits for the run as run --wait does and shows it.
func (c *demoCmd) wait(ctx context.Context, a *app, client *wrapper.Client, ref wrapper.RunRef) error {
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
		return err
	}
	fmt.Fprintf(a.stdout, "done: result %s. Try './itwin-export fake-server' to drive the same service yourself.\n", deref(run.Result))
	return nil
}
