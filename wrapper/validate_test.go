package wrapper_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

func TestValidateRunRequest_NamesEveryProblem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		req  api.ExportConnectionRunCreate
		want []wrapper.Problem
	}{
		{"minimal", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC}, nil},
		{"pdf", api.ExportConnectionRunCreate{ExportType: api.ExportTypePDF, InputOptions: &api.ExportRunInputOptions{ModelIDs: &[]string{"m1"}}}, nil},
		{"missing type", api.ExportConnectionRunCreate{}, []wrapper.Problem{{Field: "exportType", Message: "is required"}}},
		{"unknown type", api.ExportConnectionRunCreate{ExportType: "DWG"}, []wrapper.Problem{{Field: "exportType", Message: `"DWG" is not one of IFC, PDF`}}},
		{"ifc version with pdf", api.ExportConnectionRunCreate{ExportType: api.ExportTypePDF, IFCVersion: ptr(api.IFCVersionIFC2X3)}, []wrapper.Problem{{Field: "ifcVersion", Message: "is allowed only with exportType IFC"}}},
		{"blob without sas", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, OutputOptions: &api.ExportRunOutputOptions{Location: ptr(api.LocationUSERBLOBSTORAGE)}}, []wrapper.Problem{{Field: "outputOptions.outputSasUrl", Message: "is required with location USER_BLOB_STORAGE"}}},
		{"blob complete", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, OutputOptions: &api.ExportRunOutputOptions{
			Location: ptr(api.LocationUSERBLOBSTORAGE), OutputSASURL: ptr("https://a.blob.core.windows.net/c?sig=x"),
			LogsSASURL: ptr("https://a.blob.core.windows.net/l?sig=y"), SaveLogs: ptr(true)}}, nil},
		{"bad location", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, OutputOptions: &api.ExportRunOutputOptions{Location: ptr(api.Location("DISK"))}}, []wrapper.Problem{{Field: "outputOptions.location", Message: `"DISK" is not one of STORAGE, USER_BLOB_STORAGE`}}},
		{"mapping url not https", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, InputOptions: &api.ExportRunInputOptions{MappingfileBlobURL: ptr("file:///etc/passwd")}}, []wrapper.Problem{{Field: "inputOptions.mappingfileBlobUrl", Message: "must be an absolute https URL"}}},
		{"blank model id", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, InputOptions: &api.ExportRunInputOptions{ModelIDs: &[]string{"m1", ""}}}, []wrapper.Problem{{Field: "inputOptions.modelIds[1]", Message: "must not be empty"}}},
		{"blank folder", api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC, OutputOptions: &api.ExportRunOutputOptions{FolderID: ptr("")}}, []wrapper.Problem{{Field: "outputOptions.folderId", Message: "must not be empty when given"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := wrapper.ValidateRunRequest(tc.req)
			var got []wrapper.Problem
			var ve *wrapper.ValidationError
			if errors.As(err, &ve) {
				got = ve.Problems
			} else if err != nil {
				t.Fatalf("err = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateRunRequest_CreateRunSendsNothing(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent: %s %s", r.Method, r.RequestURI)
	})
	c := newClient(t, srv.base())
	req := api.ExportConnectionRunCreate{
		ExportType:   api.ExportTypePDF,
		IFCVersion:   ptr(api.IFCVersion("IFC5")),
		InputOptions: &api.ExportRunInputOptions{ModelIDs: &[]string{}, ChangesetID: ptr(" ")},
		OutputOptions: &api.ExportRunOutputOptions{
			Location:     ptr(api.LocationSTORAGE),
			OutputSASURL: ptr("https://acct.blob.core.windows.net/c?sig=SECRET"),
			LogsSASURL:   ptr("http://acct.blob.core.windows.net/logs?sig=SECRET"),
		},
	}
	_, err := c.CreateRun(context.Background(), "c1", req)
	var ve *wrapper.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, wrapper.ErrValidation) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	want := []wrapper.Problem{
		{Field: "ifcVersion", Message: `"IFC5" is not one of IFC4.3, IFC2x3, IFC2x3 CV 2.0, IFC4 RV 1.2`},
		{Field: "inputOptions.changesetId", Message: "must not be empty when given"},
		{Field: "inputOptions.modelIds", Message: "must not be empty: leave it out to export every model"},
		{Field: "outputOptions.outputSasUrl", Message: "is allowed only with location USER_BLOB_STORAGE"},
		{Field: "outputOptions.logsSasUrl", Message: "is allowed only with saveLogs true"},
		{Field: "outputOptions.logsSasUrl", Message: "is allowed only with location USER_BLOB_STORAGE"},
		{Field: "outputOptions.logsSasUrl", Message: "must be an absolute https URL"},
	}
	if diff := cmp.Diff(want, ve.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("validation error repeats a SAS signature: %v", err)
	}
	for _, id := range []string{"", ".", ".."} {
		if _, err := c.CreateRun(context.Background(), id, ifcRequest()); !errors.Is(err, wrapper.ErrValidation) {
			t.Errorf("connection id %q: err = %v, want ErrValidation", id, err)
		}
	}
}

