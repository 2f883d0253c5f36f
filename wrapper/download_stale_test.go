package wrapper_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/apitest"
	"github.com/itwin-export/itwin-export/wrapper"
)

// TestDownloadRemovesStaleTemporaryFiles: a download to a destination
// removes the temporary files earlier downloads to it left behind, and
// nothing else: not a fresh one (another download may be writing it), not
// another destination's, not one of another naming.
func TestDownloadRemovesStaleTemporaryFiles(t *testing.T) {
	clock := apitest.NewManualClock(dlStart)
	fake := newFake(t, apitest.Options{Clock: clock})
	c := newClient(t, fake.URL)
	run := completedRun(t, fake, clock, c, ifcRequest())
	ids, err := wrapper.RunOutputs(run)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for name, stale := range map[string]bool{
		".Building_A.ifc.123456.part": true, ".Building_A.ifc.k3j9z.part": true, ".Building_A.ifc.9.part": true, ".Building_A.ifc.77.part": false,
		".Other.ifc.123.part": true, ".Building_A.ifc.x-1.part": true, "Building_A.ifc.1.part": true,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
		if stale {
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Symlink(filepath.Join(dir, "Other.ifc"), filepath.Join(dir, ".Building_A.ifc.5.part")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DownloadFile(context.Background(), ids[0], filepath.Join(dir, "Building_A.ifc"), wrapper.DownloadOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []string{".Building_A.ifc.5.part", ".Building_A.ifc.77.part", ".Building_A.ifc.x-1.part", ".Other.ifc.123.part", "Building_A.ifc", "Building_A.ifc.1.part"}
	if diff := cmp.Diff(want, entries(t, dir)); diff != "" {
		t.Errorf("directory (-want +got):\n%s", diff)
	}
}
