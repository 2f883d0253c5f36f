package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestManPages: man-pages (what 'make man' runs) writes itwin-export.1 and
// one page per command, and groff renders each without a warning; the main
// page keeps the environment and the exit codes.
func TestManPages(t *testing.T) {
	t.Parallel()
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Fatalf("groff is needed to check the man pages (make test-tools installs groff-base): %v", err)
	}
	dir := filepath.Join(t.TempDir(), "man")
	r := runIn(t, nil, "man-pages", dir)
	wantCode(t, r, exitOK)

	want := []string{"itwin-export.1"}
	for _, cmd := range allCommands(newRootCmd(&factory{getenv: func(string) string { return "" }}))[1:] {
		if cmd.IsAvailableCommand() {
			want = append(want, strings.ReplaceAll(cmd.CommandPath(), " ", "-")+".1")
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pages (-want +got):\n%s", diff)
	}

	for _, name := range got {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, groff, "-man", "-Tutf8", "-ww", "-z", filepath.Join(dir, name))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		cancel()
		if err != nil || stderr.Len() != 0 {
			t.Errorf("groff %s: %v\n%s", name, err, stderr.String())
		}
	}
	page, err := os.ReadFile(filepath.Join(dir, "itwin-export.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{envIModelID, "Exit codes", "130", "itwin-export-run(1)"} {
		if !strings.Contains(string(page), part) {
			t.Errorf("itwin-export.1 lacks %q", part)
		}
	}
}
