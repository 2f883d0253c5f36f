package wrapper_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// The exit statuses of the nightly job, as sysexits.h names them: the
// scheduler runs the job again the next night after exitRetryTomorrow, and
// someone must change something before exitFixConfig goes away.
const (
	exitOK            = 0
	exitRetryTomorrow = 75 // EX_TEMPFAIL
	exitFixConfig     = 78 // EX_CONFIG
)

// statusText names the exit statuses in the job's report.
var statusText = map[int]string{exitOK: "done", exitRetryTomorrow: "retry tomorrow", exitFixConfig: "fix the configuration"}

// nightlyStatus says what an export's error means for the job: nothing
// (exitOK), a failure of the service, the network or the run that the next
// night may not meet (exitRetryTomorrow), or a mistake in the job's
// configuration or credentials that no retry will cure (exitFixConfig).
func nightlyStatus(err error) int {
	var runErr *wrapper.RunError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &runErr):
		// The run completed, without Success. Each task error says whether
		// the user can fix its cause (the iModel, a mapping file); when
		// none can, it is the exporter's failure.
		for _, t := range runErr.Tasks {
			if t.Error.CanUserFix != nil && *t.Error.CanUserFix {
				return exitFixConfig
			}
		}
		return exitRetryTomorrow
	case errors.Is(err, wrapper.ErrUnauthorized), // credentials refused (the API's 401, or the token endpoint's refusal)
		errors.Is(err, wrapper.ErrForbidden),      // the app may not use that connection
		errors.Is(err, wrapper.ErrNotFound),       // a connection id of the configuration is gone or mistyped
		errors.Is(err, wrapper.ErrInvalidRequest), // the API refused the request's content
		errors.Is(err, wrapper.ErrValidation),     // refused before sending: an id empty, a SAS link expired
		errors.Is(err, wrapper.ErrInsecureToken):  // a base URL on plain http
		return exitFixConfig
	default:
		// ErrRateLimited (a Retry-After beyond RetryPolicy.MaxRetryAfter),
		// ErrServer, ErrConflict, a *TransportError, ErrMalformedResponse,
		// a deadline of the job: the service or the network.
		return exitRetryTomorrow
	}
}

// A nightly job: export three connections at once with ExportMany, report
// on each, download what succeeded into the night's directory, and exit with
// a status that tells the scheduler whether to try again tomorrow or to wait
// for someone to fix the configuration (nightlyStatus).
//
// One OnProgress serves every export of ExportMany, from several goroutines
// at once: each Progress says whose it is, ConnectionID being the
// connection the job asked for (even when the API answered with the active
// run of another connection of the same iModel) and Ref the run waited on.
// ExportMany returns the results in the order of the ids given; one export's
// failure does not stop the others. Here the in-memory service ends the runs
// of the second connection with result Error, a failure of the exporter that
// the user cannot fix: the job exits 75, "retry tomorrow".
//
// The service and the client share an apitest.ManualClock, so that the
// runs' minutes pass without sleeping; a real job leaves Options.Clock nil.
func Example_nightlyJob() {
	clock := apitest.NewManualClock(time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC))
	fake := apitest.NewServer(apitest.Options{Clock: clock, StepDuration: 12 * time.Second})
	defer fake.Close()
	// The job's configuration: a name for the report, and the connection.
	names := map[string]string{}
	var connections []string
	for _, c := range []struct{ name, iModel string }{
		{"north-wing", "4f1a8c52-9d0e-4c39-a6c4-0c5a8f3b1e01"},
		{"south-wing", "4f1a8c52-9d0e-4c39-a6c4-0c5a8f3b1e02"},
		{"car-park", "4f1a8c52-9d0e-4c39-a6c4-0c5a8f3b1e03"},
	} {
		id := fake.AddConnection(api.ExportConnectionCreate{IModelID: c.iModel, DisplayName: wrapper.Ptr(c.name)}).ID
		names[id] = c.name
		connections = append(connections, id)
	}
	fake.SetOutcome(connections[1], apitest.OutcomeError)

	client, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken("nightly-token"), Clock: clock})
	if err != nil {
		panic(err) // a configuration that cannot work: exit exitFixConfig
	}
	exportsDir, err := os.MkdirTemp("", "exports")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(exportsDir)
	tonight := filepath.Join(exportsDir, clock.Now().Format("2006-01-02"))

	// What each export's progress said last, by the connection asked for.
	// A real job logs each Progress as it comes instead.
	var mu sync.Mutex
	last := map[string]wrapper.Progress{}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Hour)
	defer cancel()
	results := client.ExportMany(ctx, connections,
		api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, IFCVersion: wrapper.Ptr(api.IFCVersionIFC43)},
		wrapper.ManyOptions{Parallel: 3, Wait: wrapper.WaitOptions{OnProgress: func(p wrapper.Progress) {
			mu.Lock()
			defer mu.Unlock()
			last[p.ConnectionID] = p
		}}})

	status := exitOK
	ownRuns := true
	for _, r := range results {
		name := names[r.ConnectionID]
		p := last[r.ConnectionID]
		ownRuns = ownRuns && p.Ref == r.Ref
		report := fmt.Sprintf("%s: %s %s", name, p.State, p.Run.Result)
		if r.Err != nil {
			// A PartialSuccess run has outputs worth downloading too: see
			// ExampleRunError_partialSuccess.
			s := nightlyStatus(r.Err)
			fmt.Printf("%s, %s (exit %d)\n", report, statusText[s], s)
			status = max(status, s) // the worst wins: fixing the configuration comes first
			continue
		}
		// A run's outputs go under the night's directory, one folder per
		// connection; DownloadRunOutputs creates the folders.
		files, err := client.DownloadRunOutputs(ctx, r.Run, filepath.Join(tonight, name), wrapper.DownloadOptions{})
		if err != nil {
			s := nightlyStatus(err)
			fmt.Printf("%s, download failed: %s (exit %d)\n", report, statusText[s], s)
			status = max(status, s)
			continue
		}
		for _, f := range files {
			rel, _ := filepath.Rel(exportsDir, f.Path)
			fmt.Printf("%s, downloaded %s\n", report, filepath.ToSlash(rel))
		}
	}
	fmt.Println("each connection's progress named the run of its result:", ownRuns)
	fmt.Println("exit status", status) // os.Exit(status) in the job
	// Output:
	// north-wing: Completed Success, downloaded 2026-01-01/north-wing/4f1a8c52-9d0e-4c39-a6c4-0c5a8f3b1e01.ifc
	// south-wing: Completed Error, retry tomorrow (exit 75)
	// car-park: Completed Success, downloaded 2026-01-01/car-park/4f1a8c52-9d0e-4c39-a6c4-0c5a8f3b1e03.ifc
	// each connection's progress named the run of its result: true
	// exit status 75
}
