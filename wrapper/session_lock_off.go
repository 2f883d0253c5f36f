//go:build itwinexport_nosessionlock

package wrapper

// A build with the itwinexport_nosessionlock tag refreshes a saved session
// without its lock: only tests build it, to show the race the lock prevents.
func init() { sessionLocking = false }
