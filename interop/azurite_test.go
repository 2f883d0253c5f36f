//go:build interop

package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/itwin-export/itwin-export/wrapper"
)

// blob is one blob setup.mjs uploaded: its size and SAS URLs.
type blob struct {
	Size    int    `json:"size"`
	Read    string `json:"read"`
	Expired string `json:"expired"`
	Write   string `json:"write"`
}

// pattern is a blob's content, as setup.mjs makes it.
func pattern(size, version int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7 + i>>11 + version*13)
	}
	return b
}

func loadBlobs(t *testing.T) map[string]blob {
	t.Helper()
	path := os.Getenv("ITWIN_INTEROP_BLOBS")
	if path == "" {
		t.Fatal("ITWIN_INTEROP_BLOBS is not set: run make interop")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blobs map[string]blob
	if err := json.Unmarshal(data, &blobs); err != nil {
		t.Fatal(err)
	}
	return blobs
}

// seenRequest is what the proxy saw of a blob request.
type seenRequest struct {
	Auth, Range, IfMatch string
	Status               int
}

// proxy stands between the client and Azurite: it records each request and
// can cut or corrupt the first answer.
type proxy struct {
	*httptest.Server
	target *url.URL
	mu     sync.Mutex
	seen   []seenRequest
	// cutAfter > 0 cuts the first answer's body after that many bytes;
	// onCut runs then, before the connection closes.
	cutAfter int64
	onCut    func()
	// flipAt > 0 flips one bit of the first answer's body byte at it.
	flipAt int64
	used   bool
}

func newProxy(t *testing.T, azurite string) *proxy {
	t.Helper()
	u, _ := url.Parse(azurite)
	p := &proxy{target: &url.URL{Scheme: u.Scheme, Host: u.Host}}
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		out := r.Clone(r.Context())
		out.RequestURI = ""
		out.URL.Scheme, out.URL.Host, out.Host = p.target.Scheme, p.target.Host, p.target.Host
		resp, err := transport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		p.mu.Lock()
		p.seen = append(p.seen, seenRequest{r.Header.Get("Authorization"), r.Header.Get("Range"), r.Header.Get("If-Match"), resp.StatusCode})
		first := !p.used && resp.StatusCode < 300
		if first {
			p.used = true
		}
		cut, flip, onCut := p.cutAfter, p.flipAt, p.onCut
		p.mu.Unlock()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		switch {
		case first && cut > 0:
			_, _ = io.CopyN(w, resp.Body, cut)
			_ = http.NewResponseController(w).Flush()
			if onCut != nil {
				onCut()
			}
			panic(http.ErrAbortHandler)
		case first && flip > 0:
			_, _ = io.CopyN(w, resp.Body, flip)
			var one [1]byte
			if n, _ := resp.Body.Read(one[:]); n == 1 {
				one[0] ^= 0x10
				_, _ = w.Write(one[:])
			}
		}
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *proxy) requests() []seenRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seenRequest(nil), p.seen...)
}

