package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/itwin-export/itwin-export/apitest"
)

// onlyFile is the one file in dir, read; the test fails unless there is
// exactly one (no temporary file beside it).
func onlyFile(t *testing.T, dir string) (path string, content []byte) {
	t.Helper()
	names := dirEntries(t, dir)
	if len(names) != 1 {
		t.Fatalf("%s holds %v, want one file", dir, names)
	}
	path = filepath.Join(dir, names[0])
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, content
}

// noAuthorizationOnBlobs fails the test unless the blob origin received
// want requests, none with an Authorization header.
func noAuthorizationOnBlobs(t *testing.T, s *apitest.Server, want int) {
	t.Helper()
	blobs := s.BlobRequests()
	if len(blobs) != want {
		t.Errorf("%d requests to the blob origin, want %d", len(blobs), want)
	}
	for _, req := range blobs {
		if req.Header.Get("Authorization") != "" {
			t.Error("the blob origin saw an Authorization header")
		}
	}
}

// TestRunWaitDownload: run --wait --download DIR puts the IFC file of the
// run in DIR; stdout is the summary, then the path written, one line; the
// blob origin saw no Authorization header.
func TestRunWaitDownload(t *testing.T) {
	t.Parallel()
	s, advance := steppedFake(t)
	conn := addConnection(t, s)
	dir := t.TempDir()
	r := runWatched(t, context.Background(), envFor(s.URL), advance,
		"run", "--connection", conn, "--wait", "--poll-interval", "1ms", "--download", dir)
	wantCode(t, r, exitOK)
	path, content := onlyFile(t, dir)
	if !bytes.HasPrefix(content, []byte("ISO-10303-21;\n")) {
		t.Errorf("%s is not an IFC file:\n%s", path, content)
	}
	summary, last, _ := strings.Cut(strings.TrimSuffix(r.stdout, "\n"), "\noutput file: ")
	if !strings.Contains(summary, "result:      Success") || !strings.HasSuffix(last, "\n"+path) {
		t.Errorf("stdout is not the summary then the path %s:\n%s", path, r.stdout)
	}
	if strings.Count(r.stdout, path) != 1 || !strings.Contains(r.stderr, "downloaded 100%") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	noAuthorizationOnBlobs(t, s, 1)
}

// TestStatusWaitDownloadJSON: status LOCATION --wait --download DIR --json
// writes the run object, then the file object; the file is in DIR.
func TestStatusWaitDownloadJSON(t *testing.T) {
	t.Parallel()
	s, advance := steppedFake(t)
	ref, err := newClient(t, s.URL).CreateRun(context.Background(), addConnection(t, s), wrapperRequest())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r := runWatched(t, context.Background(), envFor(s.URL), advance,
		"status", ref.Location, "--wait", "--poll-interval", "1ms", "--download", dir, "--json")
	wantCode(t, r, exitOK)
	path, content := onlyFile(t, dir)
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	var run, file map[string]any
	if err := dec.Decode(&run); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	if err := dec.Decode(&file); err != nil || dec.More() {
		t.Fatalf("%v: want exactly the run and one file object:\n%s", err, r.stdout)
	}
	if run["result"] != "Success" {
		t.Errorf("run object %v", run)
	}
	want := map[string]any{"fileId": file["fileId"], "path": path, "size": float64(len(content))}
	if d := diff(want, file); d != "" || file["fileId"] == "" {
		t.Errorf("file object (-want +got):\n%s", d)
	}
	noAuthorizationOnBlobs(t, s, 1)
}

