package wrapper_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// whatToDo turns an error of a listing into what its user should do. The
// classes are tested with errors.Is and errors.As, never by the text:
//   - *ValidationError (ErrValidation): the call was refused before anything
//     was sent; its Problems name the field.
//   - *APIError: the API answered an error status. It matches one sentinel
//     of its status class (ErrUnauthorized, ErrForbidden, ErrNotFound,
//     ErrConflict, ErrInvalidRequest, ErrRateLimited, ErrServer) and carries
//     the API's Code and Message, the Retry-After of a 429 and how many
//     times the request was sent.
//   - *TransportError: no answer at all (the connection failed or dropped,
//     a limit of Options ran out), after the retries GETs get.
//   - *TokenError: the identity service refused the credentials (it matches
//     ErrUnauthorized too) or failed.
func whatToDo(err error) string {
	var invalid *wrapper.ValidationError
	var apiErr *wrapper.APIError
	var transport *wrapper.TransportError
	switch {
	case err == nil:
		return "nothing"
	case errors.As(err, &invalid):
		p := invalid.Problems[0]
		return "fix the call (nothing sent): " + p.Field
	case errors.Is(err, wrapper.ErrUnauthorized):
		return "get new credentials" // a token expired or revoked, a secret rotated
	case errors.Is(err, wrapper.ErrForbidden):
		return "ask for access to it"
	case errors.Is(err, wrapper.ErrNotFound) && errors.As(err, &apiErr):
		return "check the id: " + apiErr.Code // ConnectionNotFound, RunNotFound, ...
	case errors.Is(err, wrapper.ErrRateLimited) && errors.As(err, &apiErr):
		// Within RetryPolicy.MaxRetryAfter the client waited itself; a longer
		// wait comes back at once, for the caller to schedule.
		return fmt.Sprintf("try again in %s", apiErr.RetryAfter)
	case errors.Is(err, wrapper.ErrServer) && errors.As(err, &apiErr):
		return fmt.Sprintf("try again later: %d %s after %d attempts", apiErr.StatusCode, apiErr.Code, apiErr.Attempts)
	case errors.As(err, &apiErr):
		return fmt.Sprintf("refused: %d %s", apiErr.StatusCode, apiErr.Code)
	case errors.As(err, &transport):
		return "check the network: " + transport.Operation
	default:
		return "unexpected: " + err.Error()
	}
}

// listRuns prints a connection's runs, newest first: the listing follows the
// API's pages, pageSize runs each, and the order is the API's, which its
// reference leaves open, so the runs are sorted here.
func listRuns(ctx context.Context, client *wrapper.Client, connectionID string, pageSize int) error {
	var runs []api.ExportRun
	for run, err := range client.RunsWithOptions(ctx, connectionID, wrapper.ListOptions{PageSize: pageSize}) {
		if err != nil {
			return err // the listing stops at its first error
		}
		runs = append(runs, run)
	}
	started := func(r api.ExportRun) time.Time {
		if r.StartDateTime == nil { // optional in the contract
			return time.Time{}
		}
		return *r.StartDateTime
	}
	slices.SortFunc(runs, func(a, b api.ExportRun) int { return started(b).Compare(started(a)) })
	for _, run := range runs {
		fmt.Println("  run started", started(run).Format(time.TimeOnly), run.State, run.Result)
	}
	return nil
}

// List an iModel's connections and a connection's runs, and handle each
// class of error as its user needs (whatToDo). Connections and
// RunsWithOptions are iterators that follow the API's paging links; a
// listing yields its first error and stops. The in-memory service is set up
// to refuse in every way an API can: an unknown id, a revoked token, a
// connection the token may not use, a 429 asking for ten minutes, a 503
// that outlasts the retries, a dropped connection.
func Example_listingWithErrorHandling() {
	clock := apitest.NewManualClock(time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC))
	var restricted string // the connection the "viewer" may not use
	fake := apitest.NewServer(apitest.Options{Clock: clock,
		ValidToken: func(token string) bool { return token != "revoked-token" },
		MayUse:     func(token, connectionID string) bool { return token != "viewer-token" || connectionID != restricted },
	})
	defer fake.Close()
	const iModel = "7dbd531d-6967-47b2-8945-a722a437ad7a"
	east := fake.AddConnection(api.ExportConnectionCreate{IModelID: iModel, DisplayName: wrapper.Ptr("east")}).ID
	restricted = fake.AddConnection(api.ExportConnectionCreate{IModelID: iModel, DisplayName: wrapper.Ptr("west")}).ID
	ctx := context.Background()
	clientOf := func(token string) *wrapper.Client {
		client, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken(token), Clock: clock})
		if err != nil {
			panic(err)
		}
		return client
	}
	client := clientOf("my-token")
	for range 3 { // three runs of east, an hour apart
		if _, _, err := client.Export(ctx, east, api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC}, wrapper.WaitOptions{}); err != nil {
			panic(err)
		}
		clock.Advance(time.Hour)
	}

	fmt.Println("connections of the iModel:")
	for conn, err := range client.Connections(ctx, iModel) {
		if err != nil {
			fmt.Println(" ", whatToDo(err))
			break
		}
		fmt.Println(" ", conn.DisplayName)
	}
	fake.ResetRequests()
	fmt.Println("runs of east:")
	if err := listRuns(ctx, client, east, 2); err != nil {
		fmt.Println(" ", whatToDo(err))
	}
	fmt.Println("  pages asked for:", len(fake.Requests()))

	fmt.Println("what to do when...")
	show := func(what string, err error) { fmt.Printf("  %s: %s\n", what, whatToDo(err)) }
	show("a page size of -1", listRuns(ctx, client, east, -1))
	show("a mistyped connection id", listRuns(ctx, client, "no-such-connection", 0))
	show("a revoked token", listRuns(ctx, clientOf("revoked-token"), east, 0))
	show("a connection the token may not use", listRuns(ctx, clientOf("viewer-token"), restricted, 0))
	fake.InjectFault(apitest.Fault{Method: http.MethodGet, Path: "/export/connections/*/runs",
		Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"600"}}})
	show("a rate limit for ten minutes", listRuns(ctx, client, east, 0))
	fake.InjectFault(apitest.Fault{Method: http.MethodGet, Path: "/export/connections/*/runs", Count: 5,
		Status: http.StatusServiceUnavailable})
	show("the service down", listRuns(ctx, client, east, 0))
	// Each attempt may meet two drops: Go's transport resends a GET once
	// itself when a kept-alive connection closes before answering.
	fake.InjectFault(apitest.Fault{Method: http.MethodGet, Path: "/export/connections/*/runs", Count: 10,
		Kind: apitest.FaultDrop})
	show("the network down", listRuns(ctx, client, east, 0))
	// Output:
	// connections of the iModel:
	//   east
	//   west
	// runs of east:
	//   run started 10:00:12 Completed Success
	//   run started 09:00:06 Completed Success
	//   run started 08:00:00 Completed Success
	//   pages asked for: 2
	// what to do when...
	//   a page size of -1: fix the call (nothing sent): PageSize
	//   a mistyped connection id: check the id: ConnectionNotFound
	//   a revoked token: get new credentials
	//   a connection the token may not use: ask for access to it
	//   a rate limit for ten minutes: try again in 10m0s
	//   the service down: try again later: 503 ServiceUnavailable after 5 attempts
	//   the network down: check the network: getExportConnectionRuns
}
