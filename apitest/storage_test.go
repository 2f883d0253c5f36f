package apitest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest"
)

// completedRun creates a run with body on a new connection of iModel m,
// steps it to Completed and returns it.
func completedRun(t *testing.T, s *apitest.Server, clock *apitest.ManualClock, m, body string) api.ExportRun {
	t.Helper()
	id := addConnection(s, m)
	created := call(t, http.MethodPost, s.URL+"/connections/"+id+"/runs", body)
	if created.status != http.StatusAccepted {
		t.Fatalf("create run: %d %s", created.status, created.body)
	}
	clock.Advance(5 * time.Second)
	loc := strings.TrimPrefix(created.header.Get("Location"), "/export")
	return decode[api.ExportRunResponse](t, call(t, http.MethodGet, s.URL+loc, "")).Run
}

// outputFileID is the exportOutputFileId of a run's only task.
func outputFileID(run api.ExportRun) string {
	return run.Jobs[0].Tasks[0].ExportOutputFileID
}

// storageURL is the Storage API beside the server's Export API.
func storageURL(s *apitest.Server) string { return strings.TrimSuffix(s.URL, "/export") + "/storage" }

// blobGet fetches a download link with the given extra headers and no
// Authorization unless given.
func blobGet(t *testing.T, link string, header map[string]string) response {
	t.Helper()
	return callWith(t, http.MethodGet, link, "", header)
}

// downloadLink asks the Storage API for a file's link and checks the 302.
func downloadLink(t *testing.T, s *apitest.Server, fileID string) string {
	t.Helper()
	r := call(t, http.MethodGet, storageURL(s)+"/files/"+fileID+"/download", "")
	if r.status != http.StatusFound {
		t.Fatalf("download: status %d, body %s; want 302", r.status, r.body)
	}
	link := r.header.Get("Location")
	u, err := url.Parse(link)
	if err != nil || u.Scheme+"://"+u.Host != s.BlobURL() || u.Query().Get("sig") == "" {
		t.Fatalf("Location is not a signed link on the blob origin %s", s.BlobURL())
	}
	return link
}

// TestRunProducesIFCFile: a successful run names a file whose metadata,
// link and content are a real IFC file of the requested version, named like
// the iModel.
func TestRunProducesIFCFile(t *testing.T) {
	for _, tc := range []struct{ version, schema string }{
		{"IFC4.3", "IFC4X3_ADD2"},
		{"IFC2x3", "IFC2X3"},
		{"IFC2x3 CV 2.0", "IFC2X3"},
		{"IFC4 RV 1.2", "IFC4"},
		{"", "IFC4X3_ADD2"},
	} {
		t.Run(tc.schema+" "+tc.version, func(t *testing.T) {
			if got, ok := apitest.IFCSchema(tc.version); !ok || got != tc.schema {
				t.Errorf("IFCSchema(%q) = %q, %t", tc.version, got, ok)
			}
			body := `{"exportType":"IFC"}`
			if tc.version != "" {
				body = `{"exportType":"IFC","ifcVersion":"` + tc.version + `"}`
			}
			clock := apitest.NewManualClock(start)
			s := newServer(t, apitest.Options{Clock: clock})
			run := completedRun(t, s, clock, "Tower 'B'", body)
			fileID := outputFileID(run)
			if fileID == "" {
				t.Fatal("no exportOutputFileId")
			}
			meta := decode[api.StorageFileResponse](t, call(t, http.MethodGet, storageURL(s)+"/files/"+fileID, "")).File
			if meta.ID != fileID || meta.DisplayName != "Tower__B_.ifc" {
				t.Errorf("metadata id %q name %q, want %q and Tower__B_.ifc", meta.ID, meta.DisplayName, fileID)
			}
			got := blobGet(t, downloadLink(t, s, fileID), nil)
			if got.status != http.StatusOK || int64(len(got.body)) != meta.Size {
				t.Fatalf("blob: status %d, %d bytes; want 200 and the metadata's %d", got.status, len(got.body), meta.Size)
			}
			text := string(got.body)
			for _, want := range []string{
				"ISO-10303-21;\nHEADER;\n", "FILE_SCHEMA(('" + tc.schema + "'));", "\nDATA;\n",
				"IFCPROJECT(", "'Tower ''B'''", "IFCSITE(", "IFCBUILDING(", "IFCRELAGGREGATES(", "ENDSEC;\nEND-ISO-10303-21;\n",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("file lacks %q:\n%s", want, text)
				}
			}
			if !strings.HasPrefix(text, "ISO-10303-21;") {
				t.Errorf("first line %q", strings.SplitN(text, "\n", 2)[0])
			}
		})
	}
}

// TestUserBlobRunHasNoStorageFile: a run whose output went to the caller's
// container names no file in Storage.
func TestUserBlobRunHasNoStorageFile(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock})
	run := completedRun(t, s, clock, "m1", `{"exportType":"IFC","outputOptions":{"location":"USER_BLOB_STORAGE","outputSasUrl":"https://example.com/c?sv=1&sig=abc"}}`)
	if id := outputFileID(run); id != "" {
		t.Errorf("exportOutputFileId = %q, want none", id)
	}
}

