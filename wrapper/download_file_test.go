package wrapper_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestDownloadRunOutputs: the whole flow from a completed run to an IFC
// file on disk; the blob origin never sees an Authorization header, the
// Storage API always does, and the download asks for the octet-stream type.
func TestDownloadRunOutputs(t *testing.T) {
	clock := apitest.NewManualClock(dlStart)
	fake := newFake(t, apitest.Options{Clock: clock})
	c := newClient(t, fake.URL)
	run := completedRun(t, fake, clock, c, ifcRequest())
	ids, err := wrapper.RunOutputs(run)
	if err != nil || len(ids) != 1 {
		t.Fatalf("RunOutputs = %v, %v; want one id", ids, err)
	}
	dir := t.TempDir()
	var progress [][2]int64
	files, err := c.DownloadRunOutputs(context.Background(), run, dir, wrapper.DownloadOptions{
		Progress: func(done, total int64) { progress = append(progress, [2]int64{done, total}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []wrapper.DownloadedFile{{FileID: ids[0], Path: filepath.Join(dir, "Building_A.ifc"), Size: files[0].Size}}
	if diff := cmp.Diff(want, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	content, err := os.ReadFile(want[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(content, []byte("ISO-10303-21;\n")) || !bytes.Contains(content, []byte("FILE_SCHEMA(('IFC4X3_ADD2'));")) || int64(len(content)) != files[0].Size {
		t.Errorf("file: %d bytes (metadata %d):\n%s", len(content), files[0].Size, content)
	}
	if last := progress[len(progress)-1]; last != [2]int64{files[0].Size, files[0].Size} {
		t.Errorf("last progress %v, want done = total = %d", last, files[0].Size)
	}
	if diff := cmp.Diff([]string{"Building_A.ifc"}, entries(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
	blob := fake.BlobRequests()
	if len(blob) != 1 {
		t.Fatalf("blob origin saw %d requests, want 1", len(blob))
	}
	for _, r := range blob {
		for _, h := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
			if v, ok := r.Header[h]; ok {
				t.Errorf("blob request carries %s (%d values)", h, len(v))
			}
		}
	}
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, "/storage/") && r.Header.Get("Authorization") != "Bearer "+testToken {
			t.Errorf("%s %s without the bearer token", r.Method, r.Path)
		}
		if strings.HasSuffix(r.Path, "/download") && r.Header.Get("Accept") != "application/vnd.bentley.itwin-platform.v1+octet-stream" {
			t.Errorf("download Accept = %q", r.Header.Get("Accept"))
		}
	}
}

// TestRunOutputs: the ids of a run, nothing for a run whose output went to
// the caller's container, and errors for runs without outputs to name.
func TestRunOutputs(t *testing.T) {
	clock := apitest.NewManualClock(dlStart)
	fake := newFake(t, apitest.Options{Clock: clock})
	c := newClient(t, fake.URL)
	blob := api.LocationUSERBLOBSTORAGE
	req := ifcRequest()
	req.OutputOptions = &api.ExportRunOutputOptions{Location: &blob, OutputSASURL: ptr("https://example.com/c?sv=1&sig=s")}
	run := completedRun(t, fake, clock, c, req)
	ids, err := wrapper.RunOutputs(run)
	if err != nil || ids != nil {
		t.Errorf("USER_BLOB_STORAGE run: %v, %v; want no ids and no error", ids, err)
	}
	files, err := c.DownloadRunOutputs(context.Background(), run, t.TempDir(), wrapper.DownloadOptions{})
	if err != nil || files != nil {
		t.Errorf("DownloadRunOutputs of a USER_BLOB_STORAGE run: %v, %v; want nothing and no error", files, err)
	}
	active := api.ExecutionStateExecuting
	if _, err := wrapper.RunOutputs(&api.ExportRun{State: active}); !errors.Is(err, wrapper.ErrValidation) {
		t.Errorf("active run: %v, want ErrValidation", err)
	}
	done, failed := api.ExecutionStateCompleted, api.ExecutionResultError
	if _, err := wrapper.RunOutputs(&api.ExportRun{State: done, Result: failed}); !errors.Is(err, wrapper.ErrRunFailed) {
		t.Errorf("failed run: %v, want ErrRunFailed", err)
	}
	two := api.ExecutionResultSuccess
	tasks := []api.ExportTask{{ExportOutputFileID: "a"}, {ExportOutputFileID: "b"}, {ExportOutputFileID: "a"}, {}}
	ids, err = wrapper.RunOutputs(&api.ExportRun{State: done, Result: two, Jobs: []api.ExportJob{{Tasks: tasks}}})
	if diff := cmp.Diff([]string{"a", "b"}, ids); diff != "" || err != nil {
		t.Errorf("ids (-want +got), err %v:\n%s", err, diff)
	}
}

// TestDownloadKeepsExistingFile: an existing file is kept and nothing is
// fetched without Overwrite; with it, the file is replaced.
func TestDownloadKeepsExistingFile(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	id := fake.AddFile("a.ifc", []byte("new content"))
	dir := t.TempDir()
	path := filepath.Join(dir, "a.ifc")
	if err := os.WriteFile(path, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, into := range []bool{false, true} {
		var err error
		if into {
			_, err = c.DownloadFileInto(context.Background(), id, dir, wrapper.DownloadOptions{})
		} else {
			_, err = c.DownloadFile(context.Background(), id, path, wrapper.DownloadOptions{})
		}
		if !errors.Is(err, wrapper.ErrFileExists) {
			t.Errorf("into %t: err = %v, want ErrFileExists", into, err)
		}
	}
	if b, _ := os.ReadFile(path); string(b) != "mine" || len(fake.BlobRequests()) != 0 {
		t.Errorf("file now %q after %d blob requests; want it kept and nothing fetched", b, len(fake.BlobRequests()))
	}
	if _, err := c.DownloadFile(context.Background(), id, path, wrapper.DownloadOptions{Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new content" {
		t.Errorf("with Overwrite: %q", b)
	}
	if diff := cmp.Diff([]string{"a.ifc"}, entries(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}

// TestDownloadNameStaysInDirectory: a hostile displayName lands inside the
// chosen directory under a plain name.
func TestDownloadNameStaysInDirectory(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	id := fake.AddFile("../../x.ifc", []byte("x"))
	got, err := c.DownloadFileInto(context.Background(), id, dir, wrapper.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Path != filepath.Join(dir, "x.ifc") {
		t.Errorf("path %q, want %q", got.Path, filepath.Join(dir, "x.ifc"))
	}
	if names := entries(t, root); len(names) != 1 || names[0] != "a" {
		t.Errorf("outside the directory: %v", names)
	}
}

// TestSafeFileName pins the rules of local names.
func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"BuildingA.ifc":                   "BuildingA.ifc",
		"../../x.ifc":                     "x.ifc",
		`..\..\x.ifc`:                     "x.ifc",
		"/etc/passwd":                     "passwd",
		"..":                              "id-1",
		"":                                "id-1",
		"a/":                              "id-1",
		"bad\x00\x1b[31mname.ifc":         "bad[31mname.ifc",
		"evil\u202egpj.ifc":               "evilgpj.ifc",
		`a<b>c:d"e|f?g*h.ifc`:             "a_b_c_d_e_f_g_h.ifc",
		" .hidden.ifc. ":                  "hidden.ifc",
		strings.Repeat("é", 300) + ".ifc": strings.Repeat("é", 98) + ".ifc",
	} {
		if got := wrapper.SafeFileName(in, "id-1"); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := wrapper.SafeFileName("..", "../.."); got != "download" {
		t.Errorf("unsafe fallback: %q", got)
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
