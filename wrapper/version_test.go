package wrapper

import (
	"os"
	"regexp"
	"testing"
)

// TestVersionIsTheLatestChangelogEntry: Version names the top release of
// CHANGELOG.md (Keep a Changelog: "## [X.Y.Z] - YYYY-MM-DD"), so the
// User-Agent, `itwin-export version` and the CHANGELOG agree.
func TestVersionIsTheLatestChangelogEntry(t *testing.T) {
	t.Parallel()
	changelog, err := os.ReadFile("../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	// The first release heading; an "## [Unreleased]" section may precede it.
	entry := regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\] - \d{4}-\d{2}-\d{2}$`)
	m := entry.FindSubmatch(changelog)
	if m == nil {
		t.Fatal("CHANGELOG.md has no release entry (## [X.Y.Z] - YYYY-MM-DD)")
	}
	if got := string(m[1]); got != Version {
		t.Errorf("CHANGELOG.md's latest entry is %s, wrapper.Version is %s", got, Version)
	}
	if !regexp.MustCompile(`^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`).MatchString(Version) {
		t.Errorf("Version %q is not a semantic version", Version)
	}
}