// TestDownloadNeedsWait: --download without --wait is a usage error and
// sends nothing; so is --download with several connections.
func TestDownloadNeedsWait(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts())
	loc := runLocation(s, "c1", "r1")
	for _, args := range [][]string{
		{"run", "--connection", "c1", "--download", t.TempDir()},
		{"status", loc, "--download", t.TempDir()},
		{"run", "--connection", "c1", "--connection", "c2", "--wait", "--download", t.TempDir()},
	} {
		r := runIn(t, envFor(s.URL), args...)
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, "--download") || r.stdout != "" {
			t.Errorf("%q: stdout %q, stderr:\n%s", args, r.stdout, r.stderr)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

// TestRunWaitDownloadUserBlob: a run whose output went to the user's blob
// container has nothing to download: stderr says where it went, exit 0,
// nothing written, nothing fetched, the SAS signature not shown.
func TestRunWaitDownloadUserBlob(t *testing.T) {
	t.Parallel()
	s, advance := steppedFake(t)
	dir := t.TempDir()
	const sig = "c2lnLXNlY3JldC0wMTIz"
	r := runWatched(t, context.Background(), envFor(s.URL), advance,
		"run", "--connection", addConnection(t, s), "--location", "USER_BLOB_STORAGE",
		"--output-sas-url", "https://acct.blob.core.windows.net/c?sv=2024&sig="+sig,
		"--wait", "--poll-interval", "1ms", "--download", dir)
	wantCode(t, r, exitOK)
	if !strings.Contains(r.stderr, "nothing to download") || !strings.Contains(r.stderr, "USER_BLOB_STORAGE") {
		t.Errorf("stderr does not say where the output went:\n%s", r.stderr)
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("written: %v", names)
	}
	if strings.Contains(r.stdout+r.stderr, sig) {
		t.Error("the SAS signature appears in the output")
	}
	noAuthorizationOnBlobs(t, s, 0)
}

// TestRunWaitDownloadOnlyOnSuccess: a run completed with PartialSuccess or
// Error exits 3 and downloads nothing.
func TestRunWaitDownloadOnlyOnSuccess(t *testing.T) {
	t.Parallel()
	for _, o := range []apitest.Outcome{apitest.OutcomePartialSuccess, apitest.OutcomeError} {
		s, advance := steppedFake(t)
		conn := addConnection(t, s)
		s.SetOutcome(conn, o)
		dir := t.TempDir()
		r := runWatched(t, context.Background(), envFor(s.URL), advance,
			"run", "--connection", conn, "--wait", "--poll-interval", "1ms", "--download", dir)
		wantCode(t, r, exitRunFail)
		if names := dirEntries(t, dir); len(names) != 0 || len(s.BlobRequests()) != 0 {
			t.Errorf("outcome %v: written %v after %d blob requests", o, names, len(s.BlobRequests()))
		}
	}
}

// TestInterruptedDownload: a signal during a transfer exits 130 (SIGINT) or
// 143 (SIGTERM) and leaves nothing in the directory, no temporary file.
func TestInterruptedDownload(t *testing.T) {
	t.Parallel()
	for sig, code := range map[syscall.Signal]int{syscall.SIGINT: exitInterrupt, syscall.SIGTERM: exitTerminate} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			s := newFake(t, apitest.Options{})
			id := s.AddPatternFile("big.ifc", 1_000_000)
			// The transfer stops moving halfway, until the client goes
			// away: the signal comes while the first progress line shows,
			// before the transfer can end.
			s.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobStall, After: 500_000})
			dir := t.TempDir()
			ctx, watch := interruptOn(sig, "downloaded ")
			r := runWatched(t, ctx, envFor(s.URL), watch, "download", id, "--dir", dir)
			wantCode(t, r, code)
			if names := dirEntries(t, dir); len(names) != 0 {
				t.Errorf("left behind: %v", names)
			}
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
		})
	}
}

// TestRunWaitDownloadKeepsExistingFile: a second export of the iModel into
// the same DIR finds its file there: exit 2, the first file kept, and the
// error says what to do (there is no --force on run).
func TestRunWaitDownloadKeepsExistingFile(t *testing.T) {
	t.Parallel()
	s, advance := steppedFake(t)
	conn := addConnection(t, s)
	dir := t.TempDir()
	args := []string{"run", "--connection", conn, "--wait", "--poll-interval", "1ms", "--download", dir}
	wantCode(t, runWatched(t, context.Background(), envFor(s.URL), advance, args...), exitOK)
	path, first := onlyFile(t, dir)
	r := runWatched(t, context.Background(), envFor(s.URL), advance, args...)
	wantCode(t, r, exitUsage)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	last := lines[len(lines)-1]
	for _, part := range []string{"itwin-export: file exists", path, "nothing was written", "another --download DIR"} {
		if !strings.Contains(last, part) {
			t.Errorf("error line lacks %q: %s", part, last)
		}
	}
	if _, again := onlyFile(t, dir); !bytes.Equal(again, first) {
		t.Error("the first file was replaced")
	}
}
