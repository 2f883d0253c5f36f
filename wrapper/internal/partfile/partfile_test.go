package partfile

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestCreate_NameAndMode: Create makes a new, empty regular file beside the
// destination, named "." + base + "." + base-36 digits + ".part", with the
// mode a new file gets (0666 minus the umask), and never the same name
// twice.
func TestCreate_NameAndMode(t *testing.T) {
	dir := t.TempDir()
	probe := filepath.Join(dir, "probe")
	if err := os.WriteFile(probe, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	probeInfo, err := os.Stat(probe)
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`^\.model\.ifc\.[0-9a-z]+\.part$`)
	seen := map[string]bool{}
	for range 20 {
		f, err := Create(dir, "model.ifc")
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.Stat()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !name.MatchString(st.Name()) || seen[st.Name()] {
			t.Errorf("name %q: want a new one matching %s", st.Name(), name)
		}
		seen[st.Name()] = true
		if st.Size() != 0 || st.Mode() != probeInfo.Mode() {
			t.Errorf("%s: size %d, mode %v; want empty, mode %v", st.Name(), st.Size(), st.Mode(), probeInfo.Mode())
		}
	}
}

// TestRemoveStale_OnlyOldPartsOfThatDestination: RemoveStale removes the
// files Create names for that destination once untouched for StaleAfter,
// and nothing else: not a fresh one, not another destination's, not one
// of another naming, not a directory so named.
func TestRemoveStale_OnlyOldPartsOfThatDestination(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	old := now.Add(-StaleAfter - time.Minute)
	mk := func(name string, mtime time.Time, isDir bool) {
		p := filepath.Join(dir, name)
		var err error
		if isDir {
			err = os.Mkdir(p, 0o755)
		} else {
			err = os.WriteFile(p, []byte("x"), 0o644)
		}
		if err == nil {
			err = os.Chtimes(p, mtime, mtime)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	stale, err := Create(dir, "model.ifc")
	if err != nil {
		t.Fatal(err)
	}
	stale.Close()
	if err := os.Chtimes(stale.Name(), old, old); err != nil {
		t.Fatal(err)
	}
	mk(".model.ifc.fresh1.part", now, false)
	mk(".other.ifc.abc.part", old, false)
	mk(".model.ifc.ABC.part", old, false)
	mk(".model.ifc.abc.tmp", old, false)
	mk(".model.ifc.dir1.part", old, true)
	mk("model.ifc", old, false)

	RemoveStale(filepath.Join(dir, "model.ifc"), now)

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	slices.Sort(left)
	want := []string{".model.ifc.ABC.part", ".model.ifc.abc.tmp", ".model.ifc.dir1.part", ".model.ifc.fresh1.part", ".other.ifc.abc.part", "model.ifc"}
	if d := cmp.Diff(want, left); d != "" {
		t.Errorf("left in the directory (-want +got):\n%s", d)
	}
}
