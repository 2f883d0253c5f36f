package partfile

import (
	"os"
	"sync"
)

// SyncEvery is how many bytes of a download are written between the starts
// of two background syncs of its temporary file.
const SyncEvery = 16 << 20

// Durable makes a download's temporary file durable while the download
// runs, instead of all at once before the rename. As ranges are written it
// starts writing them to disk (write-behind, where the system offers it),
// and each time SyncEvery more bytes were written it syncs the file in the
// background, one sync at a time. The final sync then has only the last
// part left to make durable.
//
// This matters where a sync costs more than the writes: on a virtual
// machine every fsync waits for the host to flush its own cache, and a
// 256 MiB file's one fsync at the end took 165–350 ms, nearly as long as
// the file's MD5 (see docs/benchmarks.md).
type Durable struct {
	// writeBehind starts writing a range to disk without waiting; nil
	// where the system has no such call.
	writeBehind func(off, n int64)
	// syncFile is the file's Sync (a test's stand-in in tests).
	syncFile func() error
	// Failed, when set, is called once with the first failure of a
	// background sync, so that the download stops at once instead of
	// writing the rest of the file to a disk that failed. Set it before
	// the first Written: the background sync reads it.
	Failed func(error)

	mu      sync.Mutex
	pending int64 // bytes written since the last background sync started
	syncing bool  // a background sync runs
	err     error // the first failure of a background sync
	running sync.WaitGroup
}

// NewDurable returns the Durable of f, synced by syncFile (the file's
// Sync, or a test's stand-in), with the system's write-behind if it has one.
func NewDurable(f *os.File, syncFile func(*os.File) error) *Durable {
	return &Durable{writeBehind: writeBehind(f), syncFile: func() error { return syncFile(f) }}
}

// Written tells that the range [off, off+n) of the file was written: it
// starts writing the range to disk, and starts a background sync when
// SyncEvery bytes were written since the last one started, none runs and
// none failed.
// Connections call it concurrently.
func (d *Durable) Written(off, n int64) {
	if d.writeBehind != nil {
		d.writeBehind(off, n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pending += n
	if d.syncing || d.err != nil || d.pending < SyncEvery {
		return // one at a time, and none after one failed
	}
	d.syncing, d.pending = true, 0
	d.running.Add(1)
	go d.backgroundSync()
}

// backgroundSync syncs the file once and keeps its failure.
func (d *Durable) backgroundSync() {
	defer d.running.Done()
	err := d.syncFile()
	d.mu.Lock()
	d.syncing = false
	first := err != nil && d.err == nil
	if first {
		d.err = err
	}
	d.mu.Unlock()
	if first && d.Failed != nil {
		d.Failed(err)
	}
}

// Wait waits until no background sync runs: the file may then be closed.
func (d *Durable) Wait() { d.running.Wait() }

// Sync makes the whole file durable: it waits for the background sync,
// then syncs the file. A background sync's failure is returned even when
// the last sync succeeds: after a write error the system may mark the
// pages it could not write clean, and a later sync would not see them.
func (d *Durable) Sync() error {
	d.Wait()
	d.mu.Lock()
	err := d.err
	d.mu.Unlock()
	if err != nil {
		return err
	}
	return d.syncFile()
}