// TestStorageAnswers: unknown files are 404 FileNotFound on both
// operations, and the Storage API wants a bearer token like the Export API.
func TestStorageAnswers(t *testing.T) {
	s := newServer(t, apitest.Options{})
	for _, p := range []string{"/files/nope", "/files/nope/download"} {
		wantError(t, call(t, http.MethodGet, storageURL(s)+p, ""), http.StatusNotFound, "FileNotFound", "Requested file is not available.")
		r := callWith(t, http.MethodGet, storageURL(s)+p, "", nil)
		wantError(t, r, http.StatusUnauthorized, "HeaderNotFound", "Header Authorization was not found in the request. Access denied.")
	}
	// A file removed is gone from both operations.
	added := s.AddFile("a.ifc", []byte("a"))
	if r := call(t, http.MethodGet, storageURL(s)+"/files/"+added, ""); r.status != http.StatusOK {
		t.Errorf("added file: %d", r.status)
	}
	s.RemoveFile(added)
	wantError(t, call(t, http.MethodGet, storageURL(s)+"/files/"+added+"/download", ""), http.StatusNotFound, "FileNotFound", "Requested file is not available.")
	if _, ok := apitest.IFCSchema("IFC5"); ok {
		t.Error("IFCSchema accepts a version outside the contract")
	}
}

// TestRunFileOnlyOnceCompleted: a run names its file, and Storage has it,
// only once the run has completed.
func TestRunFileOnlyOnceCompleted(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock})
	run := completedRun(t, s, clock, "m1", `{"exportType":"IFC"}`)
	id := outputFileID(run)
	clock.Advance(-time.Second) // back to Finalizing: the file is not there yet
	wantError(t, call(t, http.MethodGet, storageURL(s)+"/files/"+id, ""), http.StatusNotFound, "FileNotFound", "Requested file is not available.")
}

// TestBlobRefusesAuthorization: a request with both a SAS and a bearer
// token is refused with Azure's words, and the blob origin records it.
func TestBlobRefusesAuthorization(t *testing.T) {
	s := newServer(t, apitest.Options{})
	id := s.AddFile("a.ifc", []byte("content"))
	link := downloadLink(t, s, id)
	r := blobGet(t, link, map[string]string{"Authorization": "Bearer " + token})
	if r.status != http.StatusBadRequest || !bytes.Contains(r.body, []byte("The request has both SAS authentication scheme and 'Bearer' authorization scheme. Only one scheme should be used.")) {
		t.Errorf("status %d body %s; want 400 with Azure's words", r.status, r.body)
	}
	recs := s.BlobRequests()
	if len(recs) != 1 || recs[0].Header.Get("Authorization") == "" {
		t.Errorf("records: %d, want the one request with its Authorization header", len(recs))
	}
}

// TestBlobSignature: a link works only as signed and until it expires on
// the server's clock.
func TestBlobSignature(t *testing.T) {
	clock := apitest.NewManualClock(start)
	s := newServer(t, apitest.Options{Clock: clock})
	id := s.AddFile("a.ifc", []byte("content"))
	link := downloadLink(t, s, id)
	u, _ := url.Parse(link)
	q := u.Query()
	q.Set("sig", "AAAA"+q.Get("sig")[4:])
	u.RawQuery = q.Encode()
	if r := blobGet(t, u.String(), nil); r.status != http.StatusForbidden || !bytes.Contains(r.body, []byte("<Code>AuthenticationFailed</Code>")) {
		t.Errorf("tampered signature: %d %s", r.status, r.body)
	}
	other := s.AddFile("b.ifc", []byte("other"))
	defer s.RemoveFile(other)
	u, _ = url.Parse(link)
	u.Path = strings.Replace(u.Path, id, other, 1)
	if r := blobGet(t, u.String(), nil); r.status != http.StatusForbidden {
		t.Errorf("link of another path: %d, want 403", r.status)
	}
	clock.Advance(time.Hour)
	if r := blobGet(t, link, nil); r.status != http.StatusForbidden || !bytes.Contains(r.body, []byte("Signature not valid in the specified time frame")) {
		t.Errorf("expired link: %d %s", r.status, r.body)
	}
}

