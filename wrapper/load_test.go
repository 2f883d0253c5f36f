package wrapper_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// countingTransport counts the requests it sends and the 429s it receives.
type countingTransport struct {
	next              http.RoundTripper
	requests, tooMany atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.requests.Add(1)
	resp, err := t.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		t.tooMany.Add(1)
	}
	return resp, err
}

// BenchmarkLoad exports 200 connections, 50 at a time, against apitest with
// the community tier's budget of 500 requests a minute, time scaled 30 times
// faster (a "minute" lasts 2s), runs of five 50ms steps. The client spends
// 98% of that budget (Options.Budget) and pauses all requests on a 429.
//
// It reports the requests made, the 429s among them, requests per completed
// run, and the total time against the bound the rate limit sets (requests
// made ÷ budget). It fails unless every run completes, 429s stay at or
// under 2% of requests and the time stays within 1.25 times the bound.
//
//	go test -run '^$' -bench Load -benchtime 1x ./wrapper/
func BenchmarkLoad(b *testing.B) {
	b.Run("budget", func(b *testing.B) { loadRun(b, true) })
	// Without a budget the client only pauses on 429s: reported for
	// comparison, not held to the goals.
	b.Run("pause-only", func(b *testing.B) { loadRun(b, false) })
}

// The load BenchmarkLoad puts on the fake.
const (
	loadConnections = 200
	loadParallel    = 50
	loadTier        = 500 // requests a minute
	loadScale       = 30  // time runs this many times faster
	loadStep        = 50 * time.Millisecond
)

// loadRun exports loadConnections connections, loadParallel at a time,
// through a client that spends a budget under the tier when budget is set,
// and reports the figures of each of the b.N exports.
func loadRun(b *testing.B, budget bool) {
	minute := time.Minute / loadScale
	for range b.N {
		fake, ids := newLoadFake(minute)
		counter := &countingTransport{next: &http.Transport{MaxIdleConnsPerHost: loadParallel}}
		c, err := wrapper.New(loadOptions(fake.URL, counter, minute, budget))
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		results := c.ExportMany(context.Background(), ids, api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC}, wrapper.ManyOptions{
			Parallel: loadParallel,
			Wait:     wrapper.WaitOptions{MinInterval: 2 * loadStep, MaxInterval: 4 * loadStep},
		})
		elapsed := time.Since(start)
		fake.Close()
		counter.next.(*http.Transport).CloseIdleConnections()

		for _, r := range results {
			if r.Err != nil || r.Run == nil || r.Run.State != api.ExecutionStateCompleted {
				b.Fatalf("connection %s: run %v, err %v", r.ConnectionID, r.Run, r.Err)
			}
		}
		reportLoad(b, counter, elapsed, minute, budget)
	}
}

// newLoadFake starts a fake with the tier's rate limit over a scaled minute
// and loadConnections connections, each of its own iModel, and returns the
// fake and the connection ids.
func newLoadFake(minute time.Duration) (*apitest.Server, []string) {
	fake := apitest.NewServer(apitest.Options{StepDuration: loadStep, RateLimit: loadTier, RateWindow: minute})
	ids := make([]string, loadConnections)
	for i := range ids {
		ids[i] = fake.AddConnection(api.ExportConnectionCreate{IModelID: fmt.Sprintf("m%d", i)}).ID
	}
	return fake, ids
}

// loadOptions are the client's options for a load run against baseURL
// through counter: retries wait out a 429 for up to a scaled minute, and
// with budget the client spends 98% of the tier.
func loadOptions(baseURL string, counter *countingTransport, minute time.Duration, budget bool) wrapper.Options {
	opts := wrapper.Options{
		BaseURL:     baseURL,
		TokenSource: wrapper.StaticToken(testToken),
		HTTPClient:  &http.Client{Transport: counter},
		Retry:       wrapper.RetryPolicy{MaxAttempts: 10, MaxRetryAfter: minute},
	}
	if budget {
		// 2% under the tier: the server's windows start when its first
		// request arrives, and latency jitter would otherwise let a
		// 501st request into a window now and then.
		opts.Budget = wrapper.RateBudget{Requests: loadTier * 98 / 100, Per: minute}
	}
	return opts
}

// reportLoad reports the figures of one load run that took elapsed, as
// counter saw it, and, for a run with a budget, fails it when 429s exceed
// 2% of requests or the time exceeds 1.25 times the rate-limit bound.
func reportLoad(b *testing.B, counter *countingTransport, elapsed, minute time.Duration, budget bool) {
	b.Helper()
	requests, tooMany := counter.requests.Load(), counter.tooMany.Load()
	bound := time.Duration(requests) * minute / loadTier
	b.ReportMetric(float64(requests), "requests")
	b.ReportMetric(float64(tooMany), "429s")
	b.ReportMetric(float64(requests)/loadConnections, "requests/run")
	b.ReportMetric(elapsed.Seconds(), "s-total")
	b.ReportMetric(bound.Seconds(), "s-bound")
	b.ReportMetric(float64(elapsed)/float64(bound), "time/bound")
	if !budget {
		return
	}
	if float64(tooMany) > 0.02*float64(requests) {
		b.Errorf("%d of %d requests answered 429: more than 2%%", tooMany, requests)
	}
	if float64(elapsed) > 1.25*float64(bound) {
		b.Errorf("took %v, more than 1.25 times the rate-limit bound %v", elapsed, bound)
	}
}
