package wrapper_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// ranges lists the Range header of each blob request the fake saw, sorted.
func ranges(fake *apitest.Server) []string {
	var rs []string
	for _, r := range fake.BlobRequests() {
		rs = append(rs, r.Header.Get("Range"))
	}
	slices.Sort(rs)
	return rs
}

// TestDownloadParallelRanges: a file above BlockSize is fetched as ranges
// that cover it exactly, every one after the first answer under If-Match,
// and the bytes are the blob's; progress ends at the size.
func TestDownloadParallelRanges(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	const size = 1_000_000
	id := fake.AddPatternFile("big.ifc", size)
	var mu sync.Mutex
	var last int64
	opts := wrapper.DownloadOptions{Parallel: 4, BlockSize: 200_000, Progress: func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if done < last || total != size {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	}}
	got, err := c.DownloadFile(context.Background(), id, filepath.Join(t.TempDir(), "big.ifc"), opts)
	if err != nil {
		t.Fatal(err)
	}
	content, _ := os.ReadFile(got.Path)
	if !bytes.Equal(content, pattern(size)) {
		t.Error("content differs")
	}
	want := []string{"bytes=0-199999", "bytes=200000-399999", "bytes=400000-599999", "bytes=600000-799999", "bytes=800000-"}
	if diff := cmp.Diff(want, ranges(fake)); diff != "" {
		t.Errorf("ranges (-want +got):\n%s", diff)
	}
	etag := ""
	for _, r := range fake.BlobRequests() {
		if m := r.Header.Get("If-Match"); m != "" && etag == "" {
			etag = m
		}
		if m := r.Header.Get("If-Match"); m != "" && m != etag {
			t.Errorf("If-Match %q and %q", m, etag)
		}
		if r.Header.Get("Authorization") != "" {
			t.Error("a blob request carries Authorization")
		}
	}
	if last != size {
		t.Errorf("progress ended at %d", last)
	}
}

// TestDownloadParallelConnections: with a first byte that waits for all
// requests to arrive, the ranges are asked for at the same time, on as many
// connections.
func TestDownloadParallelConnections(t *testing.T) {
	var mu sync.Mutex
	active, peak := 0, 0
	all := make(chan struct{})
	blob := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		active++
		peak = max(peak, active)
		if active == 4 {
			close(all)
		}
		mu.Unlock()
		<-all // answers only once four requests are in flight
		defer func() { mu.Lock(); active--; mu.Unlock() }()
		content := pattern(400_000)
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", fakeModTime, bytes.NewReader(content))
	}))
	defer blob.Close()
	api := storageFor(t, blob.URL+"/f?sig=secret", 400_000)
	c := newClient(t, api.URL+"/export")
	got, err := c.DownloadFile(context.Background(), "f1", filepath.Join(t.TempDir(), "f.ifc"), wrapper.DownloadOptions{Parallel: 4, BlockSize: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	content, _ := os.ReadFile(got.Path)
	if !bytes.Equal(content, pattern(400_000)) || peak != 4 {
		t.Errorf("identical %v, %d requests at once (want 4)", bytes.Equal(content, pattern(400_000)), peak)
	}
}

// storageFor serves a Storage API whose one file "f1" of size bytes is at
// link.
func storageFor(t *testing.T, link string, size int) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/storage/files/f1":
			writeJSON(w, http.StatusOK, fmt.Sprintf(`{"file":{"id":"f1","displayName":"f.ifc","size":%d}}`, size))
		case "/storage/files/f1/download":
			w.Header().Set("Location", link)
			w.WriteHeader(http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// TestDownloadChecksumMismatch: a byte flipped in transit, in one stream or
// in one of the ranges, is an ErrChecksumMismatch (and malformed), named in
// the message, and no file is left.
func TestDownloadChecksumMismatch(t *testing.T) {
	for _, opts := range []wrapper.DownloadOptions{{Parallel: 1}, {Parallel: 4, BlockSize: 100_000}} {
		t.Run(fmt.Sprintf("parallel %d", opts.Parallel), func(t *testing.T) {
			fake := newFake(t, apitest.Options{})
			c := newClient(t, fake.URL)
			id := fake.AddPatternFile("a.ifc", 500_000)
			fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobCorrupt, After: 12_345})
			dir := t.TempDir()
			_, err := c.DownloadFile(context.Background(), id, filepath.Join(dir, "a.ifc"), opts)
			if !errors.Is(err, wrapper.ErrChecksumMismatch) || !errors.Is(err, wrapper.ErrMalformedResponse) || !strings.Contains(err.Error(), "checksum mismatch") {
				t.Errorf("err = %v, want a checksum mismatch", err)
			}
			if strings.Contains(fmt.Sprint(err), "sig=") && !strings.Contains(fmt.Sprint(err), "sig=REDACTED") {
				t.Errorf("signature in %v", err)
			}
			if names := entries(t, dir); len(names) != 0 {
				t.Errorf("left behind: %v", names)
			}
		})
	}
}

