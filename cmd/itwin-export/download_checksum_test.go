package main

import (
	"strings"
	"testing"

	"github.com/itwin-export/itwin-export/apitest"
)

// TestDownloadChecksumMismatch: a byte flipped in transit, in a file
// fetched as parallel ranges and in one fetched as one stream, exits 5 with
// one line naming the checksum, and leaves nothing in the directory.
func TestDownloadCLIChecksumMismatch(t *testing.T) {
	fake := newFake(t, apitest.Options{})
	for _, args := range [][]string{{}, {"--parallel-transfers", "1"}} {
		id := fake.AddPatternFile("big.ifc", 9<<20)
		fake.InjectBlobFault(apitest.BlobFault{FileID: id, Kind: apitest.BlobCorrupt, After: 4242})
		dir := t.TempDir()
		r := runCLI(t, envFor(fake.URL), append([]string{"download", id, "--dir", dir}, args...)...)
		wantCode(t, r, exitNoAnswer)
		// Progress lines (one per 10 %), then the error.
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "itwin-export: malformed response") || !strings.Contains(last, "checksum mismatch") {
			t.Errorf("%v: the error line does not name the checksum:\n%s", args, r.stderr)
		}
		if names := dirEntries(t, dir); len(names) != 0 {
			t.Errorf("%v: left behind: %v", args, names)
		}
	}
	wantCode(t, runCLI(t, envFor(fake.URL), "download", "f1", "--parallel-transfers", "0"), exitUsage)
}
