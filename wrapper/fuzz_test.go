package wrapper

// Fuzz targets. `make fuzz` runs each for a bounded time; `go test` runs
// their seeds (f.Add and testdata/fuzz) as ordinary tests.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/internal/secretscan"
	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
)

func fuzzClient(t testing.TB) *Client {
	c, err := New(Options{BaseURL: "https://api.bentley.com/export", TokenSource: StaticToken("fuzz-token-value")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// FuzzAPIErrorBody: any error body, however broken, gives a classified error
// with a bounded, redacted excerpt and never panics.
func FuzzAPIErrorBody(f *testing.F) {
	f.Add(422, []byte(`{"error":{"code":"InvalidConnectionRunRequest","message":"Cannot perform operation.","details":[{"code":"InvalidValue","message":"m","target":"exportType"}]}}`))
	f.Add(401, []byte(`<html><body>401 Unauthorized</body></html>`))
	f.Add(500, []byte(``))
	f.Add(404, []byte(`{"error":{"code":"ConnectionNotF`))
	f.Add(429, []byte(`{"error":null}`))
	f.Add(403, []byte(`{"error":{"code":1,"message":["x"],"details":"no"}}`))
	f.Add(400, []byte("\xff\xfe bearer abc.def sig=SECRET"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		status = 400 + abs(status)%200
		c := fuzzClient(t)
		u, _ := url.Parse("https://api.bentley.com/export/connections/c1")
		h := http.Header{}
		h.Set("Retry-After", "7")
		e := c.apiError(&exchange{op: opGetConnection, url: u, status: status, header: h, body: body})
		if e.StatusCode != status || e.RetryAfter != 7*time.Second {
			t.Fatalf("status %d retry %v", e.StatusCode, e.RetryAfter)
		}
		if len(e.Body) > redact.MaxExcerpt || !utf8.ValidString(e.Body) {
			t.Fatalf("excerpt of %d bytes, valid UTF-8 %t", len(e.Body), utf8.ValidString(e.Body))
		}
		text := e.Error()
		if strings.Contains(text, "fuzz-token-value") {
			t.Fatalf("error carries the token: %s", text)
		}
		for _, found := range secretscan.Scan(text) {
			if found.Kind == "signature" {
				t.Fatalf("a SAS signature survived: %s in %q", found, text)
			}
		}
		if status >= 500 && !e.Is(ErrServer) {
			t.Fatalf("%d not classified as a server error", status)
		}
	})
}

// FuzzParseRetryAfter: seconds, dates and garbage never panic, never give a
// negative wait, and whole seconds parse exactly.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "1", "30", "3600", "-1", "1.5", " 7 ", "abc", "", "99999999999999999999999",
		"Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "9223372036"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if d < 0 {
			t.Fatalf("%q: negative wait %v", v, d)
		}
		if !ok && d != 0 {
			t.Fatalf("%q: no wait but %v", v, d)
		}
		var n uint64
		if isDigits(strings.TrimSpace(v)) && len(strings.TrimSpace(v)) < 10 {
			for _, r := range strings.TrimSpace(v) {
				n = n*10 + uint64(r-'0')
			}
			if !ok || d != time.Duration(n)*time.Second {
				t.Fatalf("%q: got %v %t, want %ds", v, d, ok, n)
			}
		}
	})
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
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
		err := ValidateRunRequest(req)
		if err != nil {
			ve, ok := err.(*ValidationError)
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
			if again := ValidateRunRequest(masked); again == nil || again.Error() != err.Error() {
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

func abs(n int) int {
	if n < 0 {
		if n == -n {
			return 0
		}
		return -n
	}
	return n
}
