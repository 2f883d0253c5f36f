package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemo: the demo needs no account and no network, shows the flow on
// stdout and exits 0; it ends with the IFC file it downloaded into a new
// temporary directory: its path, then its first lines, the first of them
// ISO-10303-21;.
func TestDemo(t *testing.T) {
	t.Parallel()
	r := runIn(t, nil, "demo")
	wantCode(t, r, exitOK)
	// Which states between created and Completed a poll sees depends on the
	// machine's speed (the demo runs on real time): only the end is fixed.
	for _, part := range []string{"connection created: ", "run created: ", "at its Location http://127.0.0.1:",
		"Completed (Success)", "result:      Success\n", "output file: "} {
		if !strings.Contains(r.stdout, part) {
			t.Errorf("stdout lacks %q:\n%s", part, r.stdout)
		}
	}
	path := demoFile(t, r.stdout)
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(path)) })
	if dir := filepath.Base(filepath.Dir(path)); !strings.HasPrefix(dir, "itwin-export-demo-") || filepath.Dir(filepath.Dir(path)) != filepath.Clean(os.TempDir()) {
		t.Errorf("%s is not in a new temporary directory", path)
	}
}

// TestDemoDir: demo --dir puts the IFC file there.
func TestDemoDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := runIn(t, nil, "demo", "--dir", dir, "--step", "10ms")
	wantCode(t, r, exitOK)
	if path := demoFile(t, r.stdout); filepath.Dir(path) != dir {
		t.Errorf("%s is not in --dir %s", path, dir)
	}
}

// demoFile checks the end of demo's stdout: the path of the IFC file, then
// its first lines, exactly as the file holds them. It returns the path.
func demoFile(t *testing.T, stdout string) string {
	t.Helper()
	_, tail, ok := strings.Cut(stdout, "IFC file downloaded (")
	_, tail, _ = strings.Cut(tail, "): ")
	path, shown, _ := strings.Cut(tail, "\nits first lines:\n")
	content, err := os.ReadFile(path)
	if !ok || err != nil {
		t.Fatalf("no downloaded file (%v) in stdout:\n%s", err, stdout)
	}
	var want strings.Builder
	for _, l := range strings.SplitAfter(string(content), "\n")[:demoLines] {
		want.WriteString("  " + l)
	}
	if !strings.HasPrefix(shown, "  ISO-10303-21;\n") || shown != want.String() {
		t.Errorf("shown lines (-want +got):\n%s", diff(want.String(), shown))
	}
	return path
}
