package wrapper_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
