package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/itwin-export/itwin-export/wrapper"
)

// redactorOf is the redactor of a client that knows secret.
func redactorOf(t *testing.T, secret string) redactor {
	t.Helper()
	c, err := wrapper.New(wrapper.Options{BaseURL: "https://api.example.com/export", TokenSource: wrapper.StaticToken(secret), Secrets: []string{secret}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSanitize: escape sequences (with their payload), C0, DEL, C1 and
// bidirectional overrides are removed; tabs and line breaks become spaces.
func TestSanitize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain text":                         "plain text",
		"a\tb\nc\r\nd":                       "a b c  d",
		"\x1b]0;title\x07after":              "after",
		"\x1b]8;;https://x\x1b\\link":        "link",
		"\x1b[31mred\x1b[0m":                 "red",
		"\u009b2Jcleared":                    "cleared",
		"bell\x07 del\x7f nul\x00":           "bell del nul",
		"bidi\u202eevil\u2066":               "bidievil",
		"bad\xffutf8":                        "bad\uFFFDutf8",
		"\x1bc reset":                        " reset",
		"unterminated \x1b]0;title and more": "unterminated ",
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCapText: a long value is cut on a character boundary and says how
// much was cut.
func TestCapText(t *testing.T) {
	t.Parallel()
	if got := capText("short", 10); got != "short" {
		t.Errorf("capText = %q", got)
	}
	got := capText(strings.Repeat("é", 10), 5) // 2 bytes each: the cut falls inside one
	if want := "éé…(16 bytes cut)"; got != want {
		t.Errorf("capText = %q, want %q", got, want)
	}
}

// TestFilterJSON: every string of a JSON value, keys included, goes through
// the filter; member order, numbers and literals are kept; the output is
// valid JSON.
func TestFilterJSON(t *testing.T) {
	t.Parallel()
	f := &outputFilter{r: redactorOf(t, "tok-SECRET-1234")}
	in := `{"z":1.50,"a":["x\u001b[31m","tok-SECRET-1234",true,null,{"k\ttab":"v"}],"tok-SECRET-1234":{},"e":[]}`
	got, err := f.json([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "z": 1.50,
  "a": [
    "x",
    "REDACTED",
    true,
    null,
    {
      "k\ttab": "v"
    }
  ],
  "REDACTED": {},
  "e": []
}
`
	if d := diff(want, string(got)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if !json.Valid(got) {
		t.Errorf("not valid JSON: %s", got)
	}
	if _, err := f.json([]byte(`{"a":`)); err == nil {
		t.Error("truncated JSON: no error")
	}
}

// TestFilterWriter: the --verbose log is redacted line by line.
func TestFilterWriter(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	w := filterWriter{&outputFilter{r: redactorOf(t, "tok-SECRET-1234")}, &b}
	in := "url=https://x/?sig=abc token=tok-SECRET-1234\nsecond\n"
	if n, err := w.Write([]byte(in)); n != len(in) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if want := "url=https://x/?sig=REDACTED token=REDACTED\nsecond\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// TestCleanHugeValue: of a huge value the start is shown, capped; a secret
// cut in two by the cleaning window is not shown, even when escape
// sequences before it shrink the window's text.
func TestCleanHugeValue(t *testing.T) {
	t.Parallel()
	const token = "tok-SECRET-a1b2c3d4e5f6"
	f := &outputFilter{r: redactorOf(t, token)}
	got := f.text(strings.Repeat("a", 5<<20))
	if want := strings.Repeat("a", maxValue) + "…(cut: 5242880 bytes in all)"; got != want {
		t.Errorf("huge value: %d bytes, want %d", len(got), len(want))
	}
	pad := strings.Repeat("\x1b[0m", (cleanWindow-10)/4)
	hostile := pad + token + strings.Repeat("a", 1<<20)
	if got := f.text(hostile); strings.Contains(got, token[:8]) {
		t.Errorf("part of the token shown: %q", got)
	}
}

// TestServerTextSanitized: terminal escapes, BEL and line breaks in server
// text never reach the streams, and a huge Location is cut.
func TestServerTextSanitized(t *testing.T) {
	t.Parallel()
	evil := "\x1b]0;pwned\x07\x1b[31mred\r\x1b[2Ksecond\u009b1m line\x1b[0m"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "/export/connections/c1/runs/"+strings.Repeat("a", 5<<20))
			w.WriteHeader(http.StatusAccepted)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": evil, "message": evil}})
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	env := envFor(srv.URL + "/export")
	r := runIn(t, env, "connection", "get", "c1")
	wantCode(t, r, exitRefused)
	wantOneErrorLine(t, r, "not found", "red second line")
	if strings.Contains(r.stderr, "pwned") {
		t.Errorf("the payload of an OSC sequence was shown: %q", r.stderr)
	}
	if strings.ContainsAny(strings.TrimSuffix(r.stderr, "\n"), "\x1b\x07\r\n") {
		t.Errorf("control characters reached stderr: %q", r.stderr)
	}
	r = runIn(t, env, "run", "--connection", "c1")
	if len(r.stdout)+len(r.stderr) > 64<<10 {
		t.Errorf("a 5 MiB Location was printed whole: %d bytes", len(r.stdout)+len(r.stderr))
	}
}
