package wrapper

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// staleAfter is how long a temporary file of a download must have been left
// untouched before a later download of the same destination removes it: a
// transfer still running writes to its file far more often.
const staleAfter = 15 * time.Minute

// removeStaleParts removes the temporary files that earlier downloads to
// path left behind (a process killed with SIGKILL, a machine that lost
// power): regular files beside path named as download names its own,
// "." + base + "." + a random base-36 number + ".part" (as createTemp names them), untouched for staleAfter. Nothing
// else is touched: not another name, not a symbolic link, not a directory,
// not a file another download may still be writing. Failures are ignored:
// this is housekeeping.
func removeStaleParts(path string, now time.Time) {
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
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) >= staleAfter {
			_ = os.Remove(filepath.Join(dir, name))
		}
	}
}
