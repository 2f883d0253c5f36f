package wrapper

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// scriptedSync stands in for a file's Sync: each call blocks until the
// test releases it, and answers what the test scripted.
type scriptedSync struct {
	mu      sync.Mutex
	calls   int
	started chan int      // the number of each call, as it starts
	release chan error    // what the blocked call returns
	answers map[int]error // for calls that do not block
	blocks  map[int]bool  // which calls block on release
	seen    []int         // the calls that returned, in order
	running int           // calls in progress
	overlap bool          // two calls ran at once
}

// newScriptedSync returns a scriptedSync whose calls return nil at once
// until the test scripts otherwise.
func newScriptedSync() *scriptedSync {
	return &scriptedSync{started: make(chan int, 10), release: make(chan error), answers: map[int]error{}, blocks: map[int]bool{}}
}

// unblock lets a call still blocked return, when a test ended early.
func (s *scriptedSync) unblock() {
	select {
	case s.release <- nil:
	default:
	}
}

// sync is the stand-in for the file's Sync.
func (s *scriptedSync) sync() error {
	s.mu.Lock()
	s.calls++
	n := s.calls
	s.running++
	s.overlap = s.overlap || s.running > 1
	block, answer := s.blocks[n], s.answers[n]
	s.mu.Unlock()
	s.started <- n
	if block {
		answer = <-s.release
	}
	s.mu.Lock()
	s.running--
	s.seen = append(s.seen, n)
	s.mu.Unlock()
	return answer
}

// TestDurableFile_SyncsInTheBackground: a background sync starts once
// syncEvery bytes were written, never two at once, and the bytes written
// while one runs start the next one after it; the final sync waits for it.
func TestDurableFile_SyncsInTheBackground(t *testing.T) {
	t.Parallel()
	s := newScriptedSync()
	s.blocks[1] = true
	t.Cleanup(s.unblock)
	var behind [][2]int64
	d := &durableFile{syncFile: s.sync, writeBehind: func(off, n int64) { behind = append(behind, [2]int64{off, n}) }}

	const chunk = 4 << 20
	for i := range int64(syncEvery/chunk - 1) {
		d.written(i*chunk, chunk)
	}
	select {
	case n := <-s.started:
		t.Fatalf("sync %d started after %d bytes, fewer than %d", n, syncEvery-chunk, syncEvery)
	default:
	}
	d.written(syncEvery-chunk, chunk)
	if n := <-s.started; n != 1 {
		t.Fatalf("the first background sync is call %d", n)
	}
	// Twice syncEvery more bytes while the first sync runs: no second one.
	for i := range int64(2 * syncEvery / chunk) {
		d.written(syncEvery+i*chunk, chunk)
	}
	select {
	case n := <-s.started:
		t.Fatalf("sync %d started while the first ran", n)
	default:
	}
	s.release <- nil
	d.wait()
	// The next bytes start the next sync: those written meanwhile count.
	d.written(3*syncEvery, chunk)
	if n := <-s.started; n != 2 {
		t.Fatalf("the second background sync is call %d", n)
	}
	d.wait()
	// Counting starts again from each sync's start.
	d.written(3*syncEvery+chunk, chunk)
	d.wait()
	select {
	case n := <-s.started:
		t.Fatalf("sync %d started %d bytes after the last one", n, chunk)
	default:
	}
	if err := d.sync(); err != nil {
		t.Fatal(err)
	}
	if n := <-s.started; n != 3 {
		t.Fatalf("the final sync is call %d", n)
	}
	if d := cmp.Diff([]int{1, 2, 3}, s.seen); d != "" {
		t.Errorf("syncs that returned (-want +got):\n%s", d)
	}
	if s.overlap {
		t.Error("two syncs ran at once")
	}
	if len(behind) != int(3*syncEvery/chunk)+2 || behind[len(behind)-1] != [2]int64{3*syncEvery + chunk, chunk} {
		t.Errorf("write-behind saw %d ranges, the last %v; want every range written", len(behind), behind[len(behind)-1])
	}
}

