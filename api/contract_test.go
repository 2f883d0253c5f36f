package api_test

import (
	"context"
	"encoding/json"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
)

// loadContract loads and validates openapi.yaml the way any OpenAPI 3.0 tool
// would, failing the test on the first problem.
func loadContract(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("../openapi.yaml")
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml does not validate: %v", err)
	}
	return doc
}

func TestContractLoadsAndValidates(t *testing.T) {
	doc := loadContract(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if got := doc.Servers[0].URL; got != "https://api.bentley.com/export" {
		t.Errorf("server = %q", got)
	}
}

// TestContractOperations pins the eight operations of the Export API, the
// six of the Storage API that get an output file and upload a mapping file,
// and the metadata another language's generator needs on each.
func TestContractOperations(t *testing.T) {
	doc := loadContract(t)
	want := map[string]string{
		"createExportConnection":      "POST /connections",
		"getExportConnections":        "GET /connections",
		"getExportConnection":         "GET /connections/{connectionId}",
		"deleteExportConnection":      "DELETE /connections/{connectionId}",
		"createExportConnectionRun":   "POST /connections/{connectionId}/runs",
		"getExportConnectionRuns":     "GET /connections/{connectionId}/runs",
		"getExportConnectionRun":      "GET /connections/{connectionId}/runs/{runId}",
		"getAuthorizationInformation": "GET /authorizationinformation",
		"getFile":                     "GET /files/{fileId}",
		"downloadFile":                "GET /files/{fileId}/download",
		"getTopLevelFoldersAndFiles":  "GET /",
		"createFile":                  "POST /folders/{folderId}/files",
		"completeFileUpload":          "POST /files/{fileId}/complete",
		"deleteFile":                  "DELETE /files/{fileId}",
	}
	got := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			got[op.OperationID] = method + " " + path
			if len(op.Tags) == 0 || op.Summary == "" || op.Description == "" {
				t.Errorf("%s: tags %v, summary %q, description %q: all are required", op.OperationID, op.Tags, op.Summary, op.Description)
			}
			// OpenAPI 3.0 ignores a header parameter named Accept: generators
			// expose it without sending it. The media type is a convention
			// the description states (TestContractPolicies).
			for _, p := range op.Parameters {
				if p.Value.In == "header" && strings.EqualFold(p.Value.Name, "Accept") {
					t.Errorf("%s: declares an Accept header parameter", op.OperationID)
				}
			}
			// Every operation types the failures it does not list, so that
			// generators (ogen's convenient errors) type every error status.
			if d := op.Responses.Default(); d == nil || d.Ref != "#/components/responses/Failure" {
				t.Errorf("%s: no default response of #/components/responses/Failure", op.OperationID)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("operations (-want +got):\n%s", diff)
	}
	if len(doc.Security) == 0 {
		t.Error("no global security requirement")
	}
}

// TestContractCreateRun checks the central operation against its reference page.
func TestContractCreateRun(t *testing.T) {
	doc := loadContract(t)
	op := doc.Paths.Find("/connections/{connectionId}/runs").Post
	var statuses []string
	for code := range op.Responses.Map() {
		statuses = append(statuses, code)
	}
	sort.Strings(statuses)
	if diff := cmp.Diff([]string{"202", "303", "401", "403", "404", "409", "422", "429", "default"}, statuses); diff != "" {
		t.Errorf("responses (-want +got):\n%s", diff)
	}
	for _, code := range []int{202, 303} {
		h := op.Responses.Status(code).Value.Headers["Location"]
		if h == nil || h.Value.Schema.Value.Format != "uri-reference" {
			t.Errorf("%d: Location header missing or not a uri-reference", code)
		}
	}
	retry := op.Responses.Status(429).Value.Headers["Retry-After"]
	if retry == nil || !retry.Value.Schema.Value.Type.Is("integer") {
		t.Error("429: Retry-After header missing or not an integer")
	}
	checkCreateRunBody(t, op.RequestBody.Value.Content.Get("application/json").Schema.Value)
}

// checkCreateRunBody checks the create-run body against the reference page:
// required fields, closed objects, the page's descriptions and enums.
func checkCreateRunBody(t *testing.T, body *openapi3.Schema) {
	t.Helper()
	if diff := cmp.Diff([]string{"exportType"}, body.Required); diff != "" {
		t.Errorf("required (-want +got):\n%s", diff)
	}
	closed := func(name string, s *openapi3.Schema) {
		if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Errorf("%s: additionalProperties must be false", name)
		}
	}
	closed("body", body)
	closed("inputOptions", body.Properties["inputOptions"].Value)
	closed("outputOptions", body.Properties["outputOptions"].Value)

	// A property that refers to a shared schema does so through allOf, so
	// that it can carry the page's own description beside the reference.
	enum := func(s *openapi3.Schema) []any {
		if len(s.AllOf) == 1 {
			return s.AllOf[0].Value.Enum
		}
		return s.Enum
	}
	for name, want := range map[string]string{
		"exportType": "Export type one of 'IFC'.",
		"ifcVersion": "IFC version one of 'IFC4.3' (IFC4.3_ADD2), 'IFC2x3', 'IFC2x3 CV 2.0', 'IFC4 RV 1.2' if exportType is 'IFC'.",
	} {
		if got := body.Properties[name].Value.Description; got != want {
			t.Errorf("%s description = %q, want the page's %q", name, got, want)
		}
	}
	if diff := cmp.Diff([]any{"IFC", "PDF"}, enum(body.Properties["exportType"].Value)); diff != "" {
		t.Errorf("exportType enum (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{"IFC4.3", "IFC2x3", "IFC2x3 CV 2.0", "IFC4 RV 1.2"}, enum(body.Properties["ifcVersion"].Value)); diff != "" {
		t.Errorf("ifcVersion enum (-want +got):\n%s", diff)
	}
	output := body.Properties["outputOptions"].Value
	if diff := cmp.Diff([]any{"USER_BLOB_STORAGE", "STORAGE"}, enum(output.Properties["location"].Value)); diff != "" {
		t.Errorf("location enum (-want +got):\n%s", diff)
	}
	input := body.Properties["inputOptions"].Value
	if _, ok := input.Properties["mappingfileBlobUrl"]; !ok {
		t.Error("inputOptions.mappingfileBlobUrl missing (the page spells it with a lower-case f)")
	}
	if m := input.Properties["modelIds"].Value; m == nil || m.MinItems != 1 || !m.Type.Is("array") {
		t.Error("inputOptions.modelIds must be an array with minItems 1")
	}
}

// TestContractExamplesValidate validates every example in the document (media
// types, parameters, headers, named examples) against the schema it belongs
// to, and checks that every request body and every response body has one.
func TestContractExamplesValidate(t *testing.T) {
	doc := loadContract(t)
	checked := 0
	check := func(where string, schema *openapi3.SchemaRef, value any) {
		t.Helper()
		checked++
		if err := schema.Value.VisitJSON(value); err != nil {
			t.Errorf("%s: example does not validate: %v", where, err)
		}
	}
	media := func(where string, mt *openapi3.MediaType) {
		t.Helper()
		if mt.Example == nil && len(mt.Examples) == 0 {
			t.Errorf("%s: no example", where)
		}
		if mt.Example != nil {
			check(where, mt.Schema, mt.Example)
		}
		for name, ex := range mt.Examples {
			check(where+" examples."+name, mt.Schema, ex.Value.Value)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			where := method + " " + path
			if op.RequestBody != nil {
				for ct, mt := range op.RequestBody.Value.Content {
					media(where+" request "+ct, mt)
				}
			}
			for code, resp := range op.Responses.Map() {
				for ct, mt := range resp.Value.Content {
					media(where+" "+code+" "+ct, mt)
				}
				for name, h := range resp.Value.Headers {
					if h.Value.Example != nil {
						check(where+" "+code+" header "+name, h.Value.Schema, h.Value.Example)
					}
				}
			}
			for _, p := range append(append(openapi3.Parameters{}, item.Parameters...), op.Parameters...) {
				if p.Value.Example != nil {
					check(where+" parameter "+p.Value.Name, p.Value.Schema, p.Value.Example)
				}
			}
		}
	}
	// Every example written: 8 operations' bodies and parameters, shared ones
	// counted once per use. A drop means examples were lost.
	if checked < 60 {
		t.Errorf("validated %d examples, expected at least 60", checked)
	}
	t.Logf("validated %d examples", checked)
}

// TestReferenceExampleRoundTrips decodes the example request of the reference
// page into the generated type and encodes it again: nothing may be lost,
// renamed or added.
func TestReferenceExampleRoundTrips(t *testing.T) {
	raw, err := os.ReadFile("testdata/create-run-request.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var body api.ExportConnectionRunCreate
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("decode into api.ExportConnectionRunCreate: %v", err)
	}
	again, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip changed the request (-page +generated):\n%s", diff)
	}
	if body.InputOptions == nil || body.InputOptions.MappingfileBlobURL == nil || *body.InputOptions.MappingfileBlobURL != "https://example.com" {
		t.Errorf("mappingfileBlobUrl not decoded: %+v", body.InputOptions)
	}
}

