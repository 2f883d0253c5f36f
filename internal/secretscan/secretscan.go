// Package secretscan finds credentials in text: the test-side guard that
// error messages, log lines and command output never carry a bearer token,
// a client secret or a SAS signature. The tests of wrapper and of the
// command line run what they print through Scan.
package secretscan

import (
	"fmt"
	"regexp"
	"strings"
)

// Finding is one credential found in a text.
type Finding struct {
	Kind  string // "known secret", "bearer token", "signature", "secret field"
	Match string // the text that matched
	Line  int    // 1-based line number
}

// String describes the finding.
func (f Finding) String() string { return fmt.Sprintf("line %d: %s: %q", f.Line, f.Kind, f.Match) }

// redacted is what the project writes in place of a secret.
const redacted = "REDACTED"

var patterns = []struct {
	kind string
	re   *regexp.Regexp
}{
	{"bearer token", regexp.MustCompile(`(?i)\bbearer(?:\s+|%20|\+)([A-Za-z0-9\-._~+/%]+=*)`)},
	{"signature", regexp.MustCompile(`(?i)(?:^|[^A-Za-z0-9]|%26|%3F|%3B|%20|\\u0026|\\u003f)(?:sig|signature|x-amz-signature|x-goog-signature)(?:=|%3D)([^&\s"'<>;,\\]+)`)},
	{"secret field", regexp.MustCompile(`(?i)(?:client_secret|access_token|refresh_token|id_token|code_verifier|client_assertion)(?:"\s*:\s*"|=|%3D)([^&\s"'<>;,\\]+)`)},
}

// Scan returns every credential in text: each of the known secrets (the
// tokens and client secrets a test used) wherever it appears, verbatim or
// in any encoding Decodings undoes, and any bearer token, signature or
// secret field whose value is not REDACTED.
func Scan(text string, known ...string) []Finding {
	var found []Finding
	for i, line := range strings.Split(text, "\n") {
		found = append(found, findKnown(line, i+1, known)...)
		for _, p := range patterns {
			for _, m := range p.re.FindAllStringSubmatch(line, -1) {
				// Punctuation of the surrounding text may follow the value.
				if strings.TrimRight(m[1], ").:]}") != redacted {
					found = append(found, Finding{Kind: p.kind, Match: strings.TrimSpace(m[0]), Line: i + 1})
				}
			}
		}
	}
	return found
}

// findKnown reports each known secret in line: "known secret" when it is
// there verbatim, "encoded known secret" when only a decoding holds it.
func findKnown(line string, n int, known []string) []Finding {
	var found []Finding
	var decodings []string
	for _, k := range known {
		if k == "" {
			continue
		}
		if strings.Contains(line, k) {
			found = append(found, Finding{Kind: "known secret", Match: k, Line: n})
			continue
		}
		if decodings == nil {
			decodings = Decodings(line)
		}
		for _, d := range decodings {
			if strings.Contains(d, k) {
				found = append(found, Finding{Kind: "encoded known secret", Match: k, Line: n})
				break
			}
		}
	}
	return found
}
