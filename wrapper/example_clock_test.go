package wrapper_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// exportIFC is the code under test: a function of your own that exports a
// connection to IFC 4.3 through a Client it is given, with the default
// polling, and returns the run's Location.
func exportIFC(ctx context.Context, client *wrapper.Client, connectionID string) (string, error) {
	req := api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, IFCVersion: wrapper.Ptr(api.IFCVersionIFC43)}
	ref, _, err := client.Export(ctx, connectionID, req, wrapper.WaitOptions{})
	if err != nil {
		return ref.Location, fmt.Errorf("exporting %s: %w", connectionID, err)
	}
	return ref.Location, nil
}

// Test your own code against the in-memory service, fast: one
// apitest.ManualClock drives both the service and the Client
// (Options.Clock). Each wait of the Client (between polls, for a
// Retry-After) moves the clock instead of sleeping, and the service's runs
// move with it. Here the create meets a 429 with Retry-After: 1, and the run
// takes a minute and several polls; on the wall clock, the whole test takes
// milliseconds. In a test, pass the Client to your code as here, and compare
// fake.Requests() with what your code must have sent.
func Example_testingYourCode() {
	clock := apitest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fake := apitest.NewServer(apitest.Options{Clock: clock, StepDuration: 12 * time.Second})
	defer fake.Close()
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "7dbd531d-6967-47b2-8945-a722a437ad7a"}).ID
	fake.InjectFault(apitest.Fault{Method: http.MethodPost, Path: "/export/connections/*/runs",
		Status: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}}})

	client, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken("test-token"), Clock: clock})
	if err != nil {
		panic(err)
	}
	start := clock.Now()
	location, err := exportIFC(context.Background(), client, conn)
	if err != nil {
		panic(err)
	}

	sent := map[string]int{}
	for _, r := range fake.Requests() {
		sent[r.Method]++
	}
	fmt.Println("run found again at its Location:", strings.HasPrefix(location, fake.URL+"/connections/"+conn+"/runs/"))
	fmt.Println("creates sent (a 429, then the run):", sent[http.MethodPost])
	fmt.Println("polls:", sent[http.MethodGet])
	fmt.Println("time on the clock:", clock.Now().Sub(start))
	// Output:
	// run found again at its Location: true
	// creates sent (a 429, then the run): 2
	// polls: 15
	// time on the clock: 1m3s
}
