package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

// mappingFile writes a small mapping file in a test directory.
func mappingFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "my-mapping.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// storedContent is the content of a Storage file of the fake, fetched the
// way any client would (metadata, link, blob).
func storedContent(t *testing.T, fake *apitest.Server, fileID string) []byte {
	t.Helper()
	r := runCLI(t, envFor(fake.URL), "download", fileID, "-o", filepath.Join(t.TempDir(), "got"), "--force")
	wantCode(t, r, exitOK)
	b, err := os.ReadFile(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// noAuthorizedPuts fails the test when a PUT to the blob origin carried
// Authorization, and returns how many PUTs it saw.
func noAuthorizedPuts(t *testing.T, fake *apitest.Server) int {
	t.Helper()
	n := 0
	for _, r := range fake.BlobRequests() {
		if r.Method == http.MethodPut {
			n++
			if r.Header.Get("Authorization") != "" {
				t.Errorf("the blob PUT %s carried Authorization", r.Path)
			}
		}
	}
	return n
}

func TestUploadCommand(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	content := `{"mapping":"Building A"}`
	path := mappingFile(t, content)
	folder := fake.RootFolder("twin")

	r := runCLI(t, envFor(fake.URL), "upload", path, "--folder", folder)
	wantCode(t, r, exitOK)
	id := strings.TrimSuffix(r.stdout, "\n")
	if id == "" || strings.Contains(id, "\n") {
		t.Fatalf("stdout %q, want the file id alone", r.stdout)
	}
	if got := storedContent(t, fake, id); string(got) != content {
		t.Errorf("Storage holds %q, want %q", got, content)
	}
	if n := noAuthorizedPuts(t, fake); n != 1 {
		t.Errorf("%d blob PUTs, want 1", n)
	}
	var completed bool
	for _, req := range fake.Requests() {
		completed = completed || req.Method == http.MethodPost && req.Path == "/storage/files/"+id+"/complete"
	}
	if !completed {
		t.Error("the upload was not completed")
	}

	// --itwin: the root folder of the iTwin; --name and --json.
	r = runCLI(t, envFor(fake.URL), "upload", path, "--itwin", "twin", "--name", "renamed.json", "--json")
	wantCode(t, r, exitOK)
	var file api.StorageFile
	if err := json.Unmarshal([]byte(r.stdout), &file); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if file.DisplayName != "renamed.json" || file.Size != int64(len(content)) || file.ParentFolderID == nil || *file.ParentFolderID != folder {
		t.Errorf("--json file %+v", file)
	}
}

func TestUploadCommandBadInput(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	good := mappingFile(t, "{}")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing file", []string{filepath.Join(dir, "nope.json"), "--folder", "f"}, exitUsage, "does not exist"},
		{"directory", []string{dir, "--folder", "f"}, exitUsage, "is a directory"},
		{"empty file", []string{empty, "--folder", "f"}, exitUsage, "is empty"},
		{"no folder", []string{good}, exitUsage, "--folder or --itwin is required"},
		{"both", []string{good, "--folder", "f", "--itwin", "t"}, exitUsage, "exclude each other"},
		{"unknown folder", []string{good, "--folder", "no-such-folder"}, exitRefused, "FolderNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, envFor(fake.URL), append([]string{"upload"}, tc.args...)...)
			wantCode(t, r, tc.code)
			if r.stdout != "" || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stdout %q, stderr %q: want nothing, and an error saying %q", r.stdout, r.stderr, tc.want)
			}
		})
	}
	if n := len(fake.BlobRequests()); n != 0 || fake.UploadedBytes() != 0 {
		t.Errorf("bad input: %d blob requests, %d bytes stored", n, fake.UploadedBytes())
	}
	for _, req := range fake.Requests() {
		if req.Path != "/storage/folders/no-such-folder/files" {
			t.Errorf("bad input sent %s %s", req.Method, req.Path)
		}
	}
}

