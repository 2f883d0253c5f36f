package main

import (
	"context"
	"fmt"
	"io"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// defaultRedirectURL is the redirect URL auth-info sends when none is given:
// the sign-in callback of a local development app.
const defaultRedirectURL = "http://localhost:3000/signin-callback"

// connectionCommands are the subcommands of `itwin-export connection`.
var connectionCommands = []entry{
	{"create", "create an export connection of an iModel", leaf(func() command { return &connectionCreateCmd{} })},
	{"get", "show an export connection", leaf(func() command { return &connectionGetCmd{} })},
	{"delete", "delete an export connection", leaf(func() command { return &connectionDeleteCmd{} })},
}

// connectionHelp writes the help of `itwin-export connection`.
func connectionHelp(w io.Writer) {
	fmt.Fprint(w, "Usage: itwin-export connection create|get|delete [flags]\n\nManage export connections.\n\nCommands:\n")
	for _, c := range connectionCommands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nRun 'itwin-export connection COMMAND --help' for the flags of a command.\n\n"+
		"Example (after 'go build -o itwin-export ./cmd/itwin-export'):\n"+
		"  ./itwin-export connection create --imodel IMODEL_ID --name nightly --auth Service\n")
}

// runConnection is `itwin-export connection`, which dispatches to its
// subcommands.
func runConnection(ctx context.Context, a *app, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, "itwin-export connection: missing command: create, get or delete\n")
		connectionHelp(a.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		connectionHelp(a.stdout)
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

// writeConnection writes a connection to stdout, as a line or as JSON.
func (a *app) writeConnection(conn *api.ExportConnection, jsonOut bool) error {
	if jsonOut {
		return a.out.writeJSON(a.stdout, conn)
	}
	a.connectionLine(a.stdout, *conn)
	return nil
}

// connectionCreateCmd is `itwin-export connection create`.
type connectionCreateCmd struct {
	clientFlags
	iModel     string
	name, auth optString
	json       bool
}

// define registers the flags of connection create.
func (c *connectionCreateCmd) define(a *app) *flags {
	fs := a.newFlags("connection create", "connection create --imodel ID [--name NAME] [--auth User|Service] [--json] [--timeout D] [--verbose]",
		`Create an export connection of an iModel. stdout is the connection as one
tab-separated line (id, authentication type, iModel id, display name), or with
--json the connection object. Runs of a User connection act for the user who
created it (see 'itwin-export auth-info'); runs of a Service connection act
for the service app.`, 0, 0,
		"connection create --imodel IMODEL_ID --name nightly --auth Service")
	fs.StringVar(&c.iModel, "imodel", "", "`ID` of the iModel to export (required)")
	fs.Var(&c.name, "name", "display `NAME` of the connection")
	fs.Var(&c.auth, "auth", "`TYPE` of authentication, whose credentials runs use: User or Service (the API's default: User)")
	fs.BoolVar(&c.json, "json", false, "write the connection object to stdout as JSON")
	c.clientFlags.add(fs)
	return fs
}

// exec creates the connection.
func (c *connectionCreateCmd) exec(ctx context.Context, a *app, _ []string) error {
	if err := required(c.iModel, "imodel"); err != nil {
		return err
	}
	req := api.ExportConnectionCreate{IModelID: c.iModel, DisplayName: c.name.ptr()}
	if c.auth.set {
		v := api.AuthenticationType(c.auth.value)
		req.AuthenticationType = &v
	}
	if err := wrapper.ValidateConnectionRequest(req); err != nil {
		return withFlagNames(err)
	}
	client, err := a.connect(ctx, &c.clientFlags)
	if err != nil {
		return err
	}
	conn, err := client.CreateConnection(ctx, req)
	if err != nil {
		return withFlagNames(err)
	}
	fmt.Fprintf(a.stderr, "created connection %s\n", a.out.text(deref(conn.ID)))
	a.noteUserAuthorization(ctx, client, conn)
	return a.writeConnection(conn, c.json)
}

// connectionGetCmd is `itwin-export connection get`.
type connectionGetCmd struct {
	clientFlags
	json bool
}

// define registers the flags of connection get.
func (c *connectionGetCmd) define(a *app) *flags {
	fs := a.newFlags("connection get", "connection get ID [--json] [--timeout D] [--verbose]",
		`Show an export connection: one tab-separated line (id, authentication type,
iModel id, display name), or with --json the connection object.`, 1, 1,
		"connection get CONNECTION_ID --json")
	fs.BoolVar(&c.json, "json", false, "write the connection object to stdout as JSON")
	c.clientFlags.add(fs)
	return fs
}

// exec shows the connection.
func (c *connectionGetCmd) exec(ctx context.Context, a *app, args []string) error {
	client, err := a.connect(ctx, &c.clientFlags)
	if err != nil {
		return err
	}
	conn, err := client.GetConnection(ctx, args[0])
	if err != nil {
		return err
	}
	return a.writeConnection(conn, c.json)
}

// connectionDeleteCmd is `itwin-export connection delete`.
type connectionDeleteCmd struct{ clientFlags }

// define registers the flags of connection delete.
func (c *connectionDeleteCmd) define(a *app) *flags {
	fs := a.newFlags("connection delete", "connection delete ID [--timeout D] [--verbose]",
		`Delete an export connection. stdout stays empty; stderr confirms. A
connection with an active run cannot be deleted (the API answers 409: exit 4).`, 1, 1,
		"connection delete CONNECTION_ID")
	c.clientFlags.add(fs)
	return fs
}

// exec deletes the connection.
func (c *connectionDeleteCmd) exec(ctx context.Context, a *app, args []string) error {
	client, err := a.connect(ctx, &c.clientFlags)
	if err != nil {
		return err
	}
	if err := client.DeleteConnection(ctx, args[0]); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "deleted connection %s\n", a.out.text(args[0]))
	return nil
}

