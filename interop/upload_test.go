//go:build interop

package interop

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/itwin-export/itwin-export/wrapper"
)

// uploadAPI is a Storage API for one upload: createFile in folder F answers
// the write SAS of b moved onto the proxy, and completeFileUpload (counted)
// answers file u1 of size bytes.
func uploadAPI(t *testing.T, b blob, p *proxy, name string, size int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var completed atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer interop-token" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/storage/folders/F/files":
			u, _ := url.Parse(b.Write)
			u.Scheme, u.Host = "http", strings.TrimPrefix(p.URL, "http://")
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, `{"_links":{"uploadUrl":{"href":%q},"completeUrl":{"href":"/storage/files/u1/complete"}}}`, u.String())
		case r.Method == http.MethodPost && r.URL.Path == "/storage/files/u1/complete":
			completed.Add(1)
			fmt.Fprintf(w, `{"file":{"id":"u1","displayName":%q,"size":%d}}`, name, size)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s, &completed
}

// blobContent reads a blob straight from Azurite with its read SAS.
func blobContent(t *testing.T, b blob) []byte {
	t.Helper()
	resp, err := http.Get(b.Read)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reading the blob: %d %v", resp.StatusCode, err)
	}
	return data
}

// checkPuts fails the test unless the proxy saw n requests, each answered
// 201 Created and none carrying Authorization.
func checkPuts(t *testing.T, p *proxy, n int) {
	t.Helper()
	seen := p.requests()
	if len(seen) != n {
		t.Errorf("%d blob requests, want %d", len(seen), n)
	}
	for _, r := range seen {
		if r.Auth != "" {
			t.Error("Authorization reached the blob")
		}
		if r.Status != http.StatusCreated {
			t.Errorf("blob answered %d, want 201", r.Status)
		}
	}
}

// TestAzuriteUploadCommand: `itwin-export upload my-mapping.json --folder F`
// (the built command) against a Storage API whose upload link is an
// Azurite write SAS: it prints the file id, completes the upload, the one
// PUT carries no Authorization, and the blob holds the file's bytes.
func TestAzuriteUploadCommand(t *testing.T) {
	b := loadBlobs(t)["upload-single.json"]
	p := newProxy(t, b.Write)
	content := []byte(`{"mappings":[{"class":"BisCore:Element","ifc":"IfcBuildingElementProxy"}]}`)
	api, completed := uploadAPI(t, b, p, "my-mapping.json", len(content))
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "my-mapping.json"), content, 0o600); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "itwin-export")
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	if out, err := exec.Command(goCmd, "build", "-o", bin, "../cmd/itwin-export").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "upload", "my-mapping.json", "--folder", "F")
	cmd.Dir = dir
	cmd.Env = []string{"ITWIN_API_URL=" + api.URL + "/export", "ITWIN_ACCESS_TOKEN=interop-token", "HOME=" + dir}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("upload: %v\n%s", err, stderr.String())
	}
	if stdout.String() != "u1\n" || completed.Load() != 1 {
		t.Errorf("stdout %q, %d completions: want the file id and one completion", stdout.String(), completed.Load())
	}
	checkPuts(t, p, 1)
	if got := blobContent(t, b); !bytes.Equal(got, content) {
		t.Errorf("Azurite holds %q, want %q", got, content)
	}
}

// TestAzuriteUploadBlocks: above the single PUT limit the content goes as
// blocks sent in parallel and a block list; Azurite's committed block list
// has every block, and the blob holds the file's bytes.
func TestAzuriteUploadBlocks(t *testing.T) {
	b := loadBlobs(t)["upload-blocks.bin"]
	p := newProxy(t, b.Write)
	content := pattern(5<<20+12345, 2)
	api, completed := uploadAPI(t, b, p, "big.bin", len(content))
	path := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	file, err := client(t, api).UploadFile(context.Background(), "F", path,
		wrapper.UploadOptions{SinglePutLimit: 1 << 20, BlockSize: 1 << 20, Parallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	if file.ID != "u1" || completed.Load() != 1 {
		t.Errorf("file %+v after %d completions", file, completed.Load())
	}
	checkPuts(t, p, 6+1) // six blocks, one block list
	if got := blobContent(t, b); !bytes.Equal(got, content) {
		t.Error("Azurite does not hold the file's bytes")
	}
	resp, err := http.Get(b.Read + "&comp=blocklist&blocklisttype=committed")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Committed []struct {
			Size int64 `xml:"Size"`
		} `xml:"CommittedBlocks>Block"`
	}
	if err := xml.NewDecoder(resp.Body).Decode(&list); err != nil || len(list.Committed) != 6 {
		t.Errorf("committed blocks %+v (%v), want 6", list.Committed, err)
	}
}
