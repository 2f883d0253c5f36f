package apitest_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

// put sends a PUT to a blob URL with exactly the given headers.
func put(t *testing.T, url string, body []byte, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatalf("PUT: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// createFile creates a file in folder and returns its links.
func createFile(t *testing.T, s *apitest.Server, folder, name string) api.StorageFileUploadLinks {
	t.Helper()
	r := call(t, http.MethodPost, storageURL(s)+"/folders/"+folder+"/files", `{"displayName":"`+name+`","description":"d"}`)
	if r.status != http.StatusAccepted {
		t.Fatalf("create file: %d %s", r.status, r.body)
	}
	return decode[api.StorageFileUpload](t, r).Links
}

// blobCode is the x-ms-error-code of a blob answer, with its status.
func wantBlobError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.header.Get("x-ms-error-code") != code {
		t.Errorf("blob answer %d %q, want %d %s (body %s)", r.status, r.header.Get("x-ms-error-code"), status, code, r.body)
	}
}

func TestUpload_SinglePutThenComplete(t *testing.T) {
	s := newServer(t, apitest.Options{})
	root := s.RootFolder("twin-1")
	links := createFile(t, s, root, "my-mapping.json")
	if !strings.HasPrefix(links.UploadURL.Href, s.BlobURL()+"/") || !strings.Contains(links.UploadURL.Href, "sp=cw") {
		t.Fatalf("upload link %q: want a write SAS on the blob origin", links.UploadURL.Href)
	}
	content := []byte(`{"mapping":"custom"}`)

	// Completing before the content is there: 409.
	wantError(t, call(t, http.MethodPost, links.CompleteURL.Href, ""), http.StatusConflict, "FileNotUploaded", "The file's content was not uploaded.")
	// Azure's refusals: no blob type, a bearer token beside the SAS.
	wantBlobError(t, put(t, links.UploadURL.Href, content, nil), http.StatusBadRequest, "MissingRequiredHeader")
	r := put(t, links.UploadURL.Href, content, map[string]string{"x-ms-blob-type": "BlockBlob", "Authorization": "Bearer " + token})
	wantBlobError(t, r, http.StatusBadRequest, "InvalidAuthenticationInfo")
	if !strings.Contains(string(r.body), "The request has both SAS authentication scheme and 'Bearer' authorization scheme.") {
		t.Errorf("body %s lacks Azure's message", r.body)
	}
	if r := put(t, links.UploadURL.Href, content, map[string]string{"x-ms-blob-type": "BlockBlob"}); r.status != http.StatusCreated {
		t.Fatalf("Put Blob: %d %s", r.status, r.body)
	}
	r = call(t, http.MethodPost, links.CompleteURL.Href, "")
	if r.status != http.StatusOK {
		t.Fatalf("complete: %d %s", r.status, r.body)
	}
	file := decode[api.StorageFileResponse](t, r).File
	if file.DisplayName != "my-mapping.json" || file.Size != int64(len(content)) || deref(file.ParentFolderID) != root {
		t.Errorf("file %+v: want my-mapping.json of %d bytes in %s", file, len(content), root)
	}
	if got := s.UploadedBytes(); got != int64(len(content)) {
		t.Errorf("UploadedBytes = %d, want %d", got, len(content))
	}

	// The file is served like any other, and listed at the iTwin's root.
	dl := call(t, http.MethodGet, storageURL(s)+"/files/"+file.ID+"/download", "")
	got := callWith(t, http.MethodGet, dl.header.Get("Location"), "", nil)
	if !bytes.Equal(got.body, content) {
		t.Errorf("downloaded %q, want %q", got.body, content)
	}
	list := decode[api.StorageItemsResponse](t, call(t, http.MethodGet, storageURL(s)+"/?iTwinId=twin-1", ""))
	if len(list.Items) != 1 || list.Items[0].ID != file.ID || list.Links.Folder == nil || !strings.HasSuffix(list.Links.Folder.Href, "/storage/folders/"+root) {
		t.Errorf("top level %+v: want the file and the root folder %s", list, root)
	}

	// Deleting it gives its bytes back.
	if r := call(t, http.MethodDelete, storageURL(s)+"/files/"+file.ID, ""); r.status != http.StatusNoContent {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	if got := s.UploadedBytes(); got != 0 {
		t.Errorf("UploadedBytes after delete = %d", got)
	}
	wantError(t, call(t, http.MethodGet, storageURL(s)+"/files/"+file.ID, ""), http.StatusNotFound, "FileNotFound", "Requested file is not available.")
}

func TestUpload_BlocksThenBlockList(t *testing.T) {
	s := newServer(t, apitest.Options{})
	links := createFile(t, s, s.RootFolder("twin"), "big.json")
	parts := [][]byte{bytes.Repeat([]byte("a"), 1000), bytes.Repeat([]byte("b"), 10), []byte("c")}
	var list strings.Builder
	list.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
	for i, p := range parts {
		id := base64.StdEncoding.EncodeToString([]byte{0, 0, 0, byte(i)})
		if r := put(t, links.UploadURL.Href+"&comp=block&blockid="+strings.ReplaceAll(id, "=", "%3D"), p, nil); r.status != http.StatusCreated {
			t.Fatalf("Put Block %d: %d %s", i, r.status, r.body)
		}
		list.WriteString("<Latest>" + id + "</Latest>")
	}
	// An id of another length is refused, as Azure does.
	wantBlobError(t, put(t, links.UploadURL.Href+"&comp=block&blockid="+base64.StdEncoding.EncodeToString([]byte("longer-id")), []byte("x"), nil),
		http.StatusBadRequest, "InvalidBlobOrBlock")
	wantBlobError(t, put(t, links.UploadURL.Href+"&comp=blocklist", []byte("<BlockList><Latest>bm9uZQ==</Latest></BlockList>"), nil),
		http.StatusBadRequest, "InvalidBlockList")
	list.WriteString("</BlockList>")
	if r := put(t, links.UploadURL.Href+"&comp=blocklist", []byte(list.String()), nil); r.status != http.StatusCreated {
		t.Fatalf("Put Block List: %d %s", r.status, r.body)
	}
	file := decode[api.StorageFileResponse](t, call(t, http.MethodPost, links.CompleteURL.Href, "")).File
	dl := call(t, http.MethodGet, storageURL(s)+"/files/"+file.ID+"/download", "")
	got := callWith(t, http.MethodGet, dl.header.Get("Location"), "", nil)
	if want := bytes.Join(parts, nil); !bytes.Equal(got.body, want) || file.Size != int64(len(want)) {
		t.Errorf("content %d bytes (size %d), want %d bytes in block order", len(got.body), file.Size, len(want))
	}
}

func TestUpload_Refusals(t *testing.T) {
	s := newServer(t, apitest.Options{UploadBytes: 100})
	wantError(t, call(t, http.MethodPost, storageURL(s)+"/folders/nope/files", `{"displayName":"a.json"}`),
		http.StatusNotFound, "FolderNotFound", "Requested folder is not available.")
	wantError(t, call(t, http.MethodPost, storageURL(s)+"/folders/"+s.RootFolder("t")+"/files", `{"description":"no name"}`),
		http.StatusUnprocessableEntity, "InvalidCreateFileRequest", "Cannot create file.", d("MissingRequiredProperty", "displayName is missing.", "displayName"))
	wantError(t, call(t, http.MethodGet, storageURL(s)+"/", ""), http.StatusUnprocessableEntity, "InvalidItemsRequest", "Cannot perform operation.",
		d("MissingRequiredParameter", "iTwinId was not provided.", "iTwinId"))

	// Beyond the byte budget: 413, nothing kept.
	links := createFile(t, s, s.RootFolder("t"), "a.json")
	wantBlobError(t, put(t, links.UploadURL.Href, make([]byte, 101), map[string]string{"x-ms-blob-type": "BlockBlob"}),
		http.StatusRequestEntityTooLarge, "RequestBodyTooLarge")
	if got := s.UploadedBytes(); got != 0 {
		t.Errorf("UploadedBytes = %d after a refused PUT", got)
	}
	// A link whose signature was tampered with: 403.
	wantBlobError(t, put(t, strings.Replace(links.UploadURL.Href, "sp=cw", "sp=cw&x=1", 1)+"x", []byte("{}"), map[string]string{"x-ms-blob-type": "BlockBlob"}),
		http.StatusForbidden, "AuthenticationFailed")
	// Deleting the unfinished file: its link then answers 404.
	id := strings.TrimSuffix(strings.TrimPrefix(links.CompleteURL.Href, storageURL(s)+"/files/"), "/complete")
	if r := call(t, http.MethodDelete, storageURL(s)+"/files/"+id, ""); r.status != http.StatusNoContent {
		t.Errorf("delete pending: %d", r.status)
	}
	wantBlobError(t, put(t, links.UploadURL.Href, []byte("{}"), map[string]string{"x-ms-blob-type": "BlockBlob"}), http.StatusNotFound, "BlobNotFound")
}

func TestUpload_RunWithMissingMappingFileFails(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock})
	conn := addConnection(s, "m1")
	good := s.AddFile("map.json", []byte("{}"))
	pending := createFile(t, s, s.RootFolder("t"), "pending.json")
	pendingID := strings.TrimSuffix(strings.TrimPrefix(pending.CompleteURL.Href, storageURL(s)+"/files/"), "/complete")
	for _, tc := range []struct {
		mapping string
		want    api.ExecutionResult
	}{{good, api.ExecutionResultSuccess}, {"no-such-file", api.ExecutionResultError}, {pendingID, api.ExecutionResultError}} {
		r := call(t, http.MethodPost, s.URL+"/connections/"+conn+"/runs", `{"exportType":"IFC","inputOptions":{"mappingFileId":"`+tc.mapping+`"}}`)
		if r.status != http.StatusAccepted {
			t.Fatalf("%s: create: %d %s", tc.mapping, r.status, r.body)
		}
		clock.Advance(10 * time.Second)
		run := decode[api.ExportRunResponse](t, call(t, http.MethodGet, strings.TrimSuffix(s.URL, "/export")+r.header.Get("Location"), "")).Run
		if got := run.Result; got != tc.want {
			t.Errorf("mapping %s: result %s, want %s", tc.mapping, got, tc.want)
		}
		task := run.Jobs[0].Tasks[0]
		if tc.want == api.ExecutionResultError && (task.Error == nil || deref(task.Error.ErrorCode) != "MappingFileNotFound") {
			t.Errorf("mapping %s: task error %+v, want MappingFileNotFound", tc.mapping, task.Error)
		}
	}
}

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// TestUpload_TinyBlocksCountAgainstTheBudget: each uncommitted block costs
// its bytes, its id and a fixed overhead, so that many tiny blocks cannot
// hold more memory than Options.UploadBytes.
func TestUpload_TinyBlocksCountAgainstTheBudget(t *testing.T) {
	s := newServer(t, apitest.Options{UploadBytes: 1000})
	links := createFile(t, s, s.RootFolder("t"), "tiny.json")
	accepted := 0
	for i := range 20 {
		id := base64.StdEncoding.EncodeToString([]byte{byte(i), 0, 0, 0, 0, 0})
		r := put(t, links.UploadURL.Href+"&comp=block&blockid="+id, []byte("x"), nil)
		if r.status == http.StatusCreated {
			accepted++
			continue
		}
		wantBlobError(t, r, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge")
		break
	}
	if accepted == 0 || accepted >= 20 || s.UploadedBytes() > 1000 {
		t.Errorf("%d one-byte blocks accepted, %d bytes counted: want the budget of 1000 reached first", accepted, s.UploadedBytes())
	}
}