// TestValidate_EveryOperationValidatesFirst: an id that cannot be a path
// segment, or a body the API would refuse, is an ErrValidation and nothing is
// sent.
func TestValidate_EveryOperationValidatesFirst(t *testing.T) {
	t.Parallel()
	srv := newScripted(t, func(n int, w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent: %s %s", r.Method, r.RequestURI)
	})
	c := newClient(t, srv.base())
	ctx := context.Background()
	firstErr := func(seq func(func(api.ExportConnection, error) bool)) (err error) {
		seq(func(_ api.ExportConnection, e error) bool { err = e; return false })
		return err
	}
	firstRunErr := func(seq func(func(api.ExportRun, error) bool)) (err error) {
		seq(func(_ api.ExportRun, e error) bool { err = e; return false })
		return err
	}
	calls := map[string]func() error{
		"GetConnection":    func() error { _, err := c.GetConnection(ctx, ".."); return err },
		"DeleteConnection": func() error { return c.DeleteConnection(ctx, " ") },
		"CreateConnection": func() error { _, err := c.CreateConnection(ctx, api.ExportConnectionCreate{}); return err },
		"CreateConnection authenticationType": func() error {
			_, err := c.CreateConnection(ctx, api.ExportConnectionCreate{IModelID: "m1", AuthenticationType: ptr(api.AuthenticationType("Robot"))})
			return err
		},
		"Connections":       func() error { return firstErr(c.Connections(ctx, "")) },
		"Runs":              func() error { return firstRunErr(c.Runs(ctx, ".")) },
		"RunRefFor":         func() error { _, err := c.RunRefFor("c1", ""); return err },
		"AuthorizationInfo": func() error { _, err := c.AuthorizationInformation(ctx, "/relative"); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, wrapper.ErrValidation) {
			t.Errorf("%s: err = %v, want ErrValidation", name, err)
		}
	}
}

