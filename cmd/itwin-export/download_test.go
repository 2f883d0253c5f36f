package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// dirEntries lists the names in dir.
func dirEntries(t *testing.T, dir string) []string {
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

// TestDownloadCommand: the path on stdout, the file in the directory under
// its safe name, progress on stderr; -o and --json as CLI.md says.
func TestDownloadCommand(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	content := bytes.Repeat([]byte("IFC "), 10_000)
	id := fake.AddFile("../Model.ifc", content)
	dir := t.TempDir()
	r := runCLI(t, envFor(fake.URL), "download", id, "--dir", dir)
	wantCode(t, r, exitOK)
	path := filepath.Join(dir, "Model.ifc")
	if r.stdout != path+"\n" {
		t.Errorf("stdout %q, want the path", r.stdout)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, content) {
		t.Error("file content differs")
	}
	if !strings.HasSuffix(r.stderr, "downloaded 100%  39.1 KiB of 39.1 KiB\n") {
		t.Errorf("stderr:\n%s", r.stderr)
	}
	out := filepath.Join(t.TempDir(), "named.ifc")
	r = runCLI(t, envFor(fake.URL), "download", id, "-o", out, "--json")
	wantCode(t, r, exitOK)
	want := map[string]any{"fileId": id, "path": out, "size": float64(len(content))}
	if d := diff(want, decodeJSON(t, r.stdout)); d != "" {
		t.Errorf("--json (-want +got):\n%s", d)
	}
	for _, req := range fake.BlobRequests() {
		if req.Header.Get("Authorization") != "" {
			t.Error("the blob origin saw an Authorization header")
		}
	}
}

// TestDownloadKeepsExistingFile: without --force an existing file is kept,
// nothing is fetched and the exit is 2; with it the file is replaced.
func TestDownloadKeepsExistingFile(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	id := fake.AddFile("a.ifc", []byte("theirs"))
	dir := t.TempDir()
	path := filepath.Join(dir, "a.ifc")
	if err := os.WriteFile(path, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--dir", dir}, {"-o", path}} {
		r := runCLI(t, envFor(fake.URL), append([]string{"download", id}, args...)...)
		wantCode(t, r, exitUsage)
		wantOneErrorLine(t, r, "file exists", path, "nothing was written", "--force")
		if r.stdout != "" {
			t.Errorf("stdout %q", r.stdout)
		}
	}
	if got, _ := os.ReadFile(path); string(got) != "mine" || len(fake.BlobRequests()) != 0 {
		t.Errorf("file %q after %d blob requests; want it kept and nothing fetched", got, len(fake.BlobRequests()))
	}
	wantCode(t, runCLI(t, envFor(fake.URL), "download", id, "--dir", dir, "--force"), exitOK)
	if got, _ := os.ReadFile(path); string(got) != "theirs" {
		t.Errorf("with --force: %q", got)
	}
}

// TestDownloadFailures: usage errors exit 2, an unknown file 4, a size
// mismatch 5 with nothing left in the directory.
func TestDownloadFailures(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	dir := t.TempDir()
	wantCode(t, runCLI(t, envFor(fake.URL), "download"), exitUsage)
	wantCode(t, runCLI(t, envFor(fake.URL), "download", "f1", "-o", "x", "--dir", dir), exitUsage)
	r := runCLI(t, envFor(fake.URL), "download", "no-such-file", "--dir", dir)
	wantCode(t, r, exitRefused)
	wantOneErrorLine(t, r, "not found", "FileNotFound")
	id := fake.AddPatternFile("a.ifc", 100_000)
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobWrongLength, Delta: -10})
	r = runCLI(t, envFor(fake.URL), "download", id, "--dir", dir)
	wantCode(t, r, exitNoAnswer)
	wantOneErrorLine(t, r, "malformed response", "size mismatch")
	if names := dirEntries(t, dir); len(names) != 0 {
		t.Errorf("left behind: %v", names)
	}
	// The Storage URL comes from ITWIN_STORAGE_URL when set.
	env := envFor(fake.URL)
	env[envStorageURL] = strings.TrimSuffix(fake.URL, "/export") + "/elsewhere"
	wantCode(t, runCLI(t, env, "download", "f1", "--dir", dir), exitRefused)
	if got := requestsTo(t, fake, "GET", "/elsewhere/files/f1"); len(got) != 1 {
		t.Errorf("%d requests to the configured Storage URL, want 1", len(got))
	}
}

