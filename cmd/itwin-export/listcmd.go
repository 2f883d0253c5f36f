package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// defaultRedirectURL is the redirect URL auth-info sends when none is given:
// the sign-in callback of a local development app.
const defaultRedirectURL = "http://localhost:3000/signin-callback"

// writeJSON writes v to w as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// clean makes s safe for one tab-separated field: no tabs, no line breaks.
func clean(s string) string {
	return strings.NewReplacer("\t", " ", "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// fields writes one tab-separated line.
func fields(w io.Writer, values ...string) {
	for i, v := range values {
		values[i] = clean(v)
	}
	fmt.Fprintln(w, strings.Join(values, "\t"))
}

// timeText formats an optional time for a listing; "" when absent.
func timeText(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// connectionLine writes a connection as one line: id, authentication type,
// iModel id, display name.
func connectionLine(w io.Writer, c api.ExportConnection) {
	fields(w, deref(c.ID), string(deref(c.AuthenticationType)), deref(c.IModelID), deref(c.DisplayName))
}

// cmdRuns is `itwin-export runs`.
func cmdRuns(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("runs", "runs --connection ID [--json] [--verbose]",
		`List the runs of a connection, oldest first: one line per run with its id,
state, result, start and end time, tab-separated (with --json, an array of run
objects).`,
		"runs --connection CONNECTION_ID",
		"runs --connection CONNECTION_ID --json")
	var (
		cf         clientFlags
		connection string
		jsonOut    bool
	)
	fs.StringVar(&connection, "connection", "", "`ID` of the export connection (required)")
	fs.BoolVar(&jsonOut, "json", false, "write a JSON array of run objects to stdout")
	cf.add(fs)
	if _, code, done := fs.parse(args, 0, 0); done {
		return code
	}
	if code, bad := fs.required(connection, "connection"); bad {
		return code
	}
	client, err := a.client(ctx, &cf)
	if err != nil {
		return a.fail(err)
	}
	return printList(a, client.Runs(ctx, connection), jsonOut, func(r api.ExportRun) {
		fields(a.stdout, deref(r.ID), string(deref(r.State)), string(deref(r.Result)), timeText(r.StartDateTime), timeText(r.EndDateTime))
	})
}

// printList writes every item of a listing to stdout: as one JSON array, or
// one line each. Nothing is written when the listing fails part way.
func printList[T any](a *app, items iter.Seq2[T, error], jsonOut bool, line func(T)) int {
	all := []T{}
	for item, err := range items {
		if err != nil {
			return a.fail(withFlagNames(err))
		}
		all = append(all, item)
	}
	if jsonOut {
		if err := writeJSON(a.stdout, all); err != nil {
			return a.fail(err)
		}
		return exitOK
	}
	for _, item := range all {
		line(item)
	}
	return exitOK
}

// cmdConnections is `itwin-export connections`.
func cmdConnections(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("connections", "connections --imodel ID [--json] [--verbose]",
		`List the export connections of an iModel: one line per connection with its
id, authentication type, iModel id and display name, tab-separated (with
--json, an array of connection objects).`,
		"connections --imodel IMODEL_ID")
	var (
		cf      clientFlags
		iModel  string
		jsonOut bool
	)
	fs.StringVar(&iModel, "imodel", "", "`ID` of the iModel (required)")
	fs.BoolVar(&jsonOut, "json", false, "write a JSON array of connection objects to stdout")
	cf.add(fs)
	if _, code, done := fs.parse(args, 0, 0); done {
		return code
	}
	if code, bad := fs.required(iModel, "imodel"); bad {
		return code
	}
	client, err := a.client(ctx, &cf)
	if err != nil {
		return a.fail(err)
	}
	return printList(a, client.Connections(ctx, iModel), jsonOut, func(c api.ExportConnection) {
		connectionLine(a.stdout, c)
	})
}

// connectionCommands are the subcommands of `itwin-export connection`.
var connectionCommands = []struct {
	name, summary string
	run           func(ctx context.Context, a *app, args []string) int
}{
	{"create", "create an export connection of an iModel", cmdConnectionCreate},
	{"get", "show an export connection", cmdConnectionGet},
	{"delete", "delete an export connection", cmdConnectionDelete},
}

// cmdConnection is `itwin-export connection`, which dispatches to its
// subcommands.
func cmdConnection(ctx context.Context, a *app, args []string) int {
	help := func(w io.Writer) {
		fmt.Fprint(w, "Usage: itwin-export connection create|get|delete [flags]\n\nManage export connections.\n\nCommands:\n")
		for _, c := range connectionCommands {
			fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
		}
		fmt.Fprint(w, "\nRun 'itwin-export connection COMMAND --help' for the flags of a command.\n\n"+
			"Example:\n  itwin-export connection create --imodel IMODEL_ID --name nightly --auth Service\n")
	}
	if len(args) == 0 {
		fmt.Fprint(a.stderr, "itwin-export connection: missing command: create, get or delete\n")
		help(a.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		help(a.stdout)
		return exitOK
	}
	for _, c := range connectionCommands {
		if c.name == args[0] {
			return c.run(ctx, a, args[1:])
		}
	}
	fmt.Fprintf(a.stderr, "itwin-export connection: unknown command %q: create, get or delete\nRun 'itwin-export connection --help' for usage.\n", args[0])
	return exitUsage
}

// cmdConnectionCreate is `itwin-export connection create`.
func cmdConnectionCreate(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("connection create", "connection create --imodel ID [--name NAME] [--auth User|Service] [--json] [--verbose]",
		`Create an export connection of an iModel. stdout is the connection as one
tab-separated line (id, authentication type, iModel id, display name), or with
--json the connection object. Runs of a User connection act for the user who
created it (see 'itwin-export auth-info'); runs of a Service connection act
for the service app.`,
		"connection create --imodel IMODEL_ID --name nightly --auth Service")
	var (
		cf          clientFlags
		iModel      string
		name, auth  optString
		jsonOutFlag bool
	)
	fs.StringVar(&iModel, "imodel", "", "`ID` of the iModel to export (required)")
	fs.Var(&name, "name", "display `NAME` of the connection")
	fs.Var(&auth, "auth", "`TYPE` of authentication, whose credentials runs use: User or Service (the API's default: User)")
	fs.BoolVar(&jsonOutFlag, "json", false, "write the connection object to stdout as JSON")
	cf.add(fs)
	if _, code, done := fs.parse(args, 0, 0); done {
		return code
	}
	if code, bad := fs.required(iModel, "imodel"); bad {
		return code
	}
	req := api.ExportConnectionCreate{IModelID: iModel, DisplayName: name.ptr()}
	if auth.set {
		v := api.AuthenticationType(auth.value)
		req.AuthenticationType = &v
	}
	if err := wrapper.ValidateConnectionRequest(req); err != nil {
		return a.fail(withFlagNames(err))
	}
	client, err := a.client(ctx, &cf)
	if err != nil {
		return a.fail(err)
	}
	conn, err := client.CreateConnection(ctx, req)
	if err != nil {
		return a.fail(withFlagNames(err))
	}
	fmt.Fprintf(a.stderr, "created connection %s\n", deref(conn.ID))
	a.noteUserAuthorization(ctx, client, conn)
	return a.writeConnection(conn, jsonOutFlag)
}

// writeConnection writes a connection to stdout, as a line or as JSON.
func (a *app) writeConnection(conn *api.ExportConnection, jsonOut bool) int {
	if jsonOut {
		if err := writeJSON(a.stdout, conn); err != nil {
			return a.fail(err)
		}
		return exitOK
	}
	connectionLine(a.stdout, *conn)
	return exitOK
}

// cmdConnectionGet is `itwin-export connection get`.
func cmdConnectionGet(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("connection get", "connection get ID [--json] [--verbose]",
		`Show an export connection: one tab-separated line (id, authentication type,
iModel id, display name), or with --json the connection object.`,
		"connection get CONNECTION_ID --json")
	var (
		cf      clientFlags
		jsonOut bool
	)
	fs.BoolVar(&jsonOut, "json", false, "write the connection object to stdout as JSON")
	cf.add(fs)
	pos, code, done := fs.parse(args, 1, 1)
	if done {
		return code
	}
	client, err := a.client(ctx, &cf)
	if err != nil {
		return a.fail(err)
	}
	conn, err := client.GetConnection(ctx, pos[0])
	if err != nil {
		return a.fail(err)
	}
	return a.writeConnection(conn, jsonOut)
}

// cmdConnectionDelete is `itwin-export connection delete`.
func cmdConnectionDelete(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("connection delete", "connection delete ID [--verbose]",
		`Delete an export connection. stdout stays empty; stderr confirms. A
connection with an active run cannot be deleted (the API answers 409: exit 4).`,
		"connection delete CONNECTION_ID")
	var cf clientFlags
	cf.add(fs)
	pos, code, done := fs.parse(args, 1, 1)
	if done {
		return code
	}
	client, err := a.client(ctx, &cf)
	if err != nil {
		return a.fail(err)
	}
	if err := client.DeleteConnection(ctx, pos[0]); err != nil {
		return a.fail(err)
	}
	fmt.Fprintf(a.stderr, "deleted connection %s\n", pos[0])
	return exitOK
}

// cmdAuthInfo is `itwin-export auth-info`.
func cmdAuthInfo(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("auth-info", "auth-info [--redirect-url URL] [--json] [--verbose]",
		`Tell whether the Export service holds a refresh token for the calling user,
which runs of User connections need, and where to send the user to authorize
when it does not. stdout has two lines, "authorized: true|false" and
"authorization-url: URL" (with --json, the authorizationInformation object).
The service sends the user back to --redirect-url after authorizing; it
defaults to `+defaultRedirectURL+`, the sign-in callback of a local
development app.`,
		"auth-info --redirect-url https://my-app.example.com/signin-callback")
	var (
		cf       clientFlags
		redirect string
		jsonOut  bool
	)
	fs.StringVar(&redirect, "redirect-url", defaultRedirectURL, "`URL` the service sends the user back to after authorizing")
	fs.BoolVar(&jsonOut, "json", false, "write the authorizationInformation object to stdout as JSON")
	cf.add(fs)
	if _, code, done := fs.parse(args, 0, 0); done {
		return code
	}
	client, err := a.client(ctx, &cf)
	if err != nil {
		return a.fail(err)
	}
	info, err := client.AuthorizationInformation(ctx, redirect)
	if err != nil {
		return a.fail(withFlagNames(err))
	}
	if jsonOut {
		if err := writeJSON(a.stdout, info); err != nil {
			return a.fail(err)
		}
		return exitOK
	}
	fmt.Fprintf(a.stdout, "authorized: %t\n", deref(info.IsUserAuthorized))
	if info.Links != nil && info.Links.AuthorizationURL != nil {
		fmt.Fprintf(a.stdout, "authorization-url: %s\n", clean(info.Links.AuthorizationURL.Href))
	}
	return exitOK
}
