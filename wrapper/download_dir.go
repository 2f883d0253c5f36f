package wrapper

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// PrepareDownloadDir makes dir ready to receive downloads: a missing dir is
// created with its parents (mode 0777 minus the umask, as gh release
// download -D and wget -P do), and an existing one must be a directory this
// process can create files in. It fails with a *ValidationError naming dir
// otherwise, having written nothing but the missing directories. An empty
// dir is the working directory. DownloadFileInto and DownloadRunOutputs call
// it; a program calls it itself to refuse an unusable directory before it
// starts anything long, such as an export run.
func PrepareDownloadDir(dir string) error {
	if dir == "" {
		dir = "."
	}
	problem := func(format string, args ...any) error {
		return &ValidationError{Problems: []Problem{{Field: "dir", Message: fmt.Sprintf(format, args...)}}}
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		if fi, serr := os.Stat(dir); serr == nil && !fi.IsDir() {
			return problem("%s is not a directory", dir)
		}
		return problem("cannot create %s: %v", dir, unwrapPathError(err))
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return problem("%s: %v", dir, unwrapPathError(err))
	}
	if !fi.IsDir() {
		return problem("%s is not a directory", dir)
	}
	probe, err := os.CreateTemp(dir, ".itwin-export-probe-*")
	if err != nil {
		return problem("cannot create files in %s: %v", dir, unwrapPathError(err))
	}
	name := probe.Name()
	_ = probe.Close()
	_ = os.Remove(name)
	return nil
}

// unwrapPathError is the reason of a *fs.PathError without its path, which
// the caller's message already names.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
