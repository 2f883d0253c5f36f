package main

import (
	"context"
	"io"
	"iter"
	"time"

	"github.com/spf13/cobra"

	"github.com/itwin-export/itwin-export/api"
)

// timeText formats an optional time for a listing; "" when absent.
func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// connectionLine writes a connection as one line: id, authentication type,
// iModel id, display name.
func (a *app) connectionLine(w io.Writer, c api.ExportConnection) {
	a.out.fields(w, c.ID, string(c.AuthenticationType), c.IModelID, c.DisplayName)
}

// printList writes every item of a listing to stdout: as one JSON array, or
// one line each. Nothing is written when the listing fails part way.
func printList[T any](a *app, items iter.Seq2[T, error], jsonOut bool, line func(T)) error {
	all := []T{}
	for item, err := range items {
		if err != nil {
			return withFlagNames(err)
		}
		all = append(all, item)
	}
	if jsonOut {
		return a.out.writeJSON(a.stdout, all)
	}
	for _, item := range all {
		line(item)
	}
	return nil
}

// runsCmd is `itwin-export runs`.
type runsCmd struct {
	clientFlags
	connection string
	json       bool
}

// newRunsCmd returns `itwin-export runs`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newRunsCmd(f *factory, runF func(*runsCmd, []string) error) *cobra.Command {
	c := &runsCmd{}
	fs := leaf(f, c, runF, spec{use: "runs --connection ID [--json] [--timeout D] [--verbose]", short: "list the runs of a connection",
		long: `List the runs of a connection, oldest first: one line per run with its id,
state, result, start and end time, tab-separated (with --json, an array of run
objects).`,
		examples: []string{
			"runs --connection CONNECTION_ID",
			"runs --connection CONNECTION_ID --json"}})
	fs.StringVar(&c.connection, "connection", "", "`ID` of the export connection (required)")
	fs.jsonFlags(&c.json, "write a JSON array of run objects to stdout")
	c.clientFlags.add(fs)
	return fs.cmd
}

// exec lists the runs.
func (c *runsCmd) exec(ctx context.Context, a *app, _ []string) error {
	if err := required(c.connection, "connection"); err != nil {
		return err
	}
	client, err := a.connect(ctx, &c.clientFlags)
	if err != nil {
		return err
	}
	return printList(a, client.Runs(ctx, c.connection), c.json, func(r api.ExportRun) {
		a.out.fields(a.stdout, r.ID, string(r.State), string(r.Result), timeText(r.StartDateTime), timeText(r.EndDateTime))
	})
}

// connectionsCmd is `itwin-export connections`.
type connectionsCmd struct {
	clientFlags
	iModel string
	json   bool
}

// newConnectionsCmd returns `itwin-export connections`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newConnectionsCmd(f *factory, runF func(*connectionsCmd, []string) error) *cobra.Command {
	c := &connectionsCmd{}
	fs := leaf(f, c, runF, spec{use: "connections --imodel ID [--json] [--timeout D] [--verbose]", short: "list the export connections of an iModel",
		long: `List the export connections of an iModel: one line per connection with its
id, authentication type, iModel id and display name, tab-separated (with
--json, an array of connection objects).`,
		examples: []string{
			"connections --imodel IMODEL_ID"}})
	fs.StringVar(&c.iModel, "imodel", "", "`ID` of the iModel (required; default $"+envIModelID+")")
	fs.envDefault("imodel", envIModelID)
	fs.jsonFlags(&c.json, "write a JSON array of connection objects to stdout")
	c.clientFlags.add(fs)
	return fs.cmd
}

// exec lists the connections.
func (c *connectionsCmd) exec(ctx context.Context, a *app, _ []string) error {
	if err := required(c.iModel, "imodel"); err != nil {
		return err
	}
	client, err := a.connect(ctx, &c.clientFlags)
	if err != nil {
		return err
	}
	return printList(a, client.Connections(ctx, c.iModel), c.json, func(conn api.ExportConnection) {
		a.connectionLine(a.stdout, conn)
	})
}
