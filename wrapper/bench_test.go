package wrapper_test

// Benchmarks of the client's own cost: the same create and get against the
// same loopback server, by a raw net/http call, by the generated client and
// by the wrapper. Each contender runs alone (raw, generated, wrapper: ns/op,
// B/op, allocs/op), then all three interleaved (see benchInterleaved), which
// gives the time ratio. `make bench` runs them with -count 5 and
// internal/benchreport prints the medians and "wrapper/raw: X.XX".

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// acceptMediaType is the Accept value every contender sends, as the API
// recommends.
const acceptMediaType = "application/vnd.bentley.itwin-platform.v1+json"

const benchRun = `{"run":{"id":"r1","connectionId":"c1","startDateTime":"2026-11-28T12:00:00Z","state":"Executing","result":"Undetermined","jobs":[{"id":"j1","state":"Executing","result":"Undetermined","tasks":[{"id":"t1","state":"Executing","result":"Undetermined","retryAttempts":0}]}]}}`

// benchServer answers a create with 202 and a relative Location, and a get
// with a run in progress: the two calls every export makes.
func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "/export/connections/c1/runs/r1")
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, benchRun)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// noRedirects is how every contender's http.Client is set up: its own
// transport (so each keeps one warm connection) and redirects not followed.
func noRedirects() *http.Client {
	return &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// generatedClient is the generated client set up as the others: bearer
// token, Accept header, redirects not followed.
func generatedClient(b *testing.B, base string) *api.ClientWithResponses {
	gc, err := api.NewClientWithResponses(base, api.WithHTTPClient(noRedirects()), api.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+testToken)
		req.Header.Set("Accept", acceptMediaType)
		return nil
	}))
	if err != nil {
		b.Fatal(err)
	}
	return gc
}

func benchRequest() api.ExportConnectionRunCreate {
	v := api.IFCVersionIFC43
	return api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, IFCVersion: &v}
}

