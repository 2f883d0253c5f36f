package main

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/itwin-export/itwin-export/wrapper"
)

// FuzzOutputFilter holds the one path of server text to the terminal to its
// promise for any text: valid UTF-8 with no escape sequence, control
// character or bidirectional override left, a bounded length, no planted
// credential, and JSON that stays JSON.
func FuzzOutputFilter(f *testing.F) {
	for _, seed := range []string{
		"plain", "\x1b]0;title\x07after", "\x1b[31mred", "\u009b2J", "bidi\u202eevil", "bad\xffutf8",
		`{"run":{"id":"r1","error":"Bearer fuzz-token-0123 ?sig=abc"}}`, strings.Repeat("\x1b]", 40),
		"fuzz-token-0123", `"fuzz-token-0123"`, "a\tb\r\nc",
	} {
		f.Add(seed)
	}
	const token = "fuzz-token-0123"
	// The token is listed as a secret, so that the filter knows it before
	// any request has sent it.
	client, err := wrapper.New(wrapper.Options{TokenSource: wrapper.StaticToken(token), Secrets: []string{token}})
	if err != nil {
		f.Fatal(err)
	}
	out := &outputFilter{}
	out.use(client)
	f.Fuzz(func(t *testing.T, s string) {
		for name, got := range map[string]string{"text": out.text(s), "line": out.line(s)} {
			if !utf8.ValidString(got) {
				t.Fatalf("%s(%q) = %q: not UTF-8", name, s, got)
			}
			for _, r := range got {
				if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
					t.Fatalf("%s(%q) = %q: holds %U", name, s, got, r)
				}
			}
			if len(got) > maxLine+64 {
				t.Fatalf("%s(%q): %d bytes", name, s, len(got))
			}
			if strings.Contains(got, token) {
				t.Fatalf("%s(%q) = %q: the token survived", name, s, got)
			}
		}
		if json.Valid([]byte(s)) {
			got, err := out.json([]byte(s))
			if err != nil {
				t.Fatalf("json(%q): %v", s, err)
			}
			if !json.Valid(got) {
				t.Fatalf("json(%q) = %q: not JSON", s, got)
			}
		}
	})
}