// FuzzValidateRunRequest: any body that decodes is either refused with
// field-named problems that never quote a SAS query, or obeys every rule the
// validator promises.
func FuzzValidateRunRequest(f *testing.F) {
	for _, s := range []string{
		`{"exportType":"IFC","ifcVersion":"IFC4.3"}`,
		`{"exportType":"PDF","ifcVersion":"IFC2x3"}`,
		`{"exportType":"IFC","inputOptions":{"modelIds":[]}}`,
		`{"exportType":"IFC","outputOptions":{"location":"USER_BLOB_STORAGE"}}`,
		`{"exportType":"IFC","outputOptions":{"location":"USER_BLOB_STORAGE","outputSasUrl":"https://a.blob.core.windows.net/c?sv=1&sig=SECRET","logsSasUrl":"http://x?sig=SECRET2","saveLogs":false}}`,
		`{"exportType":"IFC","inputOptions":{"mappingfileBlobUrl":"ftp://x/y?sig=SECRET"}}`,
		`{"exportType":"IFC","outputOptions":{"location":"USER_BLOB_STORAGE","outputSasUrl":"https://a.blob.core.windows.net/c?sp=r&se=2001-01-01&si%67=SECRET"}}`,
		`{"exportType":"IFC","outputOptions":{"location":"USER_BLOB_STORAGE","outputSasUrl":"https://a.blob.core.windows.net/c?si=policy&sig=%41"}}`,
		`{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req api.ExportConnectionRunCreate
		if json.Unmarshal(body, &req) != nil {
			return
		}
		err := wrapper.ValidateRunRequest(req)
		if err != nil {
			ve, ok := err.(*wrapper.ValidationError)
			if !ok || len(ve.Problems) == 0 {
				t.Fatalf("err %T %v", err, err)
			}
			for _, p := range ve.Problems {
				if p.Field == "" || p.Message == "" {
					t.Fatalf("problem without field or message: %+v", p)
				}
			}
			// The problems must not depend on what a URL's query says: with
			// every letter and digit of each query changed, the text is the
			// same, so no signature can be in it.
			masked := maskQueries(req)
			if again := wrapper.ValidateRunRequest(masked); again == nil || again.Error() != err.Error() {
				t.Fatalf("problems depend on a URL's query:\n%v\n%v", err, again)
			}
			return
		}
		checkAccepted(t, req)
	})
}

// checkAccepted fails when req, which ValidateRunRequest accepted, breaks a
// rule the validator promises.
func checkAccepted(t *testing.T, req api.ExportConnectionRunCreate) {
	t.Helper()
	if !req.ExportType.Valid() {
		t.Fatalf("accepted exportType %q", req.ExportType)
	}
	if req.IFCVersion != nil && (req.ExportType != api.ExportTypeIFC || !req.IFCVersion.Valid()) {
		t.Fatalf("accepted ifcVersion %q with %q", *req.IFCVersion, req.ExportType)
	}
	if in := req.InputOptions; in != nil && in.ModelIDs != nil && len(*in.ModelIDs) == 0 {
		t.Fatal("accepted empty modelIds")
	}
	if out := req.OutputOptions; out != nil {
		blob := out.Location != nil && *out.Location == api.LocationUSERBLOBSTORAGE
		if blob != (out.OutputSASURL != nil) {
			t.Fatal("accepted outputSasUrl without USER_BLOB_STORAGE or the reverse")
		}
		if out.LogsSASURL != nil && (out.SaveLogs == nil || !*out.SaveLogs) {
			t.Fatal("accepted logsSasUrl without saveLogs")
		}
	}
	for _, u := range sasURLs(req) {
		if p, err := url.Parse(u); err != nil || p.Scheme != "https" || p.Host == "" {
			t.Fatalf("accepted URL %q", u)
		}
	}
}

// sasURLs are the URLs of a request, whose queries may be SAS signatures.
func sasURLs(req api.ExportConnectionRunCreate) []string {
	var out []string
	if in := req.InputOptions; in != nil && in.MappingfileBlobURL != nil {
		out = append(out, *in.MappingfileBlobURL)
	}
	if o := req.OutputOptions; o != nil {
		for _, p := range []*string{o.OutputSASURL, o.LogsSASURL} {
			if p != nil {
				out = append(out, *p)
			}
		}
	}
	return out
}

// maskQueries returns req with every letter and digit in the query of each
// of its URLs replaced by Z.
func maskQueries(req api.ExportConnectionRunCreate) api.ExportConnectionRunCreate {
	mask := func(p *string) *string {
		if p == nil {
			return nil
		}
		base, q, ok := strings.Cut(*p, "?")
		if !ok {
			return p
		}
		pairs := strings.Split(q, "&")
		for i, pair := range pairs {
			key, value, _ := strings.Cut(pair, "=")
			if name, err := url.QueryUnescape(key); err == nil && (name == "se" || name == "sp") {
				continue // expiry and permissions decide, and are no secret
			}
			pairs[i] = key + maskValue(pair[len(key):], value)
		}
		m := base + "?" + strings.Join(pairs, "&")
		return &m
	}
	if in := req.InputOptions; in != nil {
		c := *in
		c.MappingfileBlobURL = mask(c.MappingfileBlobURL)
		req.InputOptions = &c
	}
	if out := req.OutputOptions; out != nil {
		c := *out
		c.OutputSASURL, c.LogsSASURL = mask(c.OutputSASURL), mask(c.LogsSASURL)
		req.OutputOptions = &c
	}
	return req
}

// maskValue changes every letter and digit of a query value, whose raw
// form is rest ("=" then value), keeping its percent escapes whole so that
// what decodes, and whether it is blank, stays the same.
func maskValue(rest, value string) string {
	if rest == "" {
		return ""
	}
	var b strings.Builder
	b.WriteByte('=')
	for i := 0; i < len(value); i++ {
		c := value[i]
		switch {
		case c == '%' && i+2 < len(value):
			b.WriteString(value[i : i+3])
			i += 2
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			b.WriteByte('Z')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