// TestTaskErrorBridgeExitCodeIs64Bit decodes the largest exit code the
// service reports.
func TestTaskErrorBridgeExitCodeIs64Bit(t *testing.T) {
	var e api.TaskError
	if err := json.Unmarshal([]byte(`{"bridgeExitCode": 4294967295}`), &e); err != nil {
		t.Fatal(err)
	}
	if e.BridgeExitCode == nil || *e.BridgeExitCode != 4294967295 {
		t.Errorf("bridgeExitCode = %v", e.BridgeExitCode)
	}
}

// TestContractStorageOperations checks the Storage operations against the
// Storage reference: their own base URL, the 302 of a download with an
// absolute Location, and the answers a client must classify.
func TestContractStorageOperations(t *testing.T) {
	doc := loadContract(t)
	for _, path := range []string{"/files/{fileId}", "/files/{fileId}/download"} {
		item := doc.Paths.Find(path)
		if item == nil {
			t.Fatalf("%s: missing", path)
		}
		if len(item.Servers) != 1 || item.Servers[0].URL != "https://api.bentley.com/storage" {
			t.Errorf("%s: servers %v, want the Storage base URL alone", path, item.Servers)
		}
		var statuses []string
		for code := range item.Get.Responses.Map() {
			statuses = append(statuses, code)
		}
		sort.Strings(statuses)
		want := []string{"200", "401", "403", "404", "429", "default"}
		if path == "/files/{fileId}/download" {
			want = []string{"302", "401", "403", "404", "429", "default"}
		}
		if diff := cmp.Diff(want, statuses); diff != "" {
			t.Errorf("%s responses (-want +got):\n%s", path, diff)
		}
		notFound := item.Get.Responses.Status(404).Value.Content.Get("application/json").Example
		if code := notFound.(map[string]any)["error"].(map[string]any)["code"]; code != "FileNotFound" {
			t.Errorf("%s: 404 example code %v, want FileNotFound", path, code)
		}
		if item.Get.Responses.Status(429).Value.Headers["Retry-After"] == nil {
			t.Errorf("%s: 429 without Retry-After", path)
		}
	}
	download := doc.Paths.Find("/files/{fileId}/download").Get
	loc := download.Responses.Status(302).Value.Headers["Location"]
	if loc == nil || !loc.Value.Required || loc.Value.Schema.Value.Format != "uri" {
		t.Error("302: Location header missing, optional or not an absolute uri")
	}
	file := doc.Components.Schemas["storage-file"].Value
	if diff := cmp.Diff([]string{"id", "displayName", "size"}, file.Required); diff != "" {
		t.Errorf("storage-file required (-want +got):\n%s", diff)
	}
	if f := file.Properties["size"].Value; !f.Type.Is("integer") || f.Format != "int64" {
		t.Errorf("size: %v %q, want a 64-bit integer", f.Type, f.Format)
	}
}

