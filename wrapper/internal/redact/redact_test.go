package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/itwin-export/itwin-export/internal/secretscan"
)

// assertNoSignature fails when the secret scanner finds a signature whose
// value is not REDACTED in text.
func assertNoSignature(t *testing.T, text string) {
	t.Helper()
	for _, f := range secretscan.Scan(text) {
		if f.Kind == "signature" {
			t.Fatalf("a SAS signature survived: %s in %q", f, text)
		}
	}
}

// encodings plant a secret in text the ways the client claims to undo:
// each returns the secret as it would appear.
var encodings = []func(secret string) string{
	func(s string) string { return s },
	url.QueryEscape,
	url.PathEscape,
	func(s string) string { return url.QueryEscape(url.QueryEscape(s)) },
	func(s string) string { return lowerHex(url.QueryEscape(s)) },
	func(s string) string { q, _ := json.Marshal(s); return string(q[1 : len(q)-1]) },
	func(s string) string {
		q, _ := json.Marshal(s)
		return strings.ReplaceAll(string(q[1:len(q)-1]), "/", `\/`)
	},
	func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) },
	// Inside a longer base64 text, at each byte offset.
	func(s string) string { return base64.StdEncoding.EncodeToString([]byte("{" + s + "}")) },
	func(s string) string { return base64.URLEncoding.EncodeToString([]byte("{\"" + s + "\"}")) },
	func(s string) string { return base64.StdEncoding.EncodeToString([]byte("a:" + s)) },
}

// FuzzRedact: a secret planted in any text, in any encoding the client
// claims to undo, is found in no decoding of what Scrubber.Redact and Text
// return; a SAS signature never survives URL or Text; valid JSON stays
// valid JSON.
func FuzzRedact(f *testing.F) {
	f.Add("https://acct.blob.core.windows.net/c/f.ifc?sv=2024-01-01&se=2026&sp=rw&sig=abc%2Bdef%3D", "client-secret-1")
	f.Add("https://app.example.com/cb?redirect=https%3A%2F%2Fx%3Fsig%3DINNER", "tok")
	f.Add("Authorization: Bearer eyJhbGciOi.J9.abc and SIG=xyz", "eyJhbGciOi.J9.abc")
	f.Add(`{"access_token":"abc","client_secret":"def"}`, "def")
	f.Add("https://user:password@host/path?sig=1&Sig=2&SIG%3D3", "password")
	f.Add("secretsecretsecret", "secretsecret")
	f.Add(`{"outputSasUrl":"https://a.blob.core.windows.net/c?sv=1\u0026sig=JSONESCAPED"}`, "none")
	f.Add(`{"run":{"id":"r1","jobs":[{"tasks":[{"error":{"description":"x"}}]}]}}`, `s3cr3t/"value&<>`)
	f.Fuzz(func(t *testing.T, text, secret string) {
		c := NewScrubber([]string{secret})
		for _, out := range []string{URL(text), Text(text, secret), c.Redact(text)} {
			assertNoSignature(t, out)
		}
		if json.Valid([]byte(text)) && !json.Valid([]byte(c.Redact(text))) {
			t.Fatalf("valid JSON %q redacted to invalid %q", text, c.Redact(text))
		}
		if len(secret) < minSecret || strings.Contains(Marker, secret) || len(knownFound(text, secret)) > 0 {
			return // too short to hunt for, or the text holds it already
		}
		for i, enc := range encodings {
			planted := text[:len(text)/2] + " " + enc(secret) + " " + text[len(text)/2:]
			if i >= 9 && len(secret) < 8 {
				continue // inside base64, only secrets of 8 bytes or more are hunted
			}
			for _, out := range []string{Text(planted, secret), c.Redact(planted)} {
				if found := knownFound(out, secret); len(found) > 0 {
					t.Fatalf("encoding %d: %v in %q (from %q)", i, found, out, planted)
				}
			}
		}
	})
}

// knownFound is what the secret scanner finds of secret itself in text,
// verbatim or decoded.
func knownFound(text, secret string) []secretscan.Finding {
	var found []secretscan.Finding
	for _, f := range secretscan.Scan(text, secret) {
		if f.Match == secret && strings.HasSuffix(f.Kind, "known secret") {
			found = append(found, f)
		}
	}
	return found
}

// TestText_LeavesOrdinaryText: words and members that only look like the
// sensitive names are kept.
func TestText_LeavesOrdinaryText(t *testing.T) {
	for _, text := range []string{
		"Basic authentication is not supported",
		`{"errorCode":"TAE_BRW_1000","description":"Failed to export your file.","token_type":"Bearer"}`,
		"https://api.bentley.com/export/connections/c1/runs?$top=10&signal=1&design=ok",
		"the task exited with code 3; tokens expire after an hour",
	} {
		if got := Text(text, "unrelated-secret"); got != text {
			t.Errorf("Text(%q) = %q", text, got)
		}
	}
}

// TestText_KeepsTheAPIErrorCode: an API error's "code" member is its name,
// no secret: it stays in an excerpt, while OAuth's code in a callback URL's
// query is still removed.
func TestText_KeepsTheAPIErrorCode(t *testing.T) {
	for in, want := range map[string]string{
		`{"error":{"code":"InsufficientPermissions","message":"no"}}`:         `{"error":{"code":"InsufficientPermissions","message":"no"}}`,
		`{"detail":"{\"code\":\"InsufficientPermissions\"}"}`:                 `{"detail":"{\"code\":\"InsufficientPermissions\"}"}`,
		`redirect to https://app.example.com/cb?code=AUTHCODE123&state=s`:     `redirect to https://app.example.com/cb?code=REDACTED&state=s`,
		`{"next":"https://app.example.com/cb?code=AUTHCODE123","code":"Bad"}`: `{"next":"https://app.example.com/cb?code=REDACTED","code":"Bad"}`,
		`{"refresh_token":"RT","code_verifier":"V"}`:                          `{"refresh_token":"REDACTED","code_verifier":"REDACTED"}`,
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%s) = %s, want %s", in, got, want)
		}
	}
}

