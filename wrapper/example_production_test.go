package wrapper_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// exporterConfig is what a service reads from its environment.
type exporterConfig struct {
	ClientID, ClientSecret string
	// TokenURL and BaseURL are empty in production (the iTwin Platform's).
	TokenURL, BaseURL string
	// Limiter is shared by every Client of the process, so that together
	// they stay under the application's rate-limit tier.
	Limiter wrapper.Limiter
	// Clock is nil in production; a test's apitest.ManualClock.
	Clock wrapper.Clock
}

// newExporter builds the one Client of a long-running service, shared by
// all its goroutines.
func newExporter(cfg exporterConfig, logger *slog.Logger) (*wrapper.Client, error) {
	// A service application's credentials: tokens by the client-credentials
	// grant, cached until shortly before they expire. The secret is scrubbed
	// from every error and log record of the Client.
	tokens, err := wrapper.ClientCredentials(cfg.ClientID, cfg.ClientSecret, cfg.TokenURL)
	if err != nil {
		return nil, err // a token URL that is not https
	}
	// One transport for the process: proxy from HTTPS_PROXY and NO_PROXY,
	// bounded dials and handshakes, a pool of kept-alive connections. Being
	// an *http.Transport, it also carries the downloads from the blob store
	// (which must add no credential: see Options.BlobTransport).
	transport := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16, // the API, Storage and the blob store are each a host
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return wrapper.New(wrapper.Options{
		BaseURL:     cfg.BaseURL,
		TokenSource: tokens,
		HTTPClient:  &http.Client{Transport: transport}, // no Timeout: each exchange is bounded below, each call by its context
		UserAgent:   "nightly-exporter/1.4 itwin-export-go/" + wrapper.Version,
		Logger:      logger,
		Limiter:     cfg.Limiter,
		Retry:       wrapper.RetryPolicy{MaxAttempts: 5, MaxRetryAfter: time.Minute},
		// Every wait of the service (Export, WaitRun, ExportMany) polls
		// from every 30 s up to every 2 minutes unless a call says otherwise:
		// exports take minutes to hours.
		Wait:                  wrapper.WaitOptions{MinInterval: 30 * time.Second, MaxInterval: 2 * time.Minute},
		ResponseHeaderTimeout: 30 * time.Second,
		BodyIdleTimeout:       30 * time.Second,
		Clock:                 cfg.Clock,
	})
}

// A production set-up (newExporter): client credentials, an http.Transport
// of one's own (proxy from the environment, timeouts, a connection pool),
// a JSON slog.Logger at Debug, a Limiter shared by the process's clients,
// the service's default polling in Options.Wait, and bounded retries and
// exchanges. One export runs against the in-memory service, which serves
// the token endpoint too (OAuthURLs).
//
// The log has a Debug record per HTTP exchange, an Info record per state of
// the run and per retry; token requests are not logged. No record holds a
// token or the client secret, and the signature of the blob link appears
// as REDACTED.
func Example_productionSetup() {
	clock := apitest.NewManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	fake := apitest.NewServer(apitest.Options{Clock: clock, StepDuration: 12 * time.Second})
	defer fake.Close()
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "7dbd531d-6967-47b2-8945-a722a437ad7a"}).ID
	_, tokenURL := fake.OAuthURLs()

	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// A little under a tier of 500 requests a minute. A LocalLimiter keeps
	// the wall clock, whatever Options.Clock says: here its budget spaces
	// the export's requests 122 ms apart in real time.
	limiter := wrapper.NewLocalLimiter(wrapper.RateBudget{Requests: 490, Per: time.Minute})
	client, err := newExporter(exporterConfig{
		ClientID: "nightly-exporter", ClientSecret: "s3cr3t-from-the-vault",
		TokenURL: tokenURL, BaseURL: fake.URL, Limiter: limiter, Clock: clock,
	}, logger)
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "exports")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	_, run, err := client.Export(ctx, conn, api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC}, wrapper.WaitOptions{})
	if err != nil {
		panic(err)
	}
	files, err := client.DownloadRunOutputs(ctx, run, dir, wrapper.DownloadOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println("exported:", run.Result, len(files), "file")

	// What the log holds: one JSON record a line.
	count := map[string]int{}
	var token string
	for _, r := range fake.Requests() {
		if a := r.Header.Get("Authorization"); a != "" {
			token = strings.TrimPrefix(a, "Bearer ")
		}
	}
	for line := range strings.Lines(logs.String()) {
		var rec struct {
			Level, Msg, Op, URL, State string
			Elapsed                    time.Duration
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			panic(err)
		}
		count[rec.Level+" "+rec.Msg]++
		switch {
		case rec.Msg == "run state":
			fmt.Println("run state", rec.State, "after", rec.Elapsed)
		case rec.Op == "downloadContent":
			// (Printed with the blob store's address and the file's id replaced.)
			fmt.Println("blob link:", strings.NewReplacer(fake.BlobURL(), "https://blob.example", files[0].FileID, "FILE_ID").Replace(rec.URL))
		}
	}
	fmt.Println("records:", count)
	fmt.Println("token or secret in the log:", token == "" || strings.Contains(logs.String(), token) || strings.Contains(logs.String(), "s3cr3t"))
	// Output:
	// exported: Success 1 file
	// run state NotStarted after 0s
	// run state WaitingToExecute after 30s
	// run state Completed after 1m0s
	// blob link: https://blob.example/exports/FILE_ID/7dbd531d-6967-47b2-8945-a722a437ad7a.ifc?sv=2024-08-04&se=2026-01-01T01%3A01%3A00Z&sr=b&sp=r&sig=REDACTED
	// records: map[DEBUG http exchange:7 INFO run state:3]
	// token or secret in the log: false
}
