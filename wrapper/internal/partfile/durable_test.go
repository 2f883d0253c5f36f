package partfile

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
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

// TestDurable_SyncsInTheBackground: a background sync starts once
// SyncEvery bytes were written, never two at once, and the bytes written
// while one runs start the next one after it; the final Sync waits for it.
func TestDurable_SyncsInTheBackground(t *testing.T) {
	t.Parallel()
	s := newScriptedSync()
	s.blocks[1] = true
	t.Cleanup(s.unblock)
	var behind [][2]int64
	d := &Durable{syncFile: s.sync, writeBehind: func(off, n int64) { behind = append(behind, [2]int64{off, n}) }}

	const chunk = 4 << 20
	for i := range int64(SyncEvery/chunk - 1) {
		d.Written(i*chunk, chunk)
	}
	select {
	case n := <-s.started:
		t.Fatalf("sync %d started after %d bytes, fewer than %d", n, SyncEvery-chunk, SyncEvery)
	default:
	}
	d.Written(SyncEvery-chunk, chunk)
	if n := <-s.started; n != 1 {
		t.Fatalf("the first background sync is call %d", n)
	}
	// Twice SyncEvery more bytes while the first sync runs: no second one.
	for i := range int64(2 * SyncEvery / chunk) {
		d.Written(SyncEvery+i*chunk, chunk)
	}
	select {
	case n := <-s.started:
		t.Fatalf("sync %d started while the first ran", n)
	default:
	}
	s.release <- nil
	d.Wait()
	// The next bytes start the next sync: those written meanwhile count.
	d.Written(3*SyncEvery, chunk)
	if n := <-s.started; n != 2 {
		t.Fatalf("the second background sync is call %d", n)
	}
	d.Wait()
	// Counting starts again from each sync's start.
	d.Written(3*SyncEvery+chunk, chunk)
	d.Wait()
	select {
	case n := <-s.started:
		t.Fatalf("sync %d started %d bytes after the last one", n, chunk)
	default:
	}
	if err := d.Sync(); err != nil {
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
	if len(behind) != int(3*SyncEvery/chunk)+2 || behind[len(behind)-1] != [2]int64{3*SyncEvery + chunk, chunk} {
		t.Errorf("write-behind saw %d ranges, the last %v; want every range written", len(behind), behind[len(behind)-1])
	}
}

// TestDurable_BackgroundFailureIsKept: a background sync that failed
// fails the final sync, even though a sync after it would succeed: the
// system may have marked the pages it could not write clean.
func TestDurable_BackgroundFailureIsKept(t *testing.T) {
	t.Parallel()
	s := newScriptedSync()
	s.answers[1] = syscall.EIO
	d := &Durable{syncFile: s.sync}
	d.Written(0, SyncEvery)
	<-s.started
	err := d.Sync()
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("sync: %v, want the background sync's EIO", err)
	}
	if d := cmp.Diff([]int{1}, s.seen); d != "" {
		t.Errorf("syncs (-want +got):\n%s", d)
	}
}

// TestDurable_FailureIsToldOnce: the first background sync that
// fails is told to Failed at once; no background sync starts after it, and
// the final sync returns that failure without syncing again.
func TestDurable_FailureIsToldOnce(t *testing.T) {
	t.Parallel()
	s := newScriptedSync()
	s.answers[1] = syscall.EIO
	var mu sync.Mutex
	var told []error
	d := &Durable{syncFile: s.sync, Failed: func(err error) {
		mu.Lock()
		defer mu.Unlock()
		told = append(told, err)
	}}
	d.Written(0, SyncEvery)
	<-s.started
	d.Wait()
	d.Written(SyncEvery, 2*SyncEvery)
	d.Wait()
	select {
	case n := <-s.started:
		t.Errorf("sync %d started after one failed", n)
	default:
	}
	if err := d.Sync(); !errors.Is(err, syscall.EIO) {
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

// TestDurable_WaitBeforeClose: Wait returns only once the background
// sync has returned, so that the file is never closed under it.
func TestDurable_WaitBeforeClose(t *testing.T) {
	t.Parallel()
	s := newScriptedSync()
	s.blocks[1] = true
	t.Cleanup(s.unblock)
	d := &Durable{syncFile: s.sync}
	d.Written(0, SyncEvery)
	<-s.started
	// The sync is released a moment later; wait must not return before
	// the sync has returned (a wait that returns at once sees none).
	go func() {
		time.Sleep(20 * time.Millisecond)
		s.release <- nil
	}()
	d.Wait()
	if d := cmp.Diff([]int{1}, s.seen); d != "" {
		t.Errorf("syncs (-want +got):\n%s", d)
	}
}

// TestDurable_RealFile: on a real file, Written and Sync leave the
// bytes in place and report no error.
func TestDurable_RealFile(t *testing.T) {
	t.Parallel()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d := NewDurable(f, (*os.File).Sync)
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(i % 251)
	}
	for off := int64(0); off < SyncEvery+2<<20; off += int64(len(block)) {
		if _, err := f.WriteAt(block, off); err != nil {
			t.Fatal(err)
		}
		d.Written(off, int64(len(block)))
	}
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() != SyncEvery+2<<20 {
		t.Errorf("size %d, want %d", st.Size(), SyncEvery+2<<20)
	}
}
