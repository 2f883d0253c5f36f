package wrapper

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// reservedOnWindows matches the names Windows resolves to a device: a
// device name before the first dot (or the end), trailing spaces ignored.
var reservedOnWindows = regexp.MustCompile(`(?i)^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[1-9\x{b9}\x{b2}\x{b3}]|LPT[1-9\x{b9}\x{b2}\x{b3}]) *(\.|$)`)

// TestSafeFileName_DevicesAndDashes pins the safe forms of names Windows
// takes for a device and of names a command line takes for an option.
func TestSafeFileName_DevicesAndDashes(t *testing.T) {
	for in, want := range map[string]string{
		"CON": "_CON", "nul.ifc": "_nul.ifc", "COM1.ifc": "_COM1.ifc", "AUX": "_AUX",
		"PRN.ifc": "_PRN.ifc", "LPT1.txt": "_LPT1.txt", "lpt9.tar.gz": "_lpt9.tar.gz",
		"con .ifc": "_con .ifc", "--help": "_--help", "-": "_-", "..-x": "_-x",
		"COM10.ifc": "COM10.ifc", "CONSOLE.ifc": "CONSOLE.ifc", "my-con.ifc": "my-con.ifc", "nul": "_nul",
	} {
		if got := SafeFileName(in, ""); got != want {
			t.Errorf("SafeFileName(%q) = %q, want %q", in, got, want)
		}
	}
	if got := SafeFileName("..", "-id"); got != "_-id" {
		t.Errorf("SafeFileName(\"..\", \"-id\") = %q, want the fallback made safe, \"_-id\"", got)
	}
}

// FuzzSafeFileName holds SafeFileName to its promise for any displayName a
// server may send: one non-empty path element of valid UTF-8, no control
// or formatting characters, not hidden, at most maxNameBytes, and a direct
// child of the directory it is joined to, never a Windows device name and
// never starting with '-'.
func FuzzSafeFileName(f *testing.F) {
	for _, seed := range []string{
		"model.ifc", "../../x.ifc", `..\..\x.ifc`, "/", "..", ".", " . ", "a\x1b]0;t\x07.ifc",
		"\u202egnp.ifc", "con:1|2*.ifc", strings.Repeat("é", 150) + ".ifc", "\xff\xfe.ifc",
		strings.Repeat("a", 199) + ".0123456789abcdefgh", "x/\u00a0.",
		"CON", "nul.ifc", "COM1.ifc", "aux", "PRN.ifc", "LPT1.txt", "lpt9.tar.gz", "Com\u00b2.ifc",
		"con .ifc", "CONOUT$", "--help", "-", ".-x", "../-rf",
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
		case strings.HasPrefix(name, "-"):
			t.Fatalf("SafeFileName(%q) = %q: reads as an option", displayName, name)
		case reservedOnWindows.MatchString(name):
			t.Fatalf("SafeFileName(%q) = %q: a Windows device name", displayName, name)
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
