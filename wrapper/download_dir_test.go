package wrapper_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestDownloadCreatesAMissingDirectory: DownloadRunOutputs and
// DownloadFileInto create a missing directory with its parents; a path
// that is a file is a *ValidationError naming the directory, nothing
// fetched from the blob origin.
func TestDownloadCreatesAMissingDirectory(t *testing.T) {
	clock := apitest.NewManualClock(dlStart)
	fake := newFake(t, apitest.Options{Clock: clock})
	c := newClient(t, fake.URL)
	run := completedRun(t, fake, clock, c, ifcRequest())
	dir := filepath.Join(t.TempDir(), "exports", "today")
	files, err := c.DownloadRunOutputs(context.Background(), run, dir, wrapper.DownloadOptions{})
	if err != nil || len(files) != 1 || files[0].Path != filepath.Join(dir, "Building_A.ifc") {
		t.Fatalf("DownloadRunOutputs into a missing directory = %+v, %v; want Building_A.ifc in it", files, err)
	}
	if diff := cmp.Diff([]string{"Building_A.ifc"}, entries(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
	into := filepath.Join(t.TempDir(), "new")
	f, err := c.DownloadFileInto(context.Background(), files[0].FileID, into, wrapper.DownloadOptions{})
	if err != nil || f.Path != filepath.Join(into, "Building_A.ifc") {
		t.Fatalf("DownloadFileInto a missing directory = %+v, %v", f, err)
	}
	blobs := len(fake.BlobRequests())
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	_, err = c.DownloadFileInto(context.Background(), files[0].FileID, notDir, wrapper.DownloadOptions{})
	var ve *wrapper.ValidationError
	if !errors.As(err, &ve) || ve.Problems[0].Field != "dir" || len(fake.BlobRequests()) != blobs {
		t.Fatalf("DownloadFileInto a file = %v (blob requests %d, before %d); want a ValidationError about dir and no transfer", err, len(fake.BlobRequests()), blobs)
	}
}

// TestPrepareDownloadDir: missing directories are created with their
// parents; a file, or a path under a file, is refused naming the problem.
func TestPrepareDownloadDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := wrapper.PrepareDownloadDir(filepath.Join(base, "a", "b")); err != nil {
		t.Fatalf("missing directory: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(base, "a", "b")); err != nil || !fi.IsDir() {
		t.Fatalf("not created: %v", err)
	}
	if diff := cmp.Diff([]string(nil), entries(t, filepath.Join(base, "a", "b"))); diff != "" {
		t.Errorf("the check left something behind (-want +got):\n%s", diff)
	}
	for _, dir := range []string{file, filepath.Join(file, "sub")} {
		err := wrapper.PrepareDownloadDir(dir)
		var ve *wrapper.ValidationError
		if !errors.As(err, &ve) || ve.Problems[0].Field != "dir" {
			t.Errorf("PrepareDownloadDir(%s) = %v, want a ValidationError about dir", dir, err)
		}
	}
}
