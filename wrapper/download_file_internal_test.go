package wrapper

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/itwin-export/itwin-export/wrapper/internal/partfile"
)

// TestDownloadStopsOnDiskFailure: a download whose first background sync
// of its temporary file fails (EIO) stops there: it returns that error,
// not a cancellation, syncs no more, leaves no file, and has fetched far
// less than the file.
func TestDownloadStopsOnDiskFailure(t *testing.T) {
	t.Parallel()
	const size = 128 << 20
	c, id := patternFileClient(t, "big.ifc", size)
	var syncs atomic.Int32
	c.syncFile = func(*os.File) error {
		syncs.Add(1)
		return syscall.EIO
	}
	var last atomic.Int64
	dir := t.TempDir()
	_, err := c.DownloadFile(context.Background(), id, filepath.Join(dir, "big.ifc"), DownloadOptions{Progress: func(done, _ int64) { last.Store(done) }})
	if !errors.Is(err, syscall.EIO) || errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want the sync's EIO", err)
	}
	if n := syncs.Load(); n != 1 {
		t.Errorf("%d syncs, want the one background sync that failed", n)
	}
	if got := last.Load(); got >= size/2 {
		t.Errorf("the download went on to %d bytes of %d after the sync failed at %d", got, size, partfile.SyncEvery)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}
