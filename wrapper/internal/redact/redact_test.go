package redact

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

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
