package wrapper_test

// BenchmarkDownloadCappedLink measures the parallel download where it
// matters: a link that caps each connection (16 MiB/s) and waits 30 ms for
// each answer's first byte, as a TCP connection across a continent does. A
// 48 MiB file of apitest's blob origin, so capped, is fetched three ways,
// interleaved: by the wrapper with its defaults (parallel ranges), by the
// wrapper on one connection, and by the limit: 8 raw ranged GETs of equal
// eighths at once, written with WriteAt into one file then synced. It
// reports "parallel/limit" and "parallel/single" (medians of the per-round
// ratios), the connections the wrapper opened per download and the peak
// heap growth of its downloads. The wrapper checks the blob's MD5 on every
// download: its bytes are the blob's.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

const (
	cappedFileSize  = 48 << 20
	cappedRate      = 16 << 20
	cappedFirstByte = 30 * time.Millisecond
	cappedRanges    = 8
)

func BenchmarkDownloadCappedLink(b *testing.B) {
	fake := apitest.NewServer(apitest.Options{BlobRate: cappedRate, BlobFirstByte: cappedFirstByte})
	b.Cleanup(fake.Close)
	id := fake.AddPatternFile("big.ifc", cappedFileSize)
	var dials atomic.Int64
	dialer := &net.Dialer{}
	transport := &http.Transport{MaxIdleConnsPerHost: 16, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dialer.DialContext(ctx, network, addr)
	}}
	b.Cleanup(transport.CloseIdleConnections)
	c, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken(testToken), HTTPClient: &http.Client{Transport: transport}})
	if err != nil {
		b.Fatal(err)
	}
	raw := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.Cleanup(raw.Transport.(*http.Transport).CloseIdleConnections)
	link := benchLink(b, raw, c.StorageURL()+"/files/"+id+"/download")
	dir := b.TempDir()
	// The fake hashes the file once, at its first answer: not in a round.
	benchRangedDownload(b, raw, link, filepath.Join(dir, "warm.ifc"))

	download := func(name string, opts wrapper.DownloadOptions) func() {
		return func() {
			if _, err := c.DownloadFile(context.Background(), id, filepath.Join(dir, name), opts); err != nil {
				b.Fatal(err)
			}
		}
	}
	contenders := []func(){
		func() { benchRangedDownload(b, raw, link, filepath.Join(dir, "limit.ifc")) },
		download("parallel.ifc", wrapper.DownloadOptions{}),
		download("single.ifc", wrapper.DownloadOptions{Parallel: 1}),
	}
	var toLimit, toSingle []float64
	var peak uint64
	var conns int64
	b.ResetTimer()
	for i := range b.N {
		var times [3]time.Duration
		for k := range contenders {
			j := (k + i) % len(contenders) // each goes first in turn
			if j == 1 {
				transport.CloseIdleConnections()
				before := dials.Load()
				var p uint64
				times[j], p = measured(contenders[j])
				peak, conns = max(peak, p), dials.Load()-before-2 // the metadata and link requests' connection at most
				conns = max(conns, dials.Load()-before-1)
			} else {
				times[j], _ = measured(contenders[j])
			}
		}
		for _, name := range []string{"limit.ifc", "parallel.ifc", "single.ifc"} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				b.Fatal(err)
			}
		}
		toLimit = append(toLimit, float64(times[1])/float64(times[0]))
		toSingle = append(toSingle, float64(times[1])/float64(times[2]))
	}
	slices.Sort(toLimit)
	slices.Sort(toSingle)
	b.ReportMetric(toLimit[len(toLimit)/2], "parallel/limit")
	b.ReportMetric(toSingle[len(toSingle)/2], "parallel/single")
	b.ReportMetric(float64(conns), "blob-connections")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// benchRangedDownload is the limit: cappedRanges ranged GETs of equal parts
// at once, each written with WriteAt into one file, then synced.
func benchRangedDownload(b *testing.B, hc *http.Client, link, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	part := int64(cappedFileSize / cappedRanges)
	var wg sync.WaitGroup
	errs := make(chan error, cappedRanges)
	for i := range int64(cappedRanges) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, link, nil)
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", i*part, (i+1)*part-1))
			resp, err := hc.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			n, err := io.Copy(io.NewOffsetWriter(f, i*part), resp.Body)
			if err == nil && n != part {
				err = fmt.Errorf("range %d: %d bytes", i, n)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
}