// TestDurableFile_BackgroundFailureIsKept: a background sync that failed
// fails the final sync, even though a sync after it would succeed: the
// system may have marked the pages it could not write clean.
func TestDurableFile_BackgroundFailureIsKept(t *testing.T) {
	t.Parallel()
	s := newScriptedSync()
	s.answers[1] = syscall.EIO
	d := &durableFile{syncFile: s.sync}
	d.written(0, syncEvery)
	<-s.started
	err := d.sync()
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("sync: %v, want the background sync's EIO", err)
	}
	if d := cmp.Diff([]int{1}, s.seen); d != "" {
		t.Errorf("syncs (-want +got):\n%s", d)
	}
}

// TestDurableFile_FailureStopsTheDownload: the first background sync that
// fails is told to failed at once; no background sync starts after it, and
// the final sync returns that failure without syncing again.
func TestDurableFile_FailureStopsTheDownload(t *testing.T) {
	t.Parallel()
	s := newScriptedSync()
	s.answers[1] = syscall.EIO
	var mu sync.Mutex
	var told []error
	d := &durableFile{syncFile: s.sync, failed: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, err)
	}}
	d.written(0, syncEvery)
	<-s.started
	d.wait()
	d.written(syncEvery, 2*syncEvery)
	d.wait()
	select {
	case n := <-s.started:
		t.Errorf("sync %d started after one failed", n)
	default:
	}
	if err := d.sync(); !errors.Is(err, syscall.EIO) {
		t.Errorf("sync: %v, want the background sync's EIO", err)
	}
	if d := cmp.Diff([]int{1}, s.seen); d != "" {
		t.Errorf("syncs (-want +got):\n%s", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if d := cmp.Diff([]error{syscall.EIO}, told, cmpErrno); d != "" {
		t.Errorf("failures told (-want +got):\n%s", d)
	}
}

// cmpErrno compares syscall.Errno values as numbers.
var cmpErrno = cmp.Comparer(func(a, b error) bool { return errors.Is(a, b) && errors.Is(b, a) })

// TestDurableFile_DiskFailureStopsTheDownload: a download whose first
// background sync fails (EIO) stops there: it returns that error, not a
// cancellation, syncs no more, leaves no file, and has fetched far less
// than the file.
func TestDurableFile_DiskFailureStopsTheDownload(t *testing.T) {
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
		t.Errorf("the download went on to %d bytes of %d after the sync failed at %d", got, size, syncEvery)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// TestDurableFile_WaitBeforeClose: wait returns only once the background
// sync has returned, so that the file is never closed under it.
func TestDurableFile_WaitBeforeClose(t *testing.T) {
	t.Parallel()
	s := newScriptedSync()
	s.blocks[1] = true
	t.Cleanup(s.unblock)
	d := &durableFile{syncFile: s.sync}
	d.written(0, syncEvery)
	<-s.started
	// The sync is released a moment later; wait must not return before
	// the sync has returned (a wait that returns at once sees none).
	go func() {
		time.Sleep(20 * time.Millisecond)
		s.release <- nil
	}()
	d.wait()
	if d := cmp.Diff([]int{1}, s.seen); d != "" {
		t.Errorf("syncs (-want +got):\n%s", d)
	}
}

// TestDurableFile_RealFile: on a real file, written and sync leave the
// bytes in place and report no error.
func TestDurableFile_RealFile(t *testing.T) {
	t.Parallel()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := newDurableFile(f, (*os.File).Sync)
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(i % 251)
	}
	for off := int64(0); off < syncEvery+2<<20; off += int64(len(block)) {
		if _, err := f.WriteAt(block, off); err != nil {
			t.Fatal(err)
		}
		d.written(off, int64(len(block)))
	}
	if err := d.sync(); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != syncEvery+2<<20 {
		t.Errorf("size %d, want %d", st.Size(), syncEvery+2<<20)
	}
}
