//go:build linux && !arm

package partfile

import (
	"os"
	"syscall"
)

// writeBehind returns a function that asks the system to start writing a
// range of f to disk now, without waiting for it (sync_file_range with
// SYNC_FILE_RANGE_WRITE): the final Sync then has little left to write,
// instead of the whole file at once. Failures are ignored: Sync still makes
// the file durable.
func writeBehind(f *os.File) func(off, n int64) {
	raw, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	return func(off, n int64) {
		_ = raw.Control(func(fd uintptr) {
			_ = syscall.SyncFileRange(int(fd), off, n, syncFileRangeWrite)
		})
	}
}

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE of <linux/fs.h>.
const syncFileRangeWrite = 2
