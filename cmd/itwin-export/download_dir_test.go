package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/itwin-export/itwin-export/apitest"
)

// TestRunWaitDownloadCreatesDir: the built binary's run --wait --download
// DIR with a missing DIR (and missing parents) creates it and puts the IFC
// file there, exit 0.
func TestRunWaitDownloadCreatesDir(t *testing.T) {
	t.Parallel()
	s := newFake(t, apitest.Options{})
	dir := filepath.Join(t.TempDir(), "exports", "today")
	r := runBinary(t, envFor(s.URL), "run", "--connection", addConnection(t, s), "--wait", "--poll-interval", "10ms", "--download", dir)
	wantCode(t, r, exitOK)
	path, content := onlyFile(t, dir)
	if !bytes.HasPrefix(content, []byte("ISO-10303-21;\n")) || !strings.HasSuffix(r.stdout, path+"\n") {
		t.Errorf("%s: %q; stdout:\n%s", path, content, r.stdout)
	}
}

// TestDownloadDirUnusable: --download DIR naming a file, or a path under
// a file, is a usage error before anything is sent: exit 2, no request, no
// run created. download --dir creates a missing DIR too.
func TestDownloadDirUnusable(t *testing.T) {
	t.Parallel()
	s := newFake(t, apitest.Options{})
	conn := addConnection(t, s)
	file := filepath.Join(t.TempDir(), "exports")
	if err := os.WriteFile(file, []byte("not a directory"), 0o666); err != nil {
		t.Fatal(err)
	}
	loc := runLocation(s, conn, "r1")
	for _, args := range [][]string{
		{"run", "--connection", conn, "--wait", "--download", file},
		{"run", "--connection", conn, "--wait", "--download", filepath.Join(file, "sub")},
		{"status", loc, "--wait", "--download", file},
	} {
		r := runBinary(t, envFor(s.URL), args...)
		wantCode(t, r, exitUsage)
		if !strings.Contains(r.stderr, "--download") || !strings.Contains(r.stderr, "not a directory") || r.stdout != "" {
			t.Errorf("%q: stdout %q, stderr:\n%s", args, r.stdout, r.stderr)
		}
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
	id := s.AddFile("model.ifc", []byte("ISO-10303-21;\n"))
	into := filepath.Join(t.TempDir(), "new", "dir")
	r := runBinary(t, envFor(s.URL), "download", id, "--dir", into)
	wantCode(t, r, exitOK)
	if r.stdout != filepath.Join(into, "model.ifc")+"\n" {
		t.Errorf("download --dir into a missing directory: stdout %q, stderr:\n%s", r.stdout, r.stderr)
	}
}

// TestRunWaitDownloadFailureSaysHowToFetch: a download that fails after the
// run succeeded exits with the download's own class (a blob that does not
// match its size: 5) and prints the command that fetches the files later.
func TestRunWaitDownloadFailureSaysHowToFetch(t *testing.T) {
	t.Parallel()
	s := newFake(t, apitest.Options{})
	conn := addConnection(t, s)
	s.InjectBlobFault(apitest.BlobFault{Kind: apitest.BlobWrongLength, Delta: -1, Count: 50})
	dir := filepath.Join(t.TempDir(), "my exports")
	r := runBinary(t, envFor(s.URL), "run", "--connection", conn, "--wait", "--poll-interval", "10ms", "--download", dir)
	wantCode(t, r, exitNoAnswer)
	run := onlyRun(t, s, conn)
	want := "(fetch the files later with: itwin-export status " + runLocation(s, conn, run.ID) + " --wait --download '" + dir + "')"
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, want) || strings.Contains(last, ".part") {
		t.Errorf("error line does not end with %q (or names the temporary file):\n%s", want, last)
	}
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
}

// TestInterruptedWaitKeepsDownload: the resume command printed after an
// interrupt keeps --download DIR, so following it fetches the files.
func TestInterruptedWaitKeepsDownload(t *testing.T) {
	t.Parallel()
	s := newFake(t, manualOpts()) // the run never completes
	conn := addConnection(t, s)
	dir := t.TempDir()
	ctx, watch := interruptOn(syscall.SIGINT, "NotStarted")
	r := runWatched(t, ctx, envFor(s.URL), watch, "run", "--connection", conn, "--wait", "--poll-interval", "1ms", "--download", dir)
	wantCode(t, r, exitInterrupt)
	run := onlyRun(t, s, conn)
	want := "resume with: itwin-export status " + runLocation(s, conn, run.ID) + " --wait --download " + dir + ")"
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
	}
}

// TestHangupDuringDownload: a real SIGHUP to the built binary (the terminal
// closed) ends a download like SIGINT: exit 129, no temporary file left.
func TestHangupDuringDownload(t *testing.T) {
	t.Parallel()
	s := newFake(t, apitest.Options{})
	id := s.AddPatternFile("big.ifc", 1_000_000)
	s.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobStall, After: 500_000})
	dir := t.TempDir()
	// Signal once the transfer shows progress: the temporary file exists.
	stdout, _ := signalWhenShown(t, envFor(s.URL), "downloaded ", syscall.SIGHUP, exitHangup, "download", id, "--dir", dir)
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
	if stdout != "" {
		t.Errorf("stdout %q", stdout)
	}
}
