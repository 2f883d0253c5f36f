// Package partfile is the temporary file of a download: created beside its
// destination under a name no one else uses (Create), made durable while
// it is written rather than all at once before the rename (Durable), and,
// when a process left one behind, removed by a later download of the same
// destination (RemoveStale). The wrapper's download renames it over the
// destination once its bytes are checked.
package partfile

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Create creates the temporary file of a download to dir/base, beside it:
// "." + base + "." + a random base-36 number + ".part", with mode 0666
// minus the umask (the final file's, as curl and wget give: the rename
// keeps it).
func Create(dir, base string) (*os.File, error) {
	for range 10000 {
		name := filepath.Join(dir, "."+base+"."+strconv.FormatUint(rand.Uint64(), 36)+".part")
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, &fs.PathError{Op: "createtemp", Path: filepath.Join(dir, "."+base+".*.part"), Err: fs.ErrExist}
}

// StaleAfter is how long a temporary file of a download must have been
// left untouched before a later download of the same destination removes
// it: a transfer still running writes to its file far more often.
const StaleAfter = 15 * time.Minute

// RemoveStale removes the temporary files that earlier downloads to path
// left behind (a process killed with SIGKILL, a machine that lost power):
// regular files beside path named as Create names them, untouched for
// StaleAfter at now. Nothing else is touched: not another name, not a
// symbolic link, not a directory, not a file another download may still be
// writing. Failures are ignored: this is housekeeping.
func RemoveStale(path string, now time.Time) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	prefix := "." + base + "."
	for _, e := range entries {
		name := e.Name()
		middle, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		digits, ok := strings.CutSuffix(middle, ".part")
		if !ok || digits == "" || strings.Trim(digits, "0123456789abcdefghijklmnopqrstuvwxyz") != "" || !e.Type().IsRegular() {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) >= StaleAfter {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
}