// TestDownloadVerboseHidesSignature: --verbose logs the blob exchanges,
// resumed after a cut, with the signature redacted, and no token.
func TestDownloadVerboseHidesSignature(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	id := fake.AddPatternFile("a.ifc", 300_000)
	fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobCut, After: 1000})
	r := runCLI(t, envFor(fake.URL), "download", id, "--dir", t.TempDir(), "--verbose")
	wantCode(t, r, exitOK)
	u, err := url.Parse(fake.BlobRequests()[0].URI)
	if err != nil {
		t.Fatal(err)
	}
	sig := u.Query().Get("sig")
	for _, secret := range []string{sig, url.QueryEscape(sig), testToken} {
		if strings.Contains(r.stderr+r.stdout, secret) {
			t.Error("a secret appears in the output")
		}
	}
	if strings.Count(r.stderr, "op=downloadContent") != 2 || !strings.Contains(r.stderr, "sig=REDACTED") {
		t.Errorf("stderr does not log both blob exchanges redacted:\n%s", r.stderr)
	}
}

// TestDownloadOutputs: the function run|status --download call downloads a
// completed run's file, and says where a USER_BLOB_STORAGE run's went.
func TestDownloadOutputs(t *testing.T) {
	clock := apitest.NewManualClock(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))
	fake := newFake(t, apitest.Options{Clock: clock})
	client := newClient(t, fake.URL)
	completed := func(req api.ExportConnectionRunCreate) *api.ExportRun {
		ref, err := client.CreateRun(context.Background(), addConnection(t, fake), req)
		if err != nil {
			t.Fatal(err)
		}
		clock.Advance(5 * time.Second)
		run, err := client.GetRun(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		return run
	}
	version := api.IFCVersionIFC2X3
	run := completed(api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, IFCVersion: &version})
	var stdout, stderr bytes.Buffer
	a := &app{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	dir := t.TempDir()
	if err := a.downloadOutputs(context.Background(), client, run, dir, true); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	files := decodeJSON(t, stdout.String()).(map[string]any)
	content, err := os.ReadFile(files["path"].(string))
	if err != nil || !bytes.HasPrefix(content, []byte("ISO-10303-21;")) || !bytes.Contains(content, []byte("FILE_SCHEMA(('IFC2X3'));")) {
		t.Errorf("file %v: %v\n%s", files["path"], err, content)
	}
	blob := api.LocationUSERBLOBSTORAGE
	sas := "https://example.com/c?sv=1&sig=abc"
	run = completed(api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, OutputOptions: &api.ExportRunOutputOptions{Location: &blob, OutputSASURL: &sas}})
	stdout.Reset()
	stderr.Reset()
	if err := a.downloadOutputs(context.Background(), client, run, dir, false); err != nil || stdout.Len() != 0 || !strings.Contains(stderr.String(), "USER_BLOB_STORAGE") {
		t.Errorf("USER_BLOB_STORAGE run: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
}

// TestTransferProgress: a line per 10 % off a terminal; on one, a bar with
// bytes, total and rate, redrawn at most ten times a second.
func TestTransferProgress(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var b strings.Builder
	p := newTransferProgress(&b, false, clock)
	for done := int64(0); done <= 1000; done += 50 {
		p.update(done, 1000)
	}
	p.finish()
	if got := strings.Count(b.String(), "\n"); got != 10 || !strings.HasPrefix(b.String(), "downloaded  10%  100 B of 1000 B\n") {
		t.Errorf("lines:\n%s", b.String())
	}
	b.Reset()
	p = newTransferProgress(&b, true, clock)
	now = now.Add(2 * time.Second)
	p.update(1<<20, 4<<20)
	p.update(2<<20, 4<<20) // within 100ms: not drawn
	now = now.Add(2 * time.Second)
	p.update(4<<20, 4<<20)
	p.finish()
	want := "\r\033[K[#######.......................]  25%  1.0 MiB / 4.0 MiB  512.0 KiB/s" +
		"\r\033[K[##############################] 100%  4.0 MiB / 4.0 MiB  1.0 MiB/s\n"
	if b.String() != want {
		t.Errorf("live bar:\n%q\nwant\n%q", b.String(), want)
	}
}

// TestDownloadClientOptions: the client the command builds downloads from
// the Storage URL beside the API, as wrapper derives it.
func TestDownloadClientOptions(t *testing.T) {
	a := &app{getenv: func(k string) string {
		return map[string]string{envAPIURL: "https://api.bentley.com/export", envAccessToken: "t"}[k]
	}}
	c, err := a.connect(context.Background(), &clientFlags{})
	if err != nil || c.StorageURL() != wrapper.DefaultStorageURL {
		t.Errorf("storage URL %q, %v", c.StorageURL(), err)
	}
}