// authInfoCmd is `itwin-export auth-info`.
type authInfoCmd struct {
	clientFlags
	redirect string
	json     bool
}

// define registers the flags of auth-info.
func (c *authInfoCmd) define(a *app) *flags {
	fs := a.newFlags("auth-info", "auth-info [--redirect-url URL] [--json] [--timeout D] [--verbose]",
		`Tell whether the Export service holds a refresh token for the calling user,
which runs of User connections need, and where to send the user to authorize
when it does not. stdout has two lines, "authorized: true|false" and
"authorization-url: URL" (with --json, the authorizationInformation object).
The service sends the user back to --redirect-url after authorizing; it
defaults to `+defaultRedirectURL+`, the sign-in callback of a local
development app.`, 0, 0,
		"auth-info --redirect-url https://my-app.example.com/signin-callback")
	fs.StringVar(&c.redirect, "redirect-url", defaultRedirectURL, "`URL` the service sends the user back to after authorizing")
	fs.BoolVar(&c.json, "json", false, "write the authorizationInformation object to stdout as JSON")
	c.clientFlags.add(fs)
	return fs
}

// exec asks the service.
func (c *authInfoCmd) exec(ctx context.Context, a *app, _ []string) error {
	client, err := a.connect(ctx, &c.clientFlags)
	if err != nil {
		return err
	}
	info, err := client.AuthorizationInformation(ctx, c.redirect)
	if err != nil {
		return withFlagNames(err)
	}
	if c.json {
		return a.out.writeJSON(a.stdout, info)
	}
	fmt.Fprintf(a.stdout, "authorized: %t\n", deref(info.IsUserAuthorized))
	if info.Links != nil && info.Links.AuthorizationURL != nil {
		fmt.Fprintf(a.stdout, "authorization-url: %s\n", a.out.text(info.Links.AuthorizationURL.Href))
	}
	return nil
}