// TestUploadCommandOverTheLimit: a file larger than an upload can send is a
// usage error. Above the single PUT's 256 MiB the limit is MaxBlocks blocks;
// with blocks of one byte (the command's test seam) a file of 300 MiB is
// over it.
func TestUploadCommandOverTheLimit(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	path := filepath.Join(t.TempDir(), "big.json")
	// Sparse: past the single PUT's 256 MiB, and so past 50000 blocks of 1 byte.
	if f, err := os.Create(path); err != nil || f.Truncate(300<<20) != nil || f.Close() != nil {
		t.Fatalf("making a sparse file: %v", err)
	}
	var stdout, stderr bytes.Buffer
	a := &app{stdin: bytes.NewReader(nil), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return envFor(fake.URL)[k] }}
	f, _, _ := testFactory(nil)
	var c *uploadCmd
	var pos []string
	cmd := newUploadCmd(f, func(got *uploadCmd, args []string) error { c, pos = got, args; return nil })
	cmd.SetArgs([]string{path, "--folder", fake.RootFolder("t")})
	if err := cmd.Execute(); err != nil || c == nil {
		t.Fatalf("flags refused: %v", err)
	}
	c.blockSize = 1
	if code := a.fail(context.Background(), c.exec(context.Background(), a, pos)); code != exitUsage {
		t.Errorf("exit %d, want %d; stderr %s", code, exitUsage, stderr.String())
	}
	if !strings.Contains(stderr.String(), "larger than") || len(fake.Requests()) != 0 {
		t.Errorf("stderr %q, %d requests: want the limit named and nothing sent", stderr.String(), len(fake.Requests()))
	}
}

func TestRunWithLocalMappingFile(t *testing.T) {
	fake := newFake(t, fastOpts())
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"})
	content := `{"mapping":"custom"}`
	path := mappingFile(t, content)

	r := runCLI(t, envFor(fake.URL), "run", "--connection", conn.ID, "--mapping-file", path, "--wait", "--poll-interval", "10ms", "--verbose")
	wantCode(t, r, exitOK)
	var created struct {
		InputOptions struct {
			MappingFileID string `json:"mappingFileId"`
		} `json:"inputOptions"`
	}
	var uploaded, root string
	for _, req := range fake.Requests() {
		switch {
		case req.Method == http.MethodPost && strings.HasSuffix(req.Path, "/runs"):
			if err := json.Unmarshal(req.Body, &created); err != nil {
				t.Fatal(err)
			}
		case req.Method == http.MethodPost && strings.HasSuffix(req.Path, "/complete"):
			uploaded = strings.TrimSuffix(strings.TrimPrefix(req.Path, "/storage/files/"), "/complete")
		case req.Method == http.MethodPost && strings.HasSuffix(req.Path, "/files"):
			root = strings.TrimSuffix(strings.TrimPrefix(req.Path, "/storage/folders/"), "/files")
		}
	}
	if uploaded == "" || created.InputOptions.MappingFileID != uploaded {
		t.Errorf("the run's mappingFileId %q, want the uploaded file %q", created.InputOptions.MappingFileID, uploaded)
	}
	if want := fake.RootFolder(conn.ITwinID); root != want {
		t.Errorf("uploaded into %q, want the root folder %q of the connection's iTwin", root, want)
	}
	if got := storedContent(t, fake, uploaded); string(got) != content {
		t.Errorf("Storage holds %q", got)
	}
	noAuthorizedPuts(t, fake)
	// --verbose shows the steps, the upload link redacted.
	for _, step := range []string{"op=getExportConnection", "op=getTopLevelFoldersAndFiles", "op=createFile", "op=uploadContent", "op=completeFileUpload", "sig=REDACTED"} {
		if !strings.Contains(r.stderr, step) {
			t.Errorf("--verbose does not show %s:\n%s", step, r.stderr)
		}
	}
	for _, req := range fake.BlobRequests() {
		u, _ := url.ParseRequestURI(req.URI)
		if sig := u.Query().Get("sig"); sig == "" || strings.Contains(r.stderr+r.stdout, sig) || strings.Contains(r.stderr, url.QueryEscape(sig)) {
			t.Error("the upload link's signature is missing or shown")
		}
	}
}