// storage is a Storage API whose one file's /download answers with the
// links of links in turn (the last one again when they run out), moved onto
// the proxy.
func storage(t *testing.T, b blob, p *proxy, links ...string) (*httptest.Server, *int) {
	t.Helper()
	var mu sync.Mutex
	calls := 0
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer interop-token" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/storage/files/f1":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"file":{"id":"f1","displayName":"f.ifc","size":%d}}`, b.Size)
		case "/storage/files/f1/download":
			mu.Lock()
			link := links[min(calls, len(links)-1)]
			calls++
			mu.Unlock()
			u, _ := url.Parse(link)
			u.Scheme, u.Host = "http", strings.TrimPrefix(p.URL, "http://")
			w.Header().Set("Location", u.String())
			w.WriteHeader(http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s, &calls
}

func client(t *testing.T, api *httptest.Server) *wrapper.Client {
	t.Helper()
	transport := &http.Transport{}
	t.Cleanup(transport.CloseIdleConnections)
	c, err := wrapper.New(wrapper.Options{BaseURL: api.URL + "/export", TokenSource: wrapper.StaticToken("interop-token"),
		HTTPClient: &http.Client{Transport: transport}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAzuriteParallel: a 20 MiB blob comes as parallel ranges of 1 MiB,
// those after the first answer under If-Match, identical, with no Authorization at the blob, its MD5 checked.
func TestAzuriteParallel(t *testing.T) {
	b := loadBlobs(t)["big.ifc"]
	p := newProxy(t, b.Read)
	api, _ := storage(t, b, p, b.Read)
	got, err := client(t, api).DownloadFile(context.Background(), "f1", filepath.Join(t.TempDir(), "f.ifc"), wrapper.DownloadOptions{BlockSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(got.Path)
	if !bytes.Equal(data, pattern(b.Size, 0)) {
		t.Error("content differs from the blob")
	}
	ranges, ifMatch := 0, 0
	for _, r := range p.requests() {
		if r.Auth != "" {
			t.Error("Authorization reached the blob")
		}
		if r.Status != http.StatusPartialContent {
			t.Errorf("status %d to %q", r.Status, r.Range)
		}
		if r.Range != "" {
			ranges++
		}
		if r.IfMatch != "" {
			ifMatch++
		}
	}
	if ranges != 20 || ifMatch < 12 {
		t.Errorf("%d ranged requests (want 20), %d under If-Match (want those after the first 8 at least)", ranges, ifMatch)
	}
}

// TestAzuriteResumeAfterCut: a stream cut by the proxy resumes with Range
// and If-Match; the bytes are the blob's.
func TestAzuriteResumeAfterCut(t *testing.T) {
	b := loadBlobs(t)["small.ifc"]
	p := newProxy(t, b.Read)
	p.cutAfter = 100_000
	api, _ := storage(t, b, p, b.Read)
	got, err := client(t, api).DownloadFile(context.Background(), "f1", filepath.Join(t.TempDir(), "f.ifc"), wrapper.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(got.Path)
	seen := p.requests()
	if !bytes.Equal(data, pattern(b.Size, 0)) || len(seen) != 2 || seen[1].Range != "bytes=100000-" || seen[1].IfMatch == "" || seen[1].Status != http.StatusPartialContent {
		t.Errorf("identical %v; requests %+v", bytes.Equal(data, pattern(b.Size, 0)), seen)
	}
}

// TestAzuriteReplacedDuringCut: the blob replaced between a cut and its
// resume answers 412 to If-Match; the download starts over and holds the
// new version only.
func TestAzuriteReplacedDuringCut(t *testing.T) {
	b := loadBlobs(t)["small.ifc"]
	p := newProxy(t, b.Read)
	p.cutAfter = 100_000
	p.onCut = func() {
		req, _ := http.NewRequest(http.MethodPut, b.Write, bytes.NewReader(pattern(b.Size, 1)))
		req.Header.Set("x-ms-blob-type", "BlockBlob")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Errorf("replacing the blob: %v %v", resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
	api, _ := storage(t, b, p, b.Read)
	got, err := client(t, api).DownloadFile(context.Background(), "f1", filepath.Join(t.TempDir(), "f.ifc"), wrapper.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(got.Path)
	seen := p.requests()
	if !bytes.Equal(data, pattern(b.Size, 1)) || len(seen) != 3 || seen[1].Status != http.StatusPreconditionFailed {
		t.Errorf("the new version only: %v; requests %+v", bytes.Equal(data, pattern(b.Size, 1)), seen)
	}
}

// TestAzuriteCorruption: a byte flipped by the proxy is a checksum
// mismatch against the blob's MD5; no file is left.
func TestAzuriteCorruption(t *testing.T) {
	for _, name := range []string{"small.ifc", "big.ifc"} {
		b := loadBlobs(t)[name]
		p := newProxy(t, b.Read)
		p.flipAt = 5000
		api, _ := storage(t, b, p, b.Read)
		dir := t.TempDir()
		_, err := client(t, api).DownloadFile(context.Background(), "f1", filepath.Join(dir, "f.ifc"), wrapper.DownloadOptions{})
		if !errors.Is(err, wrapper.ErrChecksumMismatch) {
			t.Errorf("%s: err = %v, want a checksum mismatch", name, err)
		}
		if es, _ := os.ReadDir(dir); len(es) != 0 {
			t.Errorf("%s: left behind %v", name, es)
		}
	}
}

// TestAzuriteExpiredSAS: an expired SAS (403) asks for a fresh link once;
// two expired links end the download with the signature redacted.
func TestAzuriteExpiredSAS(t *testing.T) {
	b := loadBlobs(t)["small.ifc"]
	p := newProxy(t, b.Read)
	api, calls := storage(t, b, p, b.Expired, b.Read)
	if _, err := client(t, api).DownloadFile(context.Background(), "f1", filepath.Join(t.TempDir(), "f.ifc"), wrapper.DownloadOptions{}); err != nil || *calls != 2 {
		t.Errorf("after one expired link: %v, %d links asked (want 2)", err, *calls)
	}
	api, calls = storage(t, b, p, b.Expired)
	_, err := client(t, api).DownloadFile(context.Background(), "f1", filepath.Join(t.TempDir(), "f.ifc"), wrapper.DownloadOptions{})
	u, _ := url.Parse(b.Expired)
	sig := u.Query().Get("sig")
	if !errors.Is(err, wrapper.ErrForbidden) || *calls != 2 || strings.Contains(err.Error(), sig) || strings.Contains(err.Error(), url.QueryEscape(sig)) {
		t.Errorf("two expired links: %v after %d links (want ErrForbidden after 2, no signature)", err, *calls)
	}
}
