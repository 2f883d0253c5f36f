//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package wrapper

// openNonBlock: these systems open without it.
const openNonBlock = 0

// tryLock takes the lock of the session as a plain lock file (no flock
// here): see tryLockFile.
func tryLock(path string) (func(), error) { return tryLockFile(path) }