func TestRunMappingFileBadInput(t *testing.T) {
	fake := newFake(t, manualOpts())
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"}).ID
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.json")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, value, want string
		more              []string
	}{
		{"missing", filepath.Join(dir, "nope.json"), "does not exist", nil},
		{"directory", dir, "is a directory", nil},
		{"empty", empty, "is empty", nil},
		{"several connections", mappingFile(t, "{}"), "needs --folder", []string{"--connection", "other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--connection", conn, "--mapping-file", tc.value}, tc.more...)
			r := runCLI(t, envFor(fake.URL), args...)
			wantCode(t, r, exitUsage)
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr %q, want %q", r.stderr, tc.want)
			}
		})
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("bad mapping files sent %d requests", n)
	}
	// An id (no path separator, no extension) is passed on as it is.
	r := runCLI(t, envFor(fake.URL), "run", "--connection", conn, "--mapping-file", "TYJsPN0xtkWId0yUrXkS5pN5AQzuullIkxz5aDnDJSI")
	wantCode(t, r, exitOK)
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("an id sent %d requests, want the create alone", n)
	}
}

// TestRunWithMissingMappingFileFails: the fake, like the service, accepts
// the run and fails it for a mapping file it does not have.
func TestRunWithMissingMappingFileFails(t *testing.T) {
	fake := newFake(t, fastOpts())
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "m1"}).ID
	r := runCLI(t, envFor(fake.URL), "run", "--connection", conn, "--mapping-file", "no-such-id", "--wait", "--poll-interval", "10ms", "--timeout", time.Minute.String())
	wantCode(t, r, exitRunFail)
	if !strings.Contains(r.stdout+r.stderr, "MappingFileNotFound") {
		t.Errorf("the failure does not name MappingFileNotFound:\n%s\n%s", r.stdout, r.stderr)
	}
}

// TestFakeServerRunWithMappingFile: against the built binary's fake-server,
// `run --mapping-file ./my-mapping.json --wait` uploads the file and runs
// with it (exit 0: the fake fails a run whose mapping file is not an
// uploaded, completed file), and the upload and the run are both run by
// the built binary.
func TestFakeServerRunWithMappingFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := startFakeBinary(t, "--step", "20ms")
	env := map[string]string{envAPIURL: base, envAccessToken: "any-token"}
	r := runBinary(t, env, "connection", "create", "--imodel", "m1", "--json")
	wantCode(t, r, exitOK)
	var conn api.ExportConnection
	if err := json.Unmarshal([]byte(r.stdout), &conn); err != nil || conn.ID == "" {
		t.Fatalf("connection create --json: %v\n%s", err, r.stdout)
	}
	dir := t.TempDir()
	content := `{"mapping":"custom"}`
	if err := os.WriteFile(filepath.Join(dir, "my-mapping.json"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}

	run := exec.CommandContext(ctx, binPath, "run", "--connection", conn.ID, "--mapping-file", "./my-mapping.json", "--wait", "--poll-interval", "10ms")
	run.Dir, run.Env = dir, envList(env)
	var out, errOut bytes.Buffer
	run.Stdout, run.Stderr = &out, &errOut
	if err := run.Run(); err != nil {
		t.Fatalf("run --mapping-file: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	m := regexp.MustCompile(`uploaded \./my-mapping\.json as mapping file (\S+)`).FindStringSubmatch(errOut.String())
	if m == nil || !strings.Contains(out.String(), "Success") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	}
	got := runBinary(t, env, "download", m[1], "-o", filepath.Join(dir, "back.json"))
	wantCode(t, got, exitOK)
	if b, _ := os.ReadFile(filepath.Join(dir, "back.json")); string(b) != content {
		t.Errorf("Storage holds %q, want %q", b, content)
	}
}
