package wrapper_test

// Benchmarks of the client's own cost: the same create and get against the
// same loopback server, by a raw net/http call, by the generated client and
// by the wrapper. `make bench` runs them with -count 5 and prints the
// wrapper/raw ratio of the medians.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

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
		req.Header.Set("Accept", wrapper.AcceptHeader)
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

func BenchmarkCreateRun(b *testing.B) {
	srv := benchServer(b)
	base := srv.URL + "/export"
	ctx := context.Background()

	b.Run("raw", func(b *testing.B) {
		hc := noRedirects()
		b.ReportAllocs()
		for b.Loop() {
			body, _ := json.Marshal(benchRequest())
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/connections/c1/runs", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Accept", wrapper.AcceptHeader)
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
	})
	b.Run("generated", func(b *testing.B) {
		gc := generatedClient(b, base)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := gc.CreateExportConnectionRunWithResponse(ctx, "c1", nil, benchRequest())
			if err != nil {
				b.Fatal(err)
			}
			if resp.StatusCode() != http.StatusAccepted || resp.Headers202 == nil || resp.Headers202.Location == "" {
				b.Fatalf("status %d", resp.StatusCode())
			}
		}
	})
	b.Run("wrapper", func(b *testing.B) {
		c, err := wrapper.New(wrapper.Options{BaseURL: base, TokenSource: wrapper.StaticToken(testToken), HTTPClient: noRedirects()})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			ref, err := c.CreateRun(ctx, "c1", benchRequest())
			if err != nil || ref.RunID != "r1" {
				b.Fatal(ref, err)
			}
		}
	})
}

func BenchmarkGetRun(b *testing.B) {
	srv := benchServer(b)
	base := srv.URL + "/export"
	ctx := context.Background()

	b.Run("raw", func(b *testing.B) {
		hc := noRedirects()
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/connections/c1/runs/r1", nil)
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Accept", wrapper.AcceptHeader)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var body api.ExportRunResponse
			err = json.NewDecoder(resp.Body).Decode(&body)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || body.Run.State == nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("generated", func(b *testing.B) {
		gc := generatedClient(b, base)
		b.ReportAllocs()
		for b.Loop() {
			resp, err := gc.GetExportConnectionRunWithResponse(ctx, "c1", "r1", nil)
			if err != nil || resp.JSON200 == nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("wrapper", func(b *testing.B) {
		c, err := wrapper.New(wrapper.Options{BaseURL: base, TokenSource: wrapper.StaticToken(testToken), HTTPClient: noRedirects()})
		if err != nil {
			b.Fatal(err)
		}
		ref, err := c.RunRefFor("c1", "r1")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			run, err := c.GetRun(ctx, ref)
			if err != nil || run.State == nil {
				b.Fatal(err)
			}
		}
	})
}
