package wrapper

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzSafeFileName holds SafeFileName to its promise for any displayName a
// server may send: one non-empty path element of valid UTF-8, no control
// or formatting characters, not hidden, at most maxNameBytes, and a direct
// child of the directory it is joined to.
func FuzzSafeFileName(f *testing.F) {
	for _, seed := range []string{
		"model.ifc", "../../x.ifc", `..\..\x.ifc`, "/", "..", ".", " . ", "a\x1b]0;t\x07.ifc",
		"\u202egnp.ifc", "con:1|2*.ifc", strings.Repeat("é", 150) + ".ifc", "\xff\xfe.ifc",
		strings.Repeat("a", 199) + ".0123456789abcdefgh", "x/\u00a0.",
	} {
		f.Add(seed, "id-1")
	}
	f.Fuzz(func(t *testing.T, displayName, fallback string) {
		name := SafeFileName(displayName, fallback)
		switch {
		case name == "":
			t.Fatalf("SafeFileName(%q, %q) is empty", displayName, fallback)
		case !utf8.ValidString(name):
			t.Fatalf("SafeFileName(%q) = %q: not UTF-8", displayName, name)
		case len(name) > maxNameBytes:
			t.Fatalf("SafeFileName(%q) = %q: %d bytes", displayName, name, len(name))
		case strings.ContainsAny(name, `/\<>:"|?*`):
			t.Fatalf("SafeFileName(%q) = %q: a separator or reserved character", displayName, name)
		case strings.HasPrefix(name, "."):
			t.Fatalf("SafeFileName(%q) = %q: hidden, or a dot segment", displayName, name)
		}
		for _, r := range name {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("SafeFileName(%q) = %q: holds %U", displayName, name, r)
			}
		}
		dir := filepath.Join("base", "dir")
		if got := filepath.Dir(filepath.Join(dir, name)); got != dir {
			t.Fatalf("SafeFileName(%q) = %q: joined, it lands in %q", displayName, name, got)
		}
	})
}
