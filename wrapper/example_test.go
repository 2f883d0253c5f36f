package wrapper_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// Run an export and wait for its result. The in-memory service stands in for
// https://api.bentley.com/export here; against the real API, leave BaseURL
// empty and use ClientCredentials.
func ExampleClient_Export() {
	fake := apitest.NewServer(apitest.Options{StepDuration: 5 * time.Millisecond})
	defer fake.Close()
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "7dbd531d-6967-47b2-8945-a722a437ad7a"})

	client, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken("my-token")})
	if err != nil {
		panic(err)
	}
	_, run, err := client.Export(context.Background(), conn.ID,
		api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, IFCVersion: wrapper.Ptr(api.IFCVersionIFC43)},
		wrapper.WaitOptions{MinInterval: 5 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	fmt.Println(run.State, run.Result)
	// Output: Completed Success
}

// Resume waiting after a restart: the run's Location is all that needs to be
// saved.
func ExampleParseRunRef() {
	fake := apitest.NewServer(apitest.Options{StepDuration: 5 * time.Millisecond})
	defer fake.Close()
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "7dbd531d-6967-47b2-8945-a722a437ad7a"})
	client, _ := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken("my-token")})

	ref, err := client.CreateRun(context.Background(), conn.ID, api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC})
	if err != nil {
		panic(err)
	}
	saved := ref.Location // write it to a file, a database, a job's state...

	// Later, perhaps in another process:
	resumed, err := wrapper.ParseRunRef(saved)
	if err != nil {
		panic(err)
	}
	run, err := client.WaitRun(context.Background(), resumed, wrapper.WaitOptions{MinInterval: 5 * time.Millisecond})
	fmt.Println(resumed.RunID == ref.RunID, run.Result, err)
	// Output: true Success <nil>
}

// Handle a rate limit: a Retry-After within RetryPolicy.MaxRetryAfter is
// waited out by the client; a longer one comes back at once, carrying the
// wait, for the caller to schedule.
func ExampleAPIError_rateLimit() {
	fake := apitest.NewServer(apitest.Options{RateLimit: 1}) // one request a minute
	defer fake.Close()
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "7dbd531d-6967-47b2-8945-a722a437ad7a"})
	client, _ := wrapper.New(wrapper.Options{
		BaseURL:     fake.URL,
		TokenSource: wrapper.StaticToken("my-token"),
		Retry:       wrapper.RetryPolicy{MaxRetryAfter: 10 * time.Second},
	})

	_, _ = client.GetConnection(context.Background(), conn.ID) // uses the budget
	_, err := client.GetConnection(context.Background(), conn.ID)

	var apiErr *wrapper.APIError
	if errors.Is(err, wrapper.ErrRateLimited) && errors.As(err, &apiErr) {
		fmt.Println("rate limited:", apiErr.Code, "retry after", apiErr.RetryAfter)
	}
	// Output: rate limited: RateLimitExceeded retry after 1m0s
}

// Use a service application's credentials: tokens come from the identity
// service by the client-credentials grant and are cached until they expire.
func ExampleClientCredentials() {
	// A stand-in for https://ims.bentley.com/connect/token.
	ims := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"service-token","token_type":"Bearer","expires_in":3600}`)
	}))
	defer ims.Close()
	fake := apitest.NewServer(apitest.Options{ValidToken: func(tok string) bool { return tok == "service-token" }})
	defer fake.Close()

	ctx := context.Background()
	tokens, err := wrapper.ClientCredentials("my-client-id", "my-client-secret", ims.URL)
	if err != nil {
		panic(err) // a token URL that is not https (http only to loopback)
	}
	client, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: tokens})
	if err != nil {
		panic(err)
	}
	conn, err := client.CreateConnection(ctx, api.ExportConnectionCreate{IModelID: "7dbd531d-6967-47b2-8945-a722a437ad7a"})
	if err != nil {
		panic(err)
	}
	fmt.Println(conn.IModelID)
	// Output: 7dbd531d-6967-47b2-8945-a722a437ad7a
}

// Call an operation of the contract through the generated client, with the
// client's token, retries, limits and redaction, and classify its answer
// as the wrapper's own calls are. Any operation added to openapi.yaml is
// callable so right after `make generate`.
func ExampleClient_API() {
	fake := apitest.NewServer(apitest.Options{})
	defer fake.Close()
	client, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken("my-token")})
	if err != nil {
		panic(err)
	}
	resp, err := client.API().GetExportConnectionWithResponse(context.Background(), "no-such-connection")
	if err != nil {
		panic(err)
	}
	err = wrapper.CheckResponse(resp.HTTPResponse, resp.Body, http.StatusOK)
	var apiErr *wrapper.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(errors.Is(err, wrapper.ErrNotFound), apiErr.StatusCode, apiErr.Code)
	}
	// Output: true 404 ConnectionNotFound
}

// A run whose result is PartialSuccess is an ErrRunFailed: Export returns a
// *RunError saying which tasks failed, and the run, whose other outputs are
// in Storage. DownloadRunOutputs downloads them.
func ExampleRunError_partialSuccess() {
	clock := apitest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fake := apitest.NewServer(apitest.Options{Clock: clock, DefaultOutcome: apitest.OutcomePartialSuccess})
	defer fake.Close()
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "7dbd531d-6967-47b2-8945-a722a437ad7a"})
	client, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken("my-token"), Clock: clock})
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "exports")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	_, run, err := client.Export(ctx, conn.ID, api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC}, wrapper.WaitOptions{})
	var runErr *wrapper.RunError
	if errors.As(err, &runErr) && runErr.Result == api.ExecutionResultPartialSuccess {
		fmt.Println(errors.Is(err, wrapper.ErrRunFailed), "with", len(runErr.Tasks), "failed task")
		files, err := client.DownloadRunOutputs(ctx, run, dir, wrapper.DownloadOptions{})
		if err != nil {
			panic(err)
		}
		fmt.Println("downloaded anyway:", len(files), "file")
	}
	// Output:
	// true with 1 failed task
	// downloaded anyway: 1 file
}
