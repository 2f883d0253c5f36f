//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package filelock

// openNonBlock: these systems open without it.
const openNonBlock = 0

// tryLock takes the lock as a plain lock file (no flock here): see
// tryLockFile.
func tryLock(path string) (func(), error) { return tryLockFile(path) }