// TestDownloadResumeUnderIfMatch: a cut range is resumed with If-Match
// carrying the first answer's ETag.
func TestDownloadResumeUnderIfMatch(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	id := fake.AddPatternFile("a.ifc", 300_000)
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobCut, After: 100_000})
	got, err := c.DownloadFile(context.Background(), id, filepath.Join(t.TempDir(), "a.ifc"), wrapper.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	content, _ := os.ReadFile(got.Path)
	blob := fake.BlobRequests()
	if !bytes.Equal(content, pattern(300_000)) || len(blob) != 2 {
		t.Fatalf("identical %v after %d requests", bytes.Equal(content, pattern(300_000)), len(blob))
	}
	if m := blob[1].Header.Get("If-Match"); m == "" || m != blob[1].Header.Get("If-Range") {
		t.Errorf("resume with If-Match %q, If-Range %q", m, blob[1].Header.Get("If-Range"))
	}
}

// TestDownloadNeverSplices: a blob replaced between a cut and its resume is
// never combined with the first version. A store honouring If-Match answers
// 412; one ignoring every condition answers 206 with another ETag; either
// way the download starts over from the first byte and the file is one
// version only. A first answer with no ETag is never resumed: a cut starts
// over from zero.
func TestDownloadNeverSplices(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults []apitest.BlobFault
		want   []string // Range of each blob request
	}{
		{"412 to If-Match", []apitest.BlobFault{{Kind: apitest.BlobCut, After: 100_000}, {Kind: apitest.BlobChanged}},
			[]string{"", "bytes=100000-", ""}},
		{"store ignores conditions", []apitest.BlobFault{{Kind: apitest.BlobCut, After: 100_000}, {Kind: apitest.BlobChanged, IgnoreConditions: true}},
			[]string{"", "bytes=100000-", ""}},
		{"no validator", []apitest.BlobFault{{Kind: apitest.BlobCut, After: 100_000, NoValidator: true}},
			[]string{"", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t, apitest.Options{})
			c := newClient(t, fake.URL)
			id := fake.AddPatternFile("a.ifc", 300_000)
			for _, f := range tc.faults {
				f.FileID = id
				fake.InjectBlobFault(f)
			}
			got, err := c.DownloadFile(context.Background(), id, filepath.Join(t.TempDir(), "a.ifc"), wrapper.DownloadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			content, _ := os.ReadFile(got.Path)
			if !bytes.Equal(content, pattern(300_000)) {
				t.Error("content spliced from two versions")
			}
			var rs []string
			for _, r := range fake.BlobRequests() {
				rs = append(rs, r.Header.Get("Range"))
			}
			if diff := cmp.Diff(tc.want, rs); diff != "" {
				t.Errorf("Range of each blob request (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDownloadParallelNeverSplices: a range answered from another version
// (the store ignoring If-Match) makes the whole download start over.
func TestDownloadParallelNeverSplices(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	id := fake.AddPatternFile("a.ifc", 400_000)
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobChanged, IgnoreConditions: true})
	got, err := c.DownloadFile(context.Background(), id, filepath.Join(t.TempDir(), "a.ifc"), wrapper.DownloadOptions{Parallel: 2, BlockSize: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	content, _ := os.ReadFile(got.Path)
	if !bytes.Equal(content, pattern(400_000)) {
		t.Error("content spliced from two versions")
	}
	if n := len(fake.BlobRequests()); n <= 4 {
		t.Errorf("%d blob requests: no start-over", n)
	}
}

// TestDownloadGivesUpWhenBlobKeepsChanging: start-overs are bounded.
func TestDownloadGivesUpWhenBlobKeepsChanging(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	id := fake.AddPatternFile("a.ifc", 300_000)
	for range 10 {
		fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobCut, After: 100_000})
		fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobChanged})
	}
	dir := t.TempDir()
	_, err := c.DownloadFile(context.Background(), id, filepath.Join(dir, "a.ifc"), wrapper.DownloadOptions{})
	if !errors.Is(err, wrapper.ErrMalformedResponse) || !strings.Contains(err.Error(), "changed") {
		t.Errorf("err = %v, want a malformed response saying the blob changed", err)
	}
	if n := len(fake.BlobRequests()); n != 8 || len(entries(t, dir)) != 0 {
		t.Errorf("%d blob requests (want 8: 4 attempts), left behind %v", n, entries(t, dir))
	}
}

// roundTripCounter is a user's wrapping RoundTripper (tracing, metrics):
// not an *http.Transport.
type roundTripCounter struct {
	next http.RoundTripper
	mu   sync.Mutex
	hits map[string]int // by path
}

func (r *roundTripCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hits[req.URL.Path]++
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

// fakeModTime is the modification time the test servers give (none).
var fakeModTime time.Time

// TestDownloadResumesAfterCut: a transfer cut twice resumes with Range and
// If-Range and ends with exactly the blob's bytes.
func TestDownloadResumesAfterCut(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	const size = 1 << 20
	id := fake.AddPatternFile("big.ifc", size)
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobCut, After: 300_000})
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobCut, After: 200_000})
	path := filepath.Join(t.TempDir(), "out.ifc")
	got, err := c.DownloadFile(context.Background(), id, path, wrapper.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	content, _ := os.ReadFile(got.Path)
	if !bytes.Equal(content, pattern(size)) {
		t.Fatalf("content differs from the blob (%d bytes)", len(content))
	}
	blob := fake.BlobRequests()
	var ranges []string
	for _, r := range blob {
		ranges = append(ranges, r.Header.Get("Range"))
	}
	if diff := cmp.Diff([]string{"", "bytes=300000-", "bytes=500000-"}, ranges); diff != "" {
		t.Errorf("Range of each blob request (-want +got):\n%s", diff)
	}
	if blob[1].Header.Get("If-Range") == "" {
		t.Error("resume without If-Range")
	}
}

