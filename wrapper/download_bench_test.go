package wrapper_test

// BenchmarkDownload measures what the wrapper costs on a large download:
// a 256 MiB file of apitest's blob origin on loopback, by the wrapper
// (metadata, link, streamed transfer, checks, fsync, rename) and by a raw
// net/http GET of the same blob io.Copy'd into a file that is then synced,
// the same durable result. The two run interleaved, alternating which goes
// first, so that both meet the shared machine in the same state, after a
// one-byte GET that has the fake compute the blob's MD5 outside the timing
// (else the first pair's raw GET waits for it). It reports
// "download/raw" (median of the per-pair time ratios), the peak growth of
// the heap during the wrapper's downloads, and the same for raw; `make
// bench` prints them as "download/raw: X.XX" and "peak heap growth".
//
// After each pair it also times the MD5 of 256 MiB on one core and nothing
// else, and reports "md5-alone/raw" (median of those times over the pair's
// raw time) and "raw-fsync-ms" (median of the raw copy's fsync). The
// wrapper must compute that MD5, in file order, before it renames its
// file; the raw copy computes none. So md5-alone/raw is a floor under
// download/raw that no schedule of the transfer can go below: near 1 on a
// host whose memory and disk are fast beside its processor.

import (
	"context"
	"crypto/md5"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// benchFileSize is the size of the benchmark's file.
const benchFileSize = 256 << 20

func BenchmarkDownload(b *testing.B) {
	fake := apitest.NewServer(apitest.Options{})
	b.Cleanup(fake.Close)
	id := fake.AddPatternFile("big.ifc", benchFileSize)
	transport := &http.Transport{}
	b.Cleanup(transport.CloseIdleConnections)
	c, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken(testToken), HTTPClient: &http.Client{Transport: transport}})
	if err != nil {
		b.Fatal(err)
	}
	raw := &http.Client{Transport: &http.Transport{}}
	b.Cleanup(raw.Transport.(*http.Transport).CloseIdleConnections)
	link := benchLink(b, raw, c.StorageURL()+"/files/"+id+"/download")
	dir := b.TempDir()
	benchWarm(b, raw, link)

	var ratios, floors []float64
	var syncs []time.Duration
	var rawPeak, wrapperPeak uint64
	var rawTime, wrapperTime time.Duration
	wrapped := func() {
		if _, err := c.DownloadFile(context.Background(), id, filepath.Join(dir, "wrapper.ifc"), wrapper.DownloadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	var rawSync time.Duration
	plain := func() { rawSync = benchRawDownload(b, raw, link, filepath.Join(dir, "raw.ifc")) }
	hashBuf := make([]byte, wrapper.TransferBuffer)
	b.ResetTimer()
	for i := range b.N {
		var tr, tw time.Duration
		var pr, pw uint64
		if i%2 == 0 {
			tr, pr = measured(plain)
			tw, pw = measured(wrapped)
		} else {
			tw, pw = measured(wrapped)
			tr, pr = measured(plain)
		}
		// Each contender writes a new file every time: neither pays for
		// truncating or replacing the last one's 256 MiB.
		for _, name := range []string{"raw.ifc", "wrapper.ifc"} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				b.Fatal(err)
			}
		}
		ratios = append(ratios, float64(tw)/float64(tr))
		floors = append(floors, float64(benchMD5Alone(hashBuf))/float64(tr))
		syncs = append(syncs, rawSync)
		rawTime, wrapperTime = rawTime+tr, wrapperTime+tw
		rawPeak, wrapperPeak = max(rawPeak, pr), max(wrapperPeak, pw)
	}
	slices.Sort(ratios)
	slices.Sort(floors)
	slices.Sort(syncs)
	b.ReportMetric(ratios[len(ratios)/2], "download/raw")
	b.ReportMetric(floors[len(floors)/2], "md5-alone/raw")
	b.ReportMetric(float64(syncs[len(syncs)/2])/float64(time.Millisecond), "raw-fsync-ms")
	b.ReportMetric(float64(wrapperPeak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(rawPeak)/(1<<20), "raw-peak-heap-MiB")
	b.ReportMetric(float64(benchFileSize)*float64(b.N)/(1<<20)/wrapperTime.Seconds(), "wrapper-MiB/s")
	b.ReportMetric(float64(benchFileSize)*float64(b.N)/(1<<20)/rawTime.Seconds(), "raw-MiB/s")
}

// benchLink asks the Storage API for a download link, as a raw client would.
func benchLink(b *testing.B, hc *http.Client, u string) string {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b.Fatalf("download link: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// benchWarm asks the blob origin for the blob's first byte, so that the
// origin computes the blob's MD5 (once per file, on its first answer)
// before the timing starts rather than inside the first pair's raw GET.
func benchWarm(b *testing.B, hc *http.Client, link string) {
	req, err := http.NewRequest(http.MethodGet, link, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Range", "bytes=0-0")
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusPartialContent || resp.Header.Get("x-ms-blob-content-md5") == "" {
		b.Fatalf("warm-up: status %d, MD5 %q", resp.StatusCode, resp.Header.Get("x-ms-blob-content-md5"))
	}
}

// benchMD5Alone is how long one core takes to compute the MD5 of
// benchFileSize bytes held in buf (the size of the checksum's read-back
// buffer, so in the processor's cache), and nothing else: the least the
// wrapper's checksum, which must run in file order, can take.
func benchMD5Alone(buf []byte) time.Duration {
	h := md5.New()
	start := time.Now()
	for n := 0; n < benchFileSize; n += len(buf) {
		h.Write(buf)
	}
	return time.Since(start)
}

// benchRawDownload is the raw contender: GET, io.Copy into a file, Sync. It
// returns how long the Sync took.
func benchRawDownload(b *testing.B, hc *http.Client, link, path string) time.Duration {
	resp, err := hc.Get(link)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	n, err := io.Copy(f, resp.Body)
	syncStart := time.Now()
	if err == nil {
		err = f.Sync()
	}
	took := time.Since(syncStart)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || n != benchFileSize {
		b.Fatalf("raw download: %d bytes, %v", n, err)
	}
	return took
}

// measured runs f and returns how long it took and how far the heap grew
// above what it held before (sampled every millisecond).
func measured(f func()) (time.Duration, uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > base {
				peak = max(peak, v-base)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	f()
	d := time.Since(start)
	close(stop)
	wg.Wait()
	return d, peak
}