// TestBlobRange: Range gives 206 with Content-Range and the bytes asked
// for; a range past the end is 416; an If-Range that does not match gives
// the whole content.
func TestBlobRange(t *testing.T) {
	s := newServer(t, apitest.Options{})
	content := []byte("0123456789abcdef")
	link := downloadLink(t, s, s.AddFile("a.ifc", content))
	whole := blobGet(t, link, nil)
	r := blobGet(t, link, map[string]string{"Range": "bytes=10-"})
	if r.status != http.StatusPartialContent || string(r.body) != "abcdef" || r.header.Get("Content-Range") != "bytes 10-15/16" {
		t.Errorf("bytes=10-: %d %q %q", r.status, r.body, r.header.Get("Content-Range"))
	}
	r = blobGet(t, link, map[string]string{"Range": "bytes=2-4", "If-Range": whole.header.Get("ETag")})
	if r.status != http.StatusPartialContent || string(r.body) != "234" {
		t.Errorf("bytes=2-4 with a matching If-Range: %d %q", r.status, r.body)
	}
	r = blobGet(t, link, map[string]string{"Range": "bytes=2-", "If-Range": `"other"`})
	if r.status != http.StatusOK || !bytes.Equal(r.body, content) {
		t.Errorf("stale If-Range: %d %q, want 200 and everything", r.status, r.body)
	}
	r = blobGet(t, link, map[string]string{"Range": "bytes=16-"})
	if r.status != http.StatusRequestedRangeNotSatisfiable || r.header.Get("Content-Range") != "bytes */16" {
		t.Errorf("bytes=16-: %d %q", r.status, r.header.Get("Content-Range"))
	}
}

// TestPatternFile: a pattern file's content is PatternByte at each offset.
func TestPatternFile(t *testing.T) {
	s := newServer(t, apitest.Options{})
	const size = 100_000
	r := blobGet(t, downloadLink(t, s, s.AddPatternFile("big.bin", size)), map[string]string{"Range": "bytes=70000-"})
	want := make([]byte, size-70000)
	for i := range want {
		want[i] = apitest.PatternByte(int64(70000 + i))
	}
	if !bytes.Equal(r.body, want) {
		t.Errorf("pattern content differs (%d bytes)", len(r.body))
	}
}

// TestBlobFaults: each fault spoils one transfer as documented, then the
// blob serves normally again.
func TestBlobFaults(t *testing.T) {
	s := newServer(t, apitest.Options{})
	content := bytes.Repeat([]byte("x"), 50_000)
	id := s.AddFile("a.ifc", content)
	link := downloadLink(t, s, id)

	s.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobCut, After: 1000})
	body, err := rawGet(context.Background(), link)
	if !errors.Is(err, io.ErrUnexpectedEOF) || len(body) != 1000 {
		t.Errorf("cut: %d bytes, err %v; want 1000 and an unexpected EOF", len(body), err)
	}
	s.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobWrongLength, Delta: 7})
	if r := blobGet(t, link, nil); len(r.body) != len(content)+7 || r.header.Get("Content-Length") != "50007" {
		t.Errorf("wrong length: %d bytes, Content-Length %q", len(r.body), r.header.Get("Content-Length"))
	}
	s.InjectBlobFault(apitest.BlobFault{Kind: apitest.BlobExpired})
	if r := blobGet(t, link, nil); r.status != http.StatusForbidden {
		t.Errorf("expired: %d", r.status)
	}
	s.InjectBlobFault(apitest.BlobFault{Kind: apitest.BlobSlow, After: 20_000})
	if r := blobGet(t, link, nil); !bytes.Equal(r.body, content) {
		t.Errorf("slow: %d bytes", len(r.body))
	}
	// A stalled transfer ends when the client gives up.
	s.InjectBlobFault(apitest.BlobFault{Kind: apitest.BlobStall, After: 100})
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { _, err := rawGetUntil(ctx, link, 100, cancel); got <- err }()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("stall: err %v, want the client's cancellation", err)
	}
	if r := blobGet(t, link, nil); !bytes.Equal(r.body, content) {
		t.Errorf("after the faults: %d bytes", len(r.body))
	}
}

// rawGet fetches a link and returns what arrived, with the read error.
func rawGet(ctx context.Context, link string) ([]byte, error) {
	return rawGetUntil(ctx, link, -1, nil)
}

// rawGetUntil is rawGet that calls then once n bytes have arrived.
func rawGetUntil(ctx context.Context, link string, n int, then func()) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if n >= 0 {
		if _, err := io.CopyN(&buf, resp.Body, int64(n)); err != nil {
			return buf.Bytes(), err
		}
		then()
	}
	_, err = io.Copy(&buf, resp.Body)
	return buf.Bytes(), err
}

// TestBlobRecordsAreBounded: the blob origin keeps the last 512 requests.
func TestBlobRecordsAreBounded(t *testing.T) {
	s := newServer(t, apitest.Options{})
	link := downloadLink(t, s, s.AddFile("a.ifc", []byte("c")))
	for i := range 520 {
		blobGet(t, link, map[string]string{"X-Seq": string(rune('a' + i%26))})
	}
	recs := s.BlobRequests()
	if len(recs) != 512 {
		t.Fatalf("%d records, want 512", len(recs))
	}
	if diff := cmp.Diff(string(rune('a'+8%26)), recs[0].Header.Get("X-Seq")); diff != "" {
		t.Errorf("oldest record kept is not the 9th request (-want +got):\n%s", diff)
	}
}