// TestContractPolicies pins what the contract says for bindings generated
// from it: one OAuth2 scheme with both flows, the media type and redirect
// conventions in the API's description, redirects not to be followed, and
// what a client does with a state or result it does not know.
func TestContractPolicies(t *testing.T) {
	doc := loadContract(t)
	schemes := doc.Components.SecuritySchemes
	oauth := schemes["oauth2"]
	if len(schemes) != 1 || oauth == nil || oauth.Value.Flows == nil ||
		oauth.Value.Flows.ClientCredentials == nil || oauth.Value.Flows.AuthorizationCode == nil {
		t.Errorf("security schemes %v: want one, oauth2, with the client credentials and authorization code flows", keys(schemes))
	}
	if len(doc.Security) != 1 || doc.Security[0]["oauth2"] == nil {
		t.Errorf("security %v: want oauth2 alone", doc.Security)
	}
	for _, phrase := range []string{
		"Accept: application/vnd.bentley.itwin-platform.v1+json",
		"application/vnd.bentley.itwin-platform.v1+octet-stream",
		"redirect: \"manual\"", "http.ErrUseLastResponse",
		"leaves a client unable to tell whether the run has ended", "classify a failure by its status",
	} {
		if !strings.Contains(doc.Info.Description, phrase) {
			t.Errorf("the API's description does not say %q", phrase)
		}
	}
	created := doc.Paths.Find("/connections/{connectionId}/runs").Post.Responses
	if d := created.Status(303).Value.Description; d == nil || !strings.Contains(*d, "Do not let the HTTP client follow this redirect") {
		t.Errorf("303 description %q does not tell clients to turn redirects off", *d)
	}
	for name, phrase := range map[string]string{
		"execution-state":  "A state not listed here is an answer the client cannot use",
		"execution-result": "A result not listed here",
	} {
		if d := doc.Components.Schemas[name].Value.Description; !strings.Contains(d, phrase) {
			t.Errorf("%s: description %q states no policy for values it does not list", name, d)
		}
	}
}

