package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// defaultRedirectURL is the redirect URL auth-info sends when none is given:
// the sign-in callback of a local development app.
const defaultRedirectURL = "http://localhost:3000/signin-callback"

// newConnectionCmd returns `itwin-export connection`, which holds its
// subcommands.
func newConnectionCmd(f *factory) *cobra.Command {
	return group("connection create|get|delete [flags]", "create, get or delete an export connection", "Manage export connections.",
		"  ./itwin-export connection create --imodel IMODEL_ID --name nightly --auth Service\n",
		newConnectionCreateCmd(f, nil),
		newConnectionGetCmd(f, nil),
		newConnectionDeleteCmd(f, nil))
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
	iModel, name, auth string
	json               bool
	given              *pflag.FlagSet // which flags were given
}

// newConnectionCreateCmd returns `itwin-export connection create`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newConnectionCreateCmd(f *factory, runF func(*connectionCreateCmd, []string) error) *cobra.Command {
	c := &connectionCreateCmd{}
	fs := leaf(f, c, runF, spec{use: "create --imodel ID [--name NAME] [--auth User|Service] [--json] [--timeout D] [--verbose]", short: "create an export connection of an iModel",
		long: `Create an export connection of an iModel. stdout is the connection as one
tab-separated line (id, authentication type, iModel id, display name), or with
--json the connection object. Runs of a User connection act for the user who
created it (see 'itwin-export auth-info'); runs of a Service connection act
for the service app.`,
		examples: []string{
			"connection create --imodel IMODEL_ID --name nightly --auth Service"}})
	fs.StringVar(&c.iModel, "imodel", "", "`ID` of the iModel to export (required; default $"+envIModelID+")")
	fs.envDefault("imodel", envIModelID)
	fs.StringVar(&c.name, "name", "", "display `NAME` of the connection")
	fs.StringVar(&c.auth, "auth", "", "`TYPE` of authentication, whose credentials runs use: User or Service (the API's default: User)")
	fs.jsonFlags(&c.json, "write the connection object to stdout as JSON")
	c.clientFlags.add(fs)
	c.given = fs.FlagSet
	return fs.cmd
}

// exec creates the connection.
func (c *connectionCreateCmd) exec(ctx context.Context, a *app, _ []string) error {
	if err := required(c.iModel, "imodel"); err != nil {
		return err
	}
	req := api.ExportConnectionCreate{IModelID: c.iModel, DisplayName: given(c.given, "name", c.name),
		AuthenticationType: given(c.given, "auth", api.AuthenticationType(c.auth))}
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
	fmt.Fprintf(a.stderr, "created connection %s\n", a.out.text(conn.ID))
	a.noteUserAuthorization(ctx, client, conn)
	return a.writeConnection(conn, c.json)
}

// connectionGetCmd is `itwin-export connection get`.
type connectionGetCmd struct {
	clientFlags
	json bool
}

// newConnectionGetCmd returns `itwin-export connection get`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newConnectionGetCmd(f *factory, runF func(*connectionGetCmd, []string) error) *cobra.Command {
	c := &connectionGetCmd{}
	fs := leaf(f, c, runF, spec{use: "get ID [--json] [--timeout D] [--verbose]", short: "show an export connection",
		long: `Show an export connection: one tab-separated line (id, authentication type,
iModel id, display name), or with --json the connection object.`, args: 1,
		examples: []string{
			"connection get CONNECTION_ID --json"}})
	fs.jsonFlags(&c.json, "write the connection object to stdout as JSON")
	c.clientFlags.add(fs)
	return fs.cmd
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

// newConnectionDeleteCmd returns `itwin-export connection delete`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newConnectionDeleteCmd(f *factory, runF func(*connectionDeleteCmd, []string) error) *cobra.Command {
	c := &connectionDeleteCmd{}
	fs := leaf(f, c, runF, spec{use: "delete ID [--timeout D] [--verbose]", short: "delete an export connection",
		long: `Delete an export connection. stdout stays empty; stderr confirms. A
connection with an active run cannot be deleted (the API answers 409: exit 4).`, args: 1,
		examples: []string{
			"connection delete CONNECTION_ID"}})
	c.clientFlags.add(fs)
	return fs.cmd
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

// newAuthInfoCmd returns `itwin-export auth-info`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newAuthInfoCmd(f *factory, runF func(*authInfoCmd, []string) error) *cobra.Command {
	c := &authInfoCmd{}
	fs := leaf(f, c, runF, spec{use: "auth-info [--redirect-url URL] [--json] [--timeout D] [--verbose]", short: "tell whether the user is authorized for User connections",
		long: `Tell whether the Export service holds a refresh token for the calling user,
which runs of User connections need, and where to send the user to authorize
when it does not. stdout has two lines, "authorized: true|false" and
"authorization-url: URL" (with --json, the authorizationInformation object).
The service sends the user back to --redirect-url after authorizing; it
defaults to ` + defaultRedirectURL + `, the sign-in callback of a local
development app.`,
		examples: []string{
			"auth-info --redirect-url https://my-app.example.com/signin-callback"}})
	fs.StringVar(&c.redirect, "redirect-url", defaultRedirectURL, "`URL` the service sends the user back to after authorizing")
	fs.jsonFlags(&c.json, "write the authorizationInformation object to stdout as JSON")
	c.clientFlags.add(fs)
	return fs.cmd
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