// rawCreate is the raw contender's create: a POST with net/http, its
// Location read.
func rawCreate(b *testing.B, hc *http.Client, url string) {
	body, _ := json.Marshal(benchRequest())
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Accept", acceptMediaType)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Location") == "" {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// rawGet is the raw contender's get: a GET with net/http, the run decoded.
func rawGet(b *testing.B, hc *http.Client, url string) {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Accept", acceptMediaType)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var body api.ExportRunResponse
	err = json.NewDecoder(resp.Body).Decode(&body)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || body.Run.State == "" {
		b.Fatal(err)
	}
}

// contender is one way of making a call: set up once, then called in a loop.
type contender struct {
	name  string
	setup func(b *testing.B, base string) (call func(b *testing.B))
}

// benchContenders runs each contender alone, then all of them interleaved.
func benchContenders(b *testing.B, contenders []contender) {
	srv := benchServer(b)
	base := srv.URL + "/export"
	for _, c := range contenders {
		b.Run(c.name, func(b *testing.B) {
			call := c.setup(b, base)
			b.ReportAllocs()
			for b.Loop() {
				call(b)
			}
		})
	}
	b.Run("interleaved", func(b *testing.B) {
		benchInterleaved(b, base, contenders)
	})
}

// benchInterleaved makes one call of every contender per iteration, in an
// order that rotates from one iteration to the next, and times each call. It
// reports each contender's mean as "<name>-ns/op". On a shared machine
// loopback latency drifts by more than a client's own cost within seconds,
// so contenders measured one after the other differ by the drift as much as
// by their code; interleaved, they share the machine's state of the moment
// and the drift cancels out of their ratio. The two clock reads per call
// cost the same for every contender.
func benchInterleaved(b *testing.B, base string, contenders []contender) {
	calls := make([]func(*testing.B), len(contenders))
	for i, c := range contenders {
		calls[i] = c.setup(b, base)
	}
	spent := make([]time.Duration, len(contenders))
	n := 0
	for b.Loop() {
		for j := range calls {
			k := (n + j) % len(calls)
			start := time.Now()
			calls[k](b)
			spent[k] += time.Since(start)
		}
		n++
	}
	for k, c := range contenders {
		b.ReportMetric(float64(spent[k].Nanoseconds())/float64(n), c.name+"-ns/op")
	}
}

// BenchmarkCreateRun creates a run: a raw POST with its Location read, the
// generated client, and wrapper.CreateRun.
func BenchmarkCreateRun(b *testing.B) {
	ctx := context.Background()
	benchContenders(b, []contender{
		{"raw", func(b *testing.B, base string) func(*testing.B) {
			hc := noRedirects()
			url := base + "/connections/c1/runs"
			return func(b *testing.B) { rawCreate(b, hc, url) }
		}},
		{"generated", func(b *testing.B, base string) func(*testing.B) {
			gc := generatedClient(b, base)
			return func(b *testing.B) {
				resp, err := gc.CreateExportConnectionRunWithResponse(ctx, "c1", benchRequest())
				if err != nil {
					b.Fatal(err)
				}
				if resp.StatusCode() != http.StatusAccepted || resp.Headers202 == nil || resp.Headers202.Location == "" {
					b.Fatalf("status %d", resp.StatusCode())
				}
			}
		}},
		{"wrapper", func(b *testing.B, base string) func(*testing.B) {
			c := benchWrapper(b, base)
			return func(b *testing.B) {
				ref, err := c.CreateRun(ctx, "c1", benchRequest())
				if err != nil || ref.RunID != "r1" {
					b.Fatal(ref, err)
				}
			}
		}},
	})
}

// BenchmarkGetRun gets a run and decodes it: a raw GET, the generated client,
// and wrapper.GetRun.
func BenchmarkGetRun(b *testing.B) {
	ctx := context.Background()
	benchContenders(b, []contender{
		{"raw", func(b *testing.B, base string) func(*testing.B) {
			hc := noRedirects()
			url := base + "/connections/c1/runs/r1"
			return func(b *testing.B) { rawGet(b, hc, url) }
		}},
		{"generated", func(b *testing.B, base string) func(*testing.B) {
			gc := generatedClient(b, base)
			return func(b *testing.B) {
				resp, err := gc.GetExportConnectionRunWithResponse(ctx, "c1", "r1")
				if err != nil || resp.JSON200 == nil {
					b.Fatal(err)
				}
			}
		}},
		{"wrapper", func(b *testing.B, base string) func(*testing.B) {
			c := benchWrapper(b, base)
			ref, err := c.RunRefFor("c1", "r1")
			if err != nil {
				b.Fatal(err)
			}
			return func(b *testing.B) {
				run, err := c.GetRun(ctx, ref)
				if err != nil || run.State == "" {
					b.Fatal(err)
				}
			}
		}},
	})
}

func benchWrapper(b *testing.B, base string) *wrapper.Client {
	c, err := wrapper.New(wrapper.Options{BaseURL: base, TokenSource: wrapper.StaticToken(testToken), HTTPClient: noRedirects()})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// memoryTransport answers without a network, as benchServer does: a POST
// with 202 and a relative Location, a GET with benchRun.
type memoryTransport struct{}

func (memoryTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	if r.Method == http.MethodPost {
		return &http.Response{StatusCode: http.StatusAccepted, Header: http.Header{"Location": {"/export/connections/c1/runs/r1"}},
			Body: http.NoBody, Request: r}, nil
	}
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(benchRun)), ContentLength: int64(len(benchRun)), Request: r}, nil
}

// BenchmarkClientCost is the client's own cost, without a network: the raw
// and wrapper contenders of BenchmarkCreateRun and BenchmarkGetRun over an
// in-memory transport. Free of loopback latency and its drift, it is the
// stable figure of what the wrapper adds; BenchmarkCreateRun and
// BenchmarkGetRun put it next to a real round trip.
func BenchmarkClientCost(b *testing.B) {
	ctx := context.Background()
	const base = "http://127.0.0.1:1/export"
	hc := &http.Client{Transport: memoryTransport{}}
	c, err := wrapper.New(wrapper.Options{BaseURL: base, TokenSource: wrapper.StaticToken(testToken), HTTPClient: hc})
	if err != nil {
		b.Fatal(err)
	}
	ref, err := c.RunRefFor("c1", "r1")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		call func(b *testing.B)
	}{
		{"create/raw", func(b *testing.B) { rawCreate(b, hc, base+"/connections/c1/runs") }},
		{"create/wrapper", func(b *testing.B) {
			if ref, err := c.CreateRun(ctx, "c1", benchRequest()); err != nil || ref.RunID != "r1" {
				b.Fatal(ref, err)
			}
		}},
		{"get/raw", func(b *testing.B) { rawGet(b, hc, base+"/connections/c1/runs/r1") }},
		{"get/wrapper", func(b *testing.B) {
			if run, err := c.GetRun(ctx, ref); err != nil || run.State == "" {
				b.Fatal(err)
			}
		}},
	} {
		// The names nest (create/raw): benchreport reads the last element as
		// the contender.
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.call(b)
			}
		})
	}
}