// keys returns the keys of m, sorted.
func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestContractUploadOperations pins the Storage operations of an upload:
// served by the Storage API, with the answers its reference pages document.
func TestContractUploadOperations(t *testing.T) {
	doc := loadContract(t)
	for _, tc := range []struct {
		path, method string
		want         []string
	}{
		{"/", "GET", []string{"200", "401", "403", "404", "422", "429", "default"}},
		{"/folders/{folderId}/files", "POST", []string{"202", "401", "403", "404", "422", "429", "default"}},
		{"/files/{fileId}/complete", "POST", []string{"200", "401", "403", "404", "409", "429", "default"}},
		{"/files/{fileId}", "DELETE", []string{"204", "401", "403", "404", "429", "default"}},
	} {
		item := doc.Paths.Find(tc.path)
		if item == nil || item.GetOperation(tc.method) == nil {
			t.Fatalf("%s %s: missing", tc.method, tc.path)
		}
		if len(item.Servers) != 1 || item.Servers[0].URL != "https://api.bentley.com/storage" {
			t.Errorf("%s: servers %v, want the Storage base URL alone", tc.path, item.Servers)
		}
		got := keys(item.GetOperation(tc.method).Responses.Map())
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s %s responses (-want +got):\n%s", tc.method, tc.path, diff)
		}
	}
	links := doc.Components.Schemas["storage-file-upload-links"].Value
	if diff := cmp.Diff([]string{"uploadUrl", "completeUrl"}, links.Required); diff != "" {
		t.Errorf("storage-file-upload-links required (-want +got):\n%s", diff)
	}
	create := doc.Paths.Find("/folders/{folderId}/files").Post.Description
	for _, phrase := range []string{"x-ms-blob-type: BlockBlob", "no `Authorization` header", "256 MiB", "comp=block", "comp=blocklist"} {
		if !strings.Contains(create, phrase) {
			t.Errorf("createFile's description does not say %q", phrase)
		}
	}
	if root := doc.Components.Schemas["storage-items-links"].Value.Properties["folder"]; root == nil {
		t.Error("storage-items-links: no folder link (the root folder)")
	}
}
