package wrapper

// Fuzz targets. `make fuzz` runs each for a bounded time; `go test` runs
// their seeds (f.Add and testdata/fuzz) as ordinary tests.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
		e := c.apiError(&exchange{op: &opGetConnection, url: u, status: status, header: h, body: body})
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

func abs(n int) int {
	if n < 0 {
		if n == -n {
			return 0
		}
		return -n
	}
	return n
}