// credentialChars are the characters tokens, client secrets and signatures
// are made of; a "secret" with JSON or white-space syntax in it could span
// two JSON strings, which Redact scrubs one by one.
const credentialChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~+/=%&!$*()'@;?#"

// FuzzScrubber: whatever the text, no secret given to a Scrubber (of
// minSecret bytes or more, made of credentialChars) appears in what Scrub,
// Redact, Text, Excerpt or Scrub of URL (a client's redaction of a URL)
// return, outside the markers (a secret such as
// "=RED" is made by the marker of "sig=REDACTED", not kept); an excerpt is
// valid UTF-8 of at most MaxExcerpt bytes; a SAS signature never survives;
// nothing panics.
func FuzzScrubber(f *testing.F) {
	f.Add("https://acct.blob.core.windows.net/c/f.ifc?sv=1&sig=abc%2Bdef%3D&se=2026", "abc+def=", "client-secret-1")
	f.Add(`{"token":"t0k3n-value","nested":"{\"sig\":\"x\"}"}`, "t0k3n-value", "x")
	f.Add("Bearer eyJhbGciOi.J9.abc", "eyJhbGciOi.J9.abc", "")
	f.Add("aaaabbbbaaaabbbb", "aaaabbbb", "bbbbaaaa")
	f.Add("secsecretret", "secret", "secsecretret")
	f.Add(strings.Repeat("é", 400)+"s3cr3t-value", "s3cr3t-value", "REDACTEDx")
	f.Add("https://h/?sig=xyz", "=RED", "xyz")
	f.Add("00000   00000000abc%2Bdef%3D 00 0000", "abc+def=", "00000")
	f.Fuzz(func(t *testing.T, text, secret1, secret2 string) {
		secrets := []string{secret1, secret2}
		s := NewScrubber(secrets)
		outs := map[string]string{"Scrub": s.Scrub(text), "Redact": s.Redact(text), "Text": Text(text, secrets...), "Scrub of URL": s.Scrub(URL(text))}
		excerpt := Excerpt([]byte(text), secrets...)
		outs["Excerpt"] = excerpt
		if len(excerpt) > MaxExcerpt || !utf8.ValidString(excerpt) {
			t.Fatalf("excerpt of %d bytes, valid UTF-8 %t", len(excerpt), utf8.ValidString(excerpt))
		}
		for name, out := range outs {
			assertNoSignature(t, out)
			bare := strings.ReplaceAll(out, Marker, "\x00")
			for _, secret := range secrets {
				hunted := len(secret) >= minSecret && strings.Trim(secret, credentialChars) == ""
				if hunted && strings.Contains(bare, secret) {
					t.Fatalf("%s: secret %q survives in %q (from %q)", name, secret, out, text)
				}
			}
		}
	})
}

// TestURL_QueryValuesAndPassword: sensitive query values, a userinfo
// password and a SAS URL nested in a parameter lose their secrets; the rest
// of the URL is kept as written.
func TestURL_QueryValuesAndPassword(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"https://a.blob.core.windows.net/c/f?sv=1&sig=S1&se=2":                 "https://a.blob.core.windows.net/c/f?sv=1&sig=REDACTED&se=2",
		"https://user:pw@host/p?access_token=T&x=1":                            "https://user:REDACTED@host/p?access_token=REDACTED&x=1",
		"https://app/cb?next=" + url.QueryEscape("https://b/c?sv=1&sig=INNER"): "https://app/cb?next=" + url.QueryEscape("https://b/c?sv=1&sig=REDACTED"),
		"https://host/p?Sig=S&SIG=T":                                           "https://host/p?Sig=REDACTED&SIG=REDACTED",
		"not a url %zz sig=S":                                                  "not a url %zz sig=REDACTED",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestExcerpt_BoundedOnARuneBoundary: an excerpt is redacted, at most
// MaxExcerpt bytes, cut before a character it would split.
func TestExcerpt_BoundedOnARuneBoundary(t *testing.T) {
	t.Parallel()
	body := []byte("sig=SECRET1 " + strings.Repeat("é", MaxExcerpt))
	got := Excerpt(body)
	if len(got) > MaxExcerpt || !utf8.ValidString(got) || !strings.HasPrefix(got, "sig=REDACTED ") {
		t.Errorf("Excerpt = %d bytes, valid UTF-8 %t: %.40q", len(got), utf8.ValidString(got), got)
	}
	if got := Excerpt([]byte("  short \xff ")); got != "short \uFFFD" {
		t.Errorf("Excerpt of a short body = %q", got)
	}
}

// TestScrubber_GivesUpOnARebuiltSecret: text in which each removal makes
// another secret (here "b" before a marker) becomes Marker alone rather
// than keep one.
func TestScrubber_GivesUpOnARebuiltSecret(t *testing.T) {
	t.Parallel()
	s := NewScrubber([]string{"abcd", "b" + Marker})
	if got := s.Scrub(strings.Repeat("b", 12) + "abcd"); got != Marker {
		t.Errorf("Scrub = %q, want %q", got, Marker)
	}
	if got := s.Scrub("bbabcd and ABCD"); got != "REDACTED and ABCD" {
		t.Errorf("Scrub = %q", got)
	}
}