// TestDownloadGivesUpAfterMaxResumes: resumes are bounded, and the failure
// leaves nothing behind.
func TestDownloadGivesUpAfterMaxResumes(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	id := fake.AddPatternFile("big.ifc", 100_000)
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobCut, After: 10, Count: 3})
	dir := t.TempDir()
	_, err := c.DownloadFile(context.Background(), id, filepath.Join(dir, "out.ifc"), wrapper.DownloadOptions{MaxResumes: 2})
	var te *wrapper.TransportError
	if !errors.As(err, &te) {
		t.Fatalf("err = %v, want a *TransportError", err)
	}
	if n := len(fake.BlobRequests()); n != 3 {
		t.Errorf("%d blob requests, want 3 (the first and 2 resumes)", n)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
}

// TestDownloadSizeMismatch: a content longer or shorter than the metadata
// is ErrMalformedResponse, with no file under the final name and no
// temporary file left.
func TestDownloadSizeMismatch(t *testing.T) {
	for _, delta := range []int64{7, -7} {
		fake := newFake(t, apitest.Options{})
		c := newClient(t, fake.URL)
		id := fake.AddPatternFile("a.ifc", 50_000)
		fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobWrongLength, Delta: delta})
		dir := t.TempDir()
		_, err := c.DownloadFile(context.Background(), id, filepath.Join(dir, "a.ifc"), wrapper.DownloadOptions{})
		if !errors.Is(err, wrapper.ErrMalformedResponse) || !strings.Contains(err.Error(), "size mismatch") {
			t.Errorf("delta %d: err = %v, want a size mismatch (ErrMalformedResponse)", delta, err)
		}
		if names := entries(t, dir); len(names) != 0 {
			t.Errorf("delta %d: left behind %v", delta, names)
		}
	}
}
