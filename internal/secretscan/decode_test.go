package secretscan

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// TestScanFindsEncodedSecrets: a known secret hidden by each encoding, or a
// chain of them, is found; the same text without it is clean.
func TestScanFindsEncodedSecrets(t *testing.T) {
	const secret = "s3cr3t/Value+0123=?&"
	b64 := base64.StdEncoding.EncodeToString([]byte("client-id:" + secret))
	for name, text := range map[string]string{
		"verbatim":              "x " + secret + " y",
		"query-escaped":         "a=" + url.QueryEscape(secret),
		"path-escaped":          "/p/" + url.PathEscape(secret),
		"twice escaped":         "q%3D" + url.QueryEscape(url.QueryEscape(secret)),
		"lower-case hex":        lowerHex(url.QueryEscape(secret)),
		"basic header":          "Authorization: Basic " + b64,
		"base64 inside a word":  "xx" + base64.RawURLEncoding.EncodeToString([]byte("ab"+secret+"cd")),
		"json-escaped":          `{"m":"` + strings.ReplaceAll(strings.ReplaceAll(secret, "/", `\/`), "&", `\u0026`) + `"}`,
		"escaped, then base64":  base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(secret))),
		"base64, then escaped":  url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(secret))),
		"json-escaped unicode":  `\u0073\u0033cr3t/Value+0123=?&`,
		"base64 at offset 2 of": "Zm9v" + base64.StdEncoding.EncodeToString([]byte("xy"+secret)),
	} {
		if f := Scan(text, secret); len(f) != 1 {
			t.Errorf("%s: %q: findings %v, want one", name, text, f)
		}
	}
	if f := Scan("REDACTED and Basic REDACTED and "+base64.StdEncoding.EncodeToString([]byte("REDACTED")), secret); len(f) != 0 {
		t.Errorf("clean text: %v", f)
	}
}

// lowerHex writes the hex digits of every %XX in lower case.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = toLower(b[i+1]), toLower(b[i+2])
		}
	}
	return string(b)
}

func toLower(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}
