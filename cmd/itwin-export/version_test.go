package main

import (
	"regexp"
	"runtime/debug"
	"testing"

	"github.com/itwin-export/itwin-export/wrapper"
)

// TestVersionPrintsWrapperVersion: the line is wrapper.Version (as the
// module's tag, v0.1.0) and then the Go version the binary was built with.
func TestVersionPrintsWrapperVersion(t *testing.T) {
	t.Parallel()
	info, ok := debug.ReadBuildInfo()
	if !ok {
		t.Fatal("no build information")
	}
	want := "itwin-export v" + wrapper.Version + " " + info.GoVersion + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runIn(t, nil, args...)
		wantCode(t, r, exitOK)
		if r.stdout != want {
			t.Errorf("%q: stdout %q, want %q", args, r.stdout, want)
		}
	}
}

// TestVersion: version and --version print one line, the module version
// (devel in a test binary) and the Go version.
func TestVersion(t *testing.T) {
	t.Parallel()
	line := regexp.MustCompile(`^itwin-export (devel|v\S+) go1\.\S+\n$`)
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runIn(t, nil, args...)
		wantCode(t, r, exitOK)
		if !line.MatchString(r.stdout) || r.stderr != "" {
			t.Errorf("%q: stdout %q, stderr %q", args, r.stdout, r.stderr)
		}
	}
}
