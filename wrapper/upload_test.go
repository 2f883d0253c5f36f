package wrapper_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// writeFile writes content to a new file in a test directory.
func writeFile(t *testing.T, name string, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// syncLog is a log destination the uploading goroutines may share.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// uploadClient is a client of fake logging every exchange into log.
func uploadClient(t *testing.T, fake *apitest.Server, log *syncLog) *wrapper.Client {
	return newClient(t, fake.URL, func(o *wrapper.Options) {
		o.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
}

// signatures returns the sig values of the upload links the fake handed out.
func signatures(t *testing.T, fake *apitest.Server) []string {
	t.Helper()
	var sigs []string
	for _, r := range fake.BlobRequests() {
		u, err := url.ParseRequestURI(r.URI)
		if err != nil {
			t.Fatal(err)
		}
		if sig := u.Query().Get("sig"); sig != "" {
			sigs = append(sigs, sig, url.QueryEscape(sig))
		}
	}
	if len(sigs) == 0 {
		t.Fatal("no signed blob request seen")
	}
	return sigs
}

// checkBlobPuts checks that every blob request was a PUT carrying no
// Authorization, and returns their comp parameters in order.
func checkBlobPuts(t *testing.T, fake *apitest.Server) []string {
	t.Helper()
	var comps []string
	for _, r := range fake.BlobRequests() {
		if r.Method != http.MethodPut {
			continue
		}
		if a := r.Header.Get("Authorization"); a != "" {
			t.Errorf("blob PUT %s carried Authorization", r.Path)
		}
		u, _ := url.ParseRequestURI(r.URI)
		comp := u.Query().Get("comp")
		if comp == "" && r.Header.Get("x-ms-blob-type") != "BlockBlob" {
			t.Errorf("Put Blob without x-ms-blob-type: BlockBlob: %v", r.Header)
		}
		comps = append(comps, comp)
	}
	return comps
}

// downloaded is the content of a Storage file, fetched with the client.
func downloaded(t *testing.T, c *wrapper.Client, fileID string) []byte {
	t.Helper()
	f, err := c.DownloadFileInto(context.Background(), fileID, t.TempDir(), wrapper.DownloadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClient_RootFolder(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	got, err := c.RootFolder(context.Background(), "7dbd531d-6967-47b2-8945-a722a437ad7a")
	if err != nil {
		t.Fatal(err)
	}
	if want := fake.RootFolder("7dbd531d-6967-47b2-8945-a722a437ad7a"); got != want {
		t.Errorf("RootFolder = %q, want %q", got, want)
	}
	if _, err := c.RootFolder(context.Background(), ""); !errors.Is(err, wrapper.ErrValidation) {
		t.Errorf("empty iTwin id: %v, want ErrValidation", err)
	}
}

func TestClient_UploadFile_SinglePut(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	var log syncLog
	c := uploadClient(t, fake, &log)
	content := []byte(`{"classes":{"BisCore:Element":"IfcBuildingElementProxy"}}`)
	path := writeFile(t, "my-mapping.json", content)
	folder := fake.RootFolder("twin")

	var last int64
	file, err := c.UploadFile(context.Background(), folder, path, wrapper.UploadOptions{Description: "mapping", Progress: func(done, total int64) {
		if total != int64(len(content)) || done < last {
			t.Errorf("progress %d/%d after %d", done, total, last)
		}
		last = done
	}})
	if err != nil {
		t.Fatal(err)
	}
	if file.DisplayName != "my-mapping.json" || file.Size != int64(len(content)) || file.ParentFolderID == nil || *file.ParentFolderID != folder || file.Description == nil || *file.Description != "mapping" {
		t.Errorf("file %+v", file)
	}
	if last != int64(len(content)) {
		t.Errorf("progress ended at %d", last)
	}
	if diff := cmp.Diff([]string{""}, checkBlobPuts(t, fake)); diff != "" {
		t.Errorf("blob PUTs (-want +got):\n%s", diff)
	}
	if got := downloaded(t, c, file.ID); !bytes.Equal(got, content) {
		t.Errorf("Storage holds %q, want %q", got, content)
	}
	// The API requests carried the token; the three steps were made in order.
	var steps []string
	for _, r := range fake.Requests() {
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			t.Errorf("%s %s without the token", r.Method, r.Path)
		}
		steps = append(steps, r.Method+" "+r.Path)
	}
	wantSteps := []string{"POST /storage/folders/" + folder + "/files", "POST /storage/files/" + file.ID + "/complete"}
	if diff := cmp.Diff(wantSteps, steps[:2]); diff != "" {
		t.Errorf("API requests (-want +got):\n%s", diff)
	}
	for _, sig := range signatures(t, fake) {
		if strings.Contains(log.String(), sig) {
			t.Errorf("the log holds the upload link's signature:\n%s", log.String())
		}
	}
	if !strings.Contains(log.String(), "op=uploadContent") || !strings.Contains(log.String(), "sig=REDACTED") {
		t.Errorf("the log does not show the redacted upload:\n%s", log.String())
	}
}

func TestClient_UploadFile_Blocks(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	content := pattern(2000)
	path := writeFile(t, "big.json", content)
	file, err := c.UploadFile(context.Background(), fake.RootFolder("twin"), path,
		wrapper.UploadOptions{Name: "renamed.json", SinglePutLimit: 1000, BlockSize: 300, Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	if file.DisplayName != "renamed.json" || file.Size != 2000 {
		t.Errorf("file %+v", file)
	}
	want := []string{"block", "block", "block", "block", "block", "block", "block", "blocklist"}
	if diff := cmp.Diff(want, checkBlobPuts(t, fake)); diff != "" {
		t.Errorf("blob PUTs (-want +got):\n%s", diff)
	}
	if got := downloaded(t, c, file.ID); !bytes.Equal(got, content) {
		t.Error("Storage does not hold the file's bytes")
	}
}

func TestClient_UploadFile_BadInput(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	folder := fake.RootFolder("twin")
	dir := t.TempDir()
	for _, tc := range []struct {
		name, path string
		opts       wrapper.UploadOptions
		want       string
	}{
		{"missing", filepath.Join(dir, "nope.json"), wrapper.UploadOptions{}, "does not exist"},
		{"directory", dir, wrapper.UploadOptions{}, "is a directory"},
		{"empty", writeFile(t, "empty.json", nil), wrapper.UploadOptions{}, "is empty"},
		// 50000 blocks of 1 byte: 50001 bytes cannot be sent.
		{"over the limit", writeFile(t, "big.json", make([]byte, 50001)), wrapper.UploadOptions{BlockSize: 1, SinglePutLimit: 10}, "larger than the 50000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.UploadFile(context.Background(), folder, tc.path, tc.opts)
			var v *wrapper.ValidationError
			if !errors.As(err, &v) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want a *ValidationError saying %q", err, tc.want)
			}
		})
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("%d requests sent for bad input", n)
	}
}

func TestClient_UploadFile_FolderNotFound(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	_, err := c.UploadFile(context.Background(), "no-such-folder", writeFile(t, "m.json", []byte("{}")), wrapper.UploadOptions{})
	var apiErr *wrapper.APIError
	if !errors.Is(err, wrapper.ErrNotFound) || !errors.As(err, &apiErr) || apiErr.Code != "FolderNotFound" {
		t.Errorf("err = %v, want 404 FolderNotFound", err)
	}
	if n := len(fake.BlobRequests()); n != 0 || fake.UploadedBytes() != 0 {
		t.Errorf("%d blob requests, %d bytes held after a refused create", n, fake.UploadedBytes())
	}
}

func TestClient_UploadFile_FailureDeletesTheCreatedFile(t *testing.T) {
	fake := newFake(t, apitest.Options{UploadBytes: 10})
	var log syncLog
	c := uploadClient(t, fake, &log)
	_, err := c.UploadFile(context.Background(), fake.RootFolder("twin"), writeFile(t, "m.json", make([]byte, 100)), wrapper.UploadOptions{})
	var upErr *wrapper.UploadError
	var apiErr *wrapper.APIError
	if !errors.As(err, &upErr) || upErr.Cleanup != nil || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusRequestEntityTooLarge || apiErr.Code != "RequestBodyTooLarge" {
		t.Fatalf("err = %v, want an *UploadError with the blob's 413 RequestBodyTooLarge, its file deleted", err)
	}
	var deleted bool
	for _, r := range fake.Requests() {
		deleted = deleted || r.Method == http.MethodDelete && r.Path == "/storage/files/"+upErr.FileID
	}
	if !deleted {
		t.Errorf("no DELETE of the created file %s", upErr.FileID)
	}
	if _, err := c.GetFile(context.Background(), upErr.FileID); !errors.Is(err, wrapper.ErrNotFound) {
		t.Errorf("the created file: %v, want not found", err)
	}
	for _, sig := range signatures(t, fake) {
		if strings.Contains(err.Error(), sig) || strings.Contains(log.String(), sig) {
			t.Errorf("the signature leaked: %v\n%s", err, log.String())
		}
	}
}

func TestClient_UploadFile_CancelledDeletesTheCreatedFile(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	c := newClient(t, fake.URL)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := c.UploadFile(ctx, fake.RootFolder("twin"), writeFile(t, "m.json", pattern(5000)), wrapper.UploadOptions{
		SinglePutLimit: 100, BlockSize: 100, Parallel: 1,
		Progress: func(done, _ int64) {
			if done >= 1000 {
				cancel()
			}
		}})
	var upErr *wrapper.UploadError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &upErr) || upErr.Cleanup != nil {
		t.Fatalf("err = %v, want context.Canceled in an *UploadError whose file was deleted", err)
	}
	if got := fake.UploadedBytes(); got != 0 {
		t.Errorf("the fake holds %d bytes of the cancelled upload", got)
	}
}

// Put a custom IFC mapping file into the root folder of the connection's
// iTwin, then export with it. The in-memory service stands in for
// https://api.bentley.com here.
func ExampleClient_UploadFile() {
	fake := apitest.NewServer(apitest.Options{StepDuration: 5 * time.Millisecond})
	defer fake.Close()
	conn := fake.AddConnection(api.ExportConnectionCreate{IModelID: "7dbd531d-6967-47b2-8945-a722a437ad7a"})
	dir, _ := os.MkdirTemp("", "mapping")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "my-mapping.json")
	_ = os.WriteFile(path, []byte(`{"mappings":[]}`), 0o600)

	ctx := context.Background()
	client, err := wrapper.New(wrapper.Options{BaseURL: fake.URL, TokenSource: wrapper.StaticToken("my-token")})
	if err != nil {
		panic(err)
	}
	folder, err := client.RootFolder(ctx, conn.ITwinID)
	if err != nil {
		panic(err)
	}
	file, err := client.UploadFile(ctx, folder, path, wrapper.UploadOptions{})
	if err != nil {
		panic(err)
	}
	_, run, err := client.Export(ctx, conn.ID, api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC,
		InputOptions: &api.ExportRunInputOptions{MappingFileID: &file.ID}}, wrapper.WaitOptions{MinInterval: 5 * time.Millisecond})
	fmt.Println(file.DisplayName, file.Size, run.Result, err)
	// Output: my-mapping.json 15 Success <nil>
}

// scriptedUpload answers an upload's create with links on the same server
// (the blob at /blob/f?sig=SECRETSIG, the completion of file f unless
// complete says otherwise), the completion with the file, a DELETE with
// 204, and each blob PUT as blob says.
func scriptedUpload(t *testing.T, complete string, blob func(n int, w http.ResponseWriter)) *scripted {
	var puts atomic.Int32
	var s *scripted
	s = newScripted(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/files"):
			href := complete
			if href == "" {
				href = s.URL + "/storage/files/f/complete"
			}
			writeJSON(w, http.StatusAccepted, `{"_links":{"uploadUrl":{"href":"`+s.URL+`/blob/f?sv=1&sp=cw&sig=SECRETSIG"},"completeUrl":{"href":"`+href+`"}}}`)
		case r.Method == http.MethodPut:
			blob(int(puts.Add(1)), w)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/complete"):
			writeJSON(w, http.StatusOK, `{"file":{"id":"f","displayName":"m.json","size":2}}`)
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	return s
}

// methods lists the requests a scripted server saw as "METHOD path".
func methods(s *scripted) []string {
	var out []string
	for _, r := range s.seen() {
		u, _ := url.ParseRequestURI(r.URI)
		out = append(out, r.Method+" "+u.Path)
	}
	return out
}

func TestClient_UploadFile_BlobRetries(t *testing.T) {
	s := scriptedUpload(t, "", func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.Header().Set("x-ms-error-code", "ServerBusy")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	c := newClient(t, s.base())
	file, err := c.UploadFile(context.Background(), "folder", writeFile(t, "m.json", []byte("{}")), wrapper.UploadOptions{})
	if err != nil || file.ID != "f" {
		t.Fatalf("UploadFile = %+v, %v", file, err)
	}
	want := []string{"POST /storage/folders/folder/files", "PUT /blob/f", "PUT /blob/f", "POST /storage/files/f/complete"}
	if diff := cmp.Diff(want, methods(s)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	for _, r := range s.seen() {
		if r.Method == http.MethodPut && (r.Body != "{}" || r.Header.Get("Authorization") != "") {
			t.Errorf("PUT body %q, Authorization %q: want the content and no credential", r.Body, r.Header.Get("Authorization"))
		}
	}
}

func TestClient_UploadFile_BlobRefusalDeletes(t *testing.T) {
	s := scriptedUpload(t, "", func(_ int, w http.ResponseWriter) {
		w.Header().Set("x-ms-error-code", "AuthorizationPermissionMismatch")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`<Error><Code>AuthorizationPermissionMismatch</Code><Message>sig=SECRETSIG</Message></Error>`))
	})
	c := newClient(t, s.base())
	_, err := c.UploadFile(context.Background(), "folder", writeFile(t, "m.json", []byte("{}")), wrapper.UploadOptions{})
	var apiErr *wrapper.APIError
	if !errors.Is(err, wrapper.ErrForbidden) || !errors.As(err, &apiErr) || apiErr.Code != "AuthorizationPermissionMismatch" || apiErr.Operation != "uploadContent" {
		t.Fatalf("err = %v, want the blob's 403 AuthorizationPermissionMismatch", err)
	}
	if strings.Contains(err.Error(), "SECRETSIG") {
		t.Errorf("the signature is in the error: %v", err)
	}
	want := []string{"POST /storage/folders/folder/files", "PUT /blob/f", "DELETE /storage/files/f"}
	if diff := cmp.Diff(want, methods(s)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestClient_UploadFile_ForeignCompleteURL(t *testing.T) {
	s := scriptedUpload(t, "https://elsewhere.example/storage/files/f/complete", func(_ int, w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) })
	c := newClient(t, s.base())
	_, err := c.UploadFile(context.Background(), "folder", writeFile(t, "m.json", []byte("{}")), wrapper.UploadOptions{})
	if !errors.Is(err, wrapper.ErrMalformedResponse) {
		t.Fatalf("err = %v, want ErrMalformedResponse", err)
	}
	if diff := cmp.Diff([]string{"POST /storage/folders/folder/files"}, methods(s)); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
