package wrapper_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
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

// TestDownloadIntoCharDevice: /dev/null is written into without Overwrite,
// and a corrupted stream into it is still a checksum mismatch.
func TestDownloadIntoCharDevice(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	id := fake.AddPatternFile("a.ifc", 100_000)
	got, err := c.DownloadFile(context.Background(), id, os.DevNull, wrapper.DownloadOptions{})
	if err != nil || got.Path != os.DevNull || got.Size != 100_000 {
		t.Fatalf("got %+v, %v", got, err)
	}
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobCorrupt, After: 10})
	if _, err := c.DownloadFile(context.Background(), id, os.DevNull, wrapper.DownloadOptions{}); !errors.Is(err, wrapper.ErrChecksumMismatch) {
		t.Errorf("corrupted into /dev/null: %v", err)
	}
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobCut, After: 10})
	if _, err := c.DownloadFile(context.Background(), id, os.DevNull, wrapper.DownloadOptions{}); err == nil {
		t.Error("a cut stream into a device was resumed")
	}
	if st, err := os.Lstat(os.DevNull); err != nil || st.Mode()&fs.ModeCharDevice == 0 {
		t.Fatalf("%s is no longer a device: %v %v", os.DevNull, st.Mode(), err)
	}
}

// TestDownloadFileMode: the final file's mode is 0666 minus the umask, as a
// file the process creates with 0666 gets.
func TestDownloadFileMode(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	id := fake.AddPatternFile("a.ifc", 1000)
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	f, err := os.OpenFile(probe, os.O_CREATE|os.O_WRONLY, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	want, _ := os.Stat(probe)
	for _, opts := range []wrapper.DownloadOptions{{}, {Overwrite: true}} {
		got, err := c.DownloadFile(context.Background(), id, filepath.Join(dir, "a.ifc"), opts)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := os.Stat(got.Path)
		if st.Mode().Perm() != want.Mode().Perm() {
			t.Errorf("mode %v, want %v (0666 minus the umask)", st.Mode().Perm(), want.Mode().Perm())
		}
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

// TestDownloadUserTransport: a blob behind a private CA is downloaded with
// the user's wrapping transport given as Options.BlobTransport, which sees
// the blob request; the blob request carries no Authorization. Without it,
// a transport that is not an *http.Transport is not used for the blob (it
// could add credentials): the private CA is unknown there.
func TestDownloadUserTransport(t *testing.T) {
	content := pattern(300_000)
	var sawAuth bool
	var mu sync.Mutex
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/storage/files/f1":
			writeJSON(w, http.StatusOK, `{"file":{"id":"f1","displayName":"f.ifc","size":300000}}`)
		case "/storage/files/f1/download":
			w.Header().Set("Location", "/blob/f1?sv=2024-08-04&sig=c2VjcmV0")
			w.WriteHeader(http.StatusFound)
		case "/blob/f1":
			mu.Lock()
			sawAuth = sawAuth || r.Header.Get("Authorization") != ""
			mu.Unlock()
			w.Header().Set("ETag", `"v1"`)
			http.ServeContent(w, r, "", fakeModTime, bytes.NewReader(content))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	private := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	defer private.CloseIdleConnections()
	wrapped := &roundTripCounter{next: private, hits: map[string]int{}}

	c := newClient(t, srv.URL+"/export", func(o *wrapper.Options) {
		o.HTTPClient = &http.Client{Transport: wrapped}
		o.BlobTransport = wrapped
	})
	got, err := c.DownloadFile(context.Background(), "f1", filepath.Join(t.TempDir(), "f.ifc"), wrapper.DownloadOptions{Parallel: 2, BlockSize: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(got.Path)
	if !bytes.Equal(data, content) || wrapped.hits["/blob/f1"] != 3 || sawAuth {
		t.Errorf("identical %v, %d blob requests through the user's transport (want 3), Authorization at the blob %v",
			bytes.Equal(data, content), wrapped.hits["/blob/f1"], sawAuth)
	}

	plain := newClient(t, srv.URL+"/export", func(o *wrapper.Options) { o.HTTPClient = &http.Client{Transport: wrapped} })
	_, err = plain.DownloadFile(context.Background(), "f1", filepath.Join(t.TempDir(), "f.ifc"), wrapper.DownloadOptions{})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("without BlobTransport: %v, want the default transport's unknown authority", err)
	}
}

// fakeModTime is the modification time the test servers give (none).
var fakeModTime time.Time
