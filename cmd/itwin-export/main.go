// Command itwin-export drives the iTwin Platform Export API from the command
// line: it exports an iModel to IFC (or PDF) as a run of an export
// connection, waits for the run, and manages connections.
//
// Usage:
//
//	itwin-export run --connection ID [request flags] [--authorize [--no-browser]] [--wait [--download DIR]] [--poll-interval D] [--timeout D] [--json] [--verbose]
//	itwin-export run --connection ID --connection ID ... | --connections-file FILE [--parallel N] [request flags] [--wait ...]
//	itwin-export status LOCATION_OR_RUN_ID [--connection ID] [--wait [--download DIR] ...] [--json]
//	itwin-export runs --connection ID [--json]
//	itwin-export connections --imodel ID [--json]
//	itwin-export connection create --imodel ID [--name NAME] [--auth User|Service] [--json]
//	itwin-export connection get ID [--json]
//	itwin-export connection delete ID
//	itwin-export auth-info [--redirect-url URL] [--json]
//	itwin-export download FILE_ID [-o PATH | --dir DIR] [--force] [--json]
//	itwin-export upload FILE [--folder ID | --itwin ID] [--name NAME] [--json]
//	itwin-export login [--no-browser] [--port N]
//	itwin-export logout
//	itwin-export fake-server [--addr 127.0.0.1:8080] [--step D] [--outcome RESULT] [--require-user-authorization] [--control]
//	itwin-export demo
//	itwin-export version            (also: itwin-export --version)
//	itwin-export completion bash|zsh|fish|powershell
//
// Every command answers --help with its flags and an example; 'make man'
// writes the same as man pages. Every command that calls the API takes
// --timeout, which bounds all of it. Every command with --json takes --jq
// EXPR, printing each result of the jq expression as 'jq -r' does.
// ITWIN_IMODEL_ID is the default --imodel of connections and connection
// create, and the iModel whose connections --connection completes.
//
// Configuration comes from the environment: ITWIN_API_URL (default
// https://api.bentley.com/export), ITWIN_ACCESS_TOKEN (a bearer token used as
// is), or ITWIN_CLIENT_ID and ITWIN_CLIENT_SECRET (a service app; tokens by
// the client-credentials grant from ITWIN_TOKEN_URL, default
// https://ims.bentley.com/connect/token), or else the session saved by
// login (ITWIN_AUTHORIZE_URL names its authorization endpoint). The first
// credentials set win, in that order. The flags --api-url and --token
// override the first two. Downloads come from the Storage API,
// ITWIN_STORAGE_URL (default beside the Export API).
//
// Results go to stdout (with --json, as JSON); progress, log lines (--verbose)
// and errors go to stderr, an error as one line naming its class. Text from a
// server is shown without control characters or terminal escapes, each value
// cut to a bounded length; tokens, client secrets and SAS signatures never
// appear in either stream.
//
// Exit codes: 0 success (a run created or already active; with --wait, a run
// completed with Success); 2 usage or validation error, nothing sent; 3 the
// run completed with a result other than Success; 4 the API refused the
// request (4xx after retries); 5 no usable answer (network failure, 5xx after
// retries, malformed response, timeout); 130 interrupted by SIGINT (143 by
// SIGTERM, 129 by SIGHUP), with the command that resumes the wait on stderr.
//
// The command is a thin shell over package wrapper; demo and fake-server run
// the in-memory service of package apitest on a loopback port.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	signals := make(chan os.Signal, 1)
	// SIGHUP (the terminal closed, the SSH session lost) ends the command
	// like SIGINT: the temporary file of a download is removed.
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		sig := <-signals
		// A second signal ends the process at once.
		signal.Stop(signals)
		cancel(&interrupted{sig: sig})
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	cancel(nil)
	os.Exit(code)
}
