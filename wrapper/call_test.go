package wrapper

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
)

// TestOperationOf: a request that comes through the pipeline's Do, built by
// the generated client for an operation of the contract, is known as that
// operation by method and path (ids with an encoded "/" included), so it is
// retried as the wrapper's own call; any other request is named by its
// method and path and retried as its method allows (POST and PATCH on 429
// only).
func TestOperationOf(t *testing.T) {
	t.Parallel()
	c, err := New(Options{TokenSource: StaticToken("t"), BaseURL: "https://api.example.com/export"})
	if err != nil {
		t.Fatal(err)
	}
	storage := c.storageServer()
	build := func(r *http.Request, err error) *http.Request {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	raw := func(method, url string) *http.Request {
		t.Helper()
		return build(http.NewRequest(method, url, nil))
	}
	type got struct {
		Name string
		Rule retryRule
	}
	for _, tc := range []struct {
		req  *http.Request
		want got
	}{
		{build(api.NewCreateExportConnectionRequest(c.server, api.ExportConnectionCreate{IModelID: "m"})), got{"createExportConnection", retryRateLimit}},
		{build(api.NewGetExportConnectionRequest(c.server, "c 1")), got{"getExportConnection", retryIdempotent}},
		{build(api.NewDeleteExportConnectionRequest(c.server, "c1")), got{"deleteExportConnection", retryRateLimit}},
		{build(api.NewGetExportConnectionsRequest(c.server, &api.GetExportConnectionsParams{ImodelID: "m"})), got{"getExportConnections", retryIdempotent}},
		{build(api.NewCreateExportConnectionRunRequest(c.server, "c1", api.ExportConnectionRunCreate{})), got{"createExportConnectionRun", retryCreate}},
		{build(api.NewGetExportConnectionRunRequest(c.server, "c1", "r/1")), got{"getExportConnectionRun", retryIdempotent}},
		{build(api.NewGetExportConnectionRunsRequest(c.server, "c1", nil)), got{"getExportConnectionRuns", retryIdempotent}},
		{build(api.NewGetAuthorizationInformationRequest(c.server, nil)), got{"getAuthorizationInformation", retryIdempotent}},
		{build(api.NewGetTopLevelFoldersAndFilesRequest(storage, &api.GetTopLevelFoldersAndFilesParams{ITwinID: "t1"})), got{"getTopLevelFoldersAndFiles", retryIdempotent}},
		{build(api.NewGetFileRequest(storage, "f1")), got{"getFile", retryIdempotent}},
		{build(api.NewDownloadFileRequest(storage, "f1")), got{"downloadFile", retryIdempotent}},
		{build(api.NewCreateFileRequest(storage, "d1", api.CreateFileJSONRequestBody{})), got{"createFile", retryRateLimit}},
		{build(api.NewCompleteFileUploadRequest(storage, "f1")), got{"completeFileUpload", retryIdempotent}},
		{build(api.NewDeleteFileRequest(storage, "f1")), got{"deleteFile", retryIdempotent}},
		// Not in the contract: named by method and path.
		{raw(http.MethodPost, c.server+"connections/c1/runs/r1/cancel"), got{"POST /export/connections/c1/runs/r1/cancel", retryRateLimit}},
		{raw(http.MethodPatch, c.server+"connections/c1"), got{"PATCH /export/connections/c1", retryRateLimit}},
		{raw(http.MethodPut, c.server+"connections/c1/runs/r1/notes"), got{"PUT /export/connections/c1/runs/r1/notes", retryIdempotent}},
		// An empty segment is no id; a Storage path under the Export API's
		// base, or one outside both, is no operation of the contract.
		{raw(http.MethodGet, c.server+"connections//runs"), got{"GET /export/connections//runs", retryIdempotent}},
		{raw(http.MethodGet, c.server+"files/f1"), got{"GET /export/files/f1", retryIdempotent}},
		{raw(http.MethodPost, "https://api.example.com/other/connections"), got{"POST /other/connections", retryRateLimit}},
	} {
		op := c.operationOf(tc.req)
		if d := cmp.Diff(tc.want, got{op.name, op.rule}); d != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.req.Method, tc.req.URL, d)
		}
	}
}

// TestOperationOf_NoStorageURL: a client whose Storage URL could not be
// derived on its origin still names the requests sent through API().
func TestOperationOf_NoStorageURL(t *testing.T) {
	t.Parallel()
	c, err := New(Options{TokenSource: StaticToken("t"), BaseURL: "https://api.example.com/custom"})
	if err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]string{
		"https://api.example.com/custom/connections/c1": "getExportConnection",
		"https://api.example.com/storage/files/f1":      "GET /storage/files/f1",
	} {
		req, err := http.NewRequest(http.MethodGet, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		if op := c.operationOf(req); op.name != want {
			t.Errorf("GET %s: operation %q, want %q", url, op.name, want)
		}
	}
}
