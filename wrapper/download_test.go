package wrapper_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// dlStart is when the ManualClocks of the download tests begin.
var dlStart = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

// completedRun makes a run on the fake with req and steps it to Completed.
func completedRun(t *testing.T, fake *apitest.Server, clock *apitest.ManualClock, c *wrapper.Client, req api.ExportConnectionRunCreate) *api.ExportRun {
	t.Helper()
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "Building A"})
	ref, err := c.CreateRun(context.Background(), conn.ID, req)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)
	run, err := c.GetRun(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// pattern is what a file added with AddPatternFile holds.
func pattern(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = apitest.PatternByte(int64(i))
	}
	return b
}

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestStorageURL: derived beside the Export API, explicit when set, and
// never off the API's origin, where the token may not go.
func TestStorageURL(t *testing.T) {
	for base, want := range map[string]string{
		"":                                   "https://api.bentley.com/storage",
		"https://api.bentley.com/export":     "https://api.bentley.com/storage",
		"http://127.0.0.1:8080/export/":      "http://127.0.0.1:8080/storage",
		"https://proxy.example.com/a/export": "https://proxy.example.com/a/storage",
	} {
		c, err := wrapper.New(wrapper.Options{BaseURL: base, TokenSource: wrapper.StaticToken("t")})
		if err != nil || c.StorageURL() != want {
			t.Errorf("base %q: storage %q, %v; want %q", base, c.StorageURL(), err, want)
		}
	}
	c, err := wrapper.New(wrapper.Options{BaseURL: "https://api.example.com/v1", TokenSource: wrapper.StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetFile(context.Background(), "f1"); !errors.Is(err, wrapper.ErrForeignLocation) || !strings.Contains(err.Error(), "StorageURL") {
		t.Errorf("derived storage URL on another host: %v, want ErrForeignLocation naming the option", err)
	}
	_, err = wrapper.New(wrapper.Options{BaseURL: "https://api.example.com/export", StorageURL: "https://other.example.com/storage", TokenSource: wrapper.StaticToken("t")})
	if !errors.Is(err, wrapper.ErrForeignLocation) {
		t.Errorf("explicit foreign storage URL: %v", err)
	}
	c, err = wrapper.New(wrapper.Options{BaseURL: "https://api.example.com/v1", StorageURL: "https://api.example.com/files-api/", TokenSource: wrapper.StaticToken("t")})
	if err != nil || c.StorageURL() != "https://api.example.com/files-api" {
		t.Errorf("explicit storage URL: %v, %v", c, err)
	}
}

// TestDownloadNotFound: an unknown file is ErrNotFound with the Storage
// API's code, from the metadata or from /download.
func TestDownloadNotFound(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	dir := t.TempDir()
	_, err := c.DownloadFileInto(context.Background(), "no-such-file", dir, wrapper.DownloadOptions{})
	var apiErr *wrapper.APIError
	if !errors.Is(err, wrapper.ErrNotFound) || !errors.As(err, &apiErr) || apiErr.Code != "FileNotFound" {
		t.Errorf("metadata: err = %v, want ErrNotFound with code FileNotFound", err)
	}
	id := fake.AddFile("a.ifc", []byte("a"))
	fake.InjectFault(apitest.Fault{Path: "/storage/files/*/download", Status: http.StatusNotFound})
	_, err = c.DownloadFileInto(context.Background(), id, dir, wrapper.DownloadOptions{})
	if !errors.Is(err, wrapper.ErrNotFound) || !errors.As(err, &apiErr) || apiErr.Operation != "downloadFile" {
		t.Errorf("/download: err = %v, want ErrNotFound from downloadFile", err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
}

// TestDownloadRefusesInsecureLink: a Location over plain http to a host
// that is not loopback is refused before any connection to it, and its
// signature is in no error.
func TestDownloadRefusesInsecureLink(t *testing.T) {
	const secret = "s3cr3tS1gnatur3"
	for _, loc := range []string{
		"http://blob.example.com/c/a.ifc?sv=1&sig=" + secret,
		"ftp://blob.example.com/c/a.ifc?sig=" + secret,
		"https://user:pw@blob.example.com/c/a.ifc?sig=" + secret,
	} {
		storage := newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/download") {
				w.Header().Set("Location", loc)
				w.WriteHeader(http.StatusFound)
				return
			}
			writeJSON(w, http.StatusOK, `{"file":{"id":"f1","displayName":"a.ifc","size":3}}`)
		})
		// Every dial is recorded; only the loopback server is really dialed,
		// so that a broken check cannot reach the network.
		host := strings.TrimPrefix(storage.URL, "http://")
		var mu sync.Mutex
		var dialed []string
		transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, addr)
			mu.Unlock()
			if addr != host {
				return nil, errors.New("test transport: dialing beyond loopback refused")
			}
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
		c := newClient(t, storage.base(), func(o *wrapper.Options) { o.HTTPClient = &http.Client{Transport: transport} })
		dir := t.TempDir()
		_, err := c.DownloadFileInto(context.Background(), "f1", dir, wrapper.DownloadOptions{})
		transport.CloseIdleConnections()
		wantErr := wrapper.ErrInsecureLink
		if strings.Contains(loc, "user:pw") {
			wantErr = wrapper.ErrForeignLocation
		}
		if !errors.Is(err, wantErr) || strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), ":pw@") {
			t.Errorf("%s: err = %v, want %v without the signature", c.Redact(loc), err, wantErr)
		}
		for _, addr := range dialed {
			if addr != host {
				t.Errorf("dialed %s", addr)
			}
		}
		if names := entries(t, dir); len(names) != 0 {
			t.Errorf("left behind: %v", names)
		}
	}
}
