package wrapper

import (
	"context"
	"crypto/md5"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/apitest"
)

// TestTransfer_Report: Progress hears counts that only grow, whatever the
// order in which the connections report them, and 0 again when an attempt
// starts over.
func TestTransfer_Report(t *testing.T) {
	t.Parallel()
	var got []int64
	tr := &transfer{size: 1000, opts: DownloadOptions{Progress: func(done, total int64) {
		if total != 1000 {
			t.Errorf("total %d, want 1000", total)
		}
		got = append(got, done)
	}}}
	// Two connections counted 800 and 850; the one with 850 reports first.
	for _, written := range []int64{200, 850, 800, 850, 1000} {
		tr.report(written)
	}
	tr.startOver()
	tr.report(300)
	if d := cmp.Diff([]int64{200, 850, 1000, 0, 300}, got); d != "" {
		t.Errorf("progress (-want +got):\n%s", d)
	}
}

// span is a piece's range, for comparing pieces with cmp.
type span struct{ Start, End int64 }

// spans lists the ranges of ps.
func spans(ps []*piece) []span {
	var out []span
	for _, p := range ps {
		out = append(out, span{p.start, p.end})
	}
	return out
}

// checkCovers fails the test unless ss, the ranges of what, cover
// [0, size) once, in order.
func checkCovers(t *testing.T, what string, ss []span, size int64) {
	t.Helper()
	var at int64
	for _, s := range ss {
		if s.Start != at || s.End <= s.Start {
			t.Fatalf("%s: piece %+v after %d: not contiguous", what, s, at)
		}
		at = s.End
	}
	if at != size {
		t.Errorf("%s: pieces end at %d, want %d", what, at, size)
	}
}

// TestTransfer_Plan: the pieces cover the file once, in order. Large
// ranges end with one round of small tail ranges (BlockSize/8, 1 MiB at
// least) and the rest is cut into a multiple of Parallel equal ranges, so
// the connections finish together; small files keep plain ranges, and a
// single stream is one piece.
func TestTransfer_Plan(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	for _, tc := range []struct {
		name            string
		size, block     int64
		parallel        int
		single          bool
		want            []span // nil: only the invariants
		wantTail, count int    // tail ranges at the end, pieces in all
	}{
		{name: "single stream", size: 100 * mib, block: 8 * mib, parallel: 8, single: true,
			want: []span{{0, 100 * mib}}},
		{name: "empty file", size: 0, block: 8 * mib, parallel: 8,
			want: []span{{0, 0}}},
		{name: "small ranges stay plain", size: 10 * mib, block: 8 * mib, parallel: 4,
			want: []span{{0, 2621440}, {2621440, 5242880}, {5242880, 7864320}, {7864320, 10 * mib}}},
		{name: "two connections, tail blocks", size: 40 * mib, block: 8 * mib, parallel: 2, wantTail: 2, count: 8},
		{name: "256 MiB, 8 × 8 MiB", size: 256 * mib, block: 8 * mib, parallel: 8, wantTail: 8, count: 40},
		{name: "uneven size", size: 256*mib + 12345, block: 8 * mib, parallel: 8, wantTail: 8, count: 40},
	} {
		tr := &transfer{size: tc.size, opts: DownloadOptions{Parallel: tc.parallel, BlockSize: tc.block}}
		got := spans(tr.plan(tc.single))
		if tc.want != nil {
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("%s (-want +got):\n%s", tc.name, d)
			}
			continue
		}
		if len(got) != tc.count {
			t.Errorf("%s: %d pieces, want %d", tc.name, len(got), tc.count)
		}
		checkCovers(t, tc.name, got, tc.size)
		tail := max(tc.block/8, minTailBlock)
		for i, s := range got[len(got)-tc.wantTail:] {
			if s.End-s.Start != tail {
				t.Errorf("%s: tail piece %d is %d bytes, want %d", tc.name, i, s.End-s.Start, tail)
			}
		}
		bulk := got[:len(got)-tc.wantTail]
		if len(bulk)%tc.parallel != 0 || bulk[0].End-bulk[0].Start > tc.block {
			t.Errorf("%s: %d bulk pieces of %d bytes, want a multiple of %d, none above %d", tc.name, len(bulk), bulk[0].End-bulk[0].Start, tc.parallel, tc.block)
		}
	}
}

// TestTransfer_Unhashed: the bytes ready for the checksum run from where it
// is to the end of the pieces written without a gap.
func TestTransfer_Unhashed(t *testing.T) {
	t.Parallel()
	pieces := func(done ...int64) []*piece {
		var ps []*piece
		for i, d := range done {
			ps = append(ps, &piece{start: int64(i) * 10, end: int64(i+1) * 10, done: d})
		}
		return ps
	}
	for _, tc := range []struct {
		name      string
		pieces    []*piece
		hashed    int64
		hashPiece int
		want      int64
	}{
		{"nothing written", pieces(0, 0, 0), 0, 0, 0},
		{"first piece under way", pieces(4, 10, 10), 0, 0, 4},
		{"complete pieces run on", pieces(10, 10, 3), 2, 0, 21},
		{"a gap stops it", pieces(10, 0, 10), 5, 0, 5},
		{"from the checksum's piece", pieces(10, 10, 7), 14, 1, 13},
		{"all hashed", pieces(10, 10, 10), 30, 2, 0},
	} {
		tr := &transfer{pieces: tc.pieces, hashed: tc.hashed, hashPiece: tc.hashPiece}
		if got := tr.unhashed(); got != tc.want {
			t.Errorf("%s: unhashed() = %d, want %d", tc.name, got, tc.want)
		}
	}
}

// slowReadBack is a checksum's read-back slower than the link: each read
// waits, and records how far the bytes written had run ahead of what was
// hashed.
type slowReadBack struct {
	f         *os.File
	t         *transfer
	delay     time.Duration
	mu        sync.Mutex
	maxLead   int64
	maxBehind int // most connections seen waiting for the checksum
	reads     int
}

func (r *slowReadBack) ReadAt(p []byte, off int64) (int, error) {
	time.Sleep(r.delay)
	r.t.mu.Lock()
	written, behind := r.t.written, r.t.behind
	r.t.mu.Unlock()
	r.mu.Lock()
	r.maxLead, r.reads, r.maxBehind = max(r.maxLead, written-off), r.reads+1, max(r.maxBehind, behind)
	r.mu.Unlock()
	return r.f.ReadAt(p, off)
}

// patternFileClient starts a fake holding one pattern file of size bytes
// and returns a client of it and the file's id.
func patternFileClient(t *testing.T, name string, size int64) (*Client, string) {
	t.Helper()
	return patternFileClientOf(t, apitest.Options{}, name, size)
}

// patternFileClientOf is patternFileClient with a fake of the given options.
func patternFileClientOf(t *testing.T, o apitest.Options, name string, size int64) (*Client, string) {
	t.Helper()
	fake := apitest.NewServer(o)
	t.Cleanup(fake.Close)
	id := fake.AddPatternFile(name, size)
	c, err := New(Options{BaseURL: fake.URL, TokenSource: StaticToken("test-token")})
	if err != nil {
		t.Fatal(err)
	}
	return c, id
}

// TestTransfer_ChecksumLead: when the link outruns the checksum, the
// connections wait for it (see checksumLead), and the file still comes out
// right. Without the wait, a 128 MiB file on loopback is written long
// before a checksum that reads 256 KiB per 2 ms (128 MiB/s) has caught up,
// and no connection ever waits.
func TestTransfer_ChecksumLead(t *testing.T) {
	t.Parallel()
	const size = 128 << 20
	c, id := patternFileClient(t, "lead.ifc", size)
	tr, back, f := slowChecksumRun(t, c, id, size, 2*time.Millisecond)
	if back.maxBehind == 0 {
		t.Errorf("no connection waited for the checksum; the bytes written ran %d ahead of it", back.maxLead)
	}
	if back.reads < size/transferBuffer {
		t.Errorf("%d read-backs, want the whole file's %d", back.reads, size/transferBuffer)
	}
	// The ranges taken once the connections had waited are tail blocks
	// (see take), and they still cover the file once, in order.
	planned := len((&transfer{size: size, opts: tr.opts}).plan(false))
	if len(tr.pieces) <= planned {
		t.Errorf("%d pieces fetched, as many as the plan's %d: none was split after the connections waited", len(tr.pieces), planned)
	}
	checkCovers(t, "pieces fetched", spans(tr.pieces), size)
	for _, p := range tr.pieces {
		if p.done != p.end-p.start {
			t.Errorf("piece [%d, %d) holds %d bytes: not complete", p.start, p.end, p.done)
		}
	}
	checkPatternFile(t, f, size)
}

// TestTransfer_SlowLinkKeepsRanges: on a link slower than the checksum no
// connection waits for it, and the ranges are the plan's: none is split
// into tail blocks, which would cost a long link a first-byte wait each.
func TestTransfer_SlowLinkKeepsRanges(t *testing.T) {
	t.Parallel()
	const size = 16 << 20
	c, id := patternFileClientOf(t, apitest.Options{BlobRate: 8 << 20}, "slow.ifc", size)
	tr, back, f := slowChecksumRun(t, c, id, size, 0)
	if back.maxBehind != 0 {
		t.Errorf("%d connections waited for a checksum faster than the link", back.maxBehind)
	}
	want := (&transfer{size: size, opts: tr.opts}).plan(false)
	if d := cmp.Diff(spans(want), spans(tr.pieces)); d != "" {
		t.Errorf("ranges fetched (-plan +got):\n%s", d)
	}
	checkPatternFile(t, f, size)
}

// TestTransfer_Take: pieces are handed out in file order, as planned until
// a connection has waited for the checksum; from then on a piece larger
// than a tail block is split, its first tail block taken and the rest left
// next, and the pieces still cover the file once.
func TestTransfer_Take(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	tr := &transfer{size: 64 * mib, opts: DownloadOptions{Parallel: 2, BlockSize: 8 * mib}}
	plan := tr.plan(false)
	tr.pieces = tr.plan(false) // the same pieces, for take to split
	var got []span
	take := func() bool {
		p := tr.take()
		if p != nil {
			got = append(got, span{p.start, p.end})
		}
		return p != nil
	}
	take()
	take()
	tr.outrun = true
	take()
	take()
	split := plan[2].start
	want := []span{{0, plan[0].end}, {plan[1].start, plan[1].end}, {split, split + mib}, {split + mib, split + 2*mib}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("first pieces (-want +got):\n%s", d)
	}
	for take() {
	}
	if tr.take() != nil {
		t.Error("take() after the last piece gave another")
	}
	checkCovers(t, "pieces taken", got, tr.size)
	for _, s := range got[2:] {
		if s.End-s.Start > mib {
			t.Errorf("piece %+v taken after the wait is larger than a tail block (1 MiB)", s)
		}
	}
	// 62 MiB of bulk in 8 pieces of 7.75 MiB, then 2 tail blocks: after
	// the first two, each bulk piece is taken as 7 tail blocks and 0.75 MiB.
	if len(got) != len(tr.pieces) || len(got) != 2+6*8+2 {
		t.Errorf("%d pieces taken (%d in the list), want %d; the plan had %d", len(got), len(tr.pieces), 2+6*8+2, len(plan))
	}
}

// slowChecksumRun downloads file id of size bytes with 4 connections of
// 4 MiB ranges into a temporary file, through a read-back that waits delay
// before each read, and returns the transfer, its read-back and the file.
func slowChecksumRun(t *testing.T, c *Client, id string, size int64, delay time.Duration) (*transfer, *slowReadBack, *os.File) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "download.part"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	opts := DownloadOptions{Parallel: 4, BlockSize: 4 << 20}.withDefaults()
	tr := &transfer{c: c, http: c.blobClient(), fileID: id, size: size, w: f, resumable: true, opts: opts}
	back := &slowReadBack{f: f, t: tr, delay: delay}
	tr.readBack = back
	if err := tr.run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
	return tr, back, f
}

// checkPatternFile fails the test unless f holds the fake's pattern
// content of size bytes.
func checkPatternFile(t *testing.T, f *os.File, size int64) {
	t.Helper()
	h := md5.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size)); err != nil {
		t.Fatal(err)
	}
	want := md5.New()
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(buf)) {
		for i := range buf {
			buf[i] = apitest.PatternByte(off + int64(i))
		}
		want.Write(buf)
	}
	if d := cmp.Diff(want.Sum(nil), h.Sum(nil)); d != "" {
		t.Errorf("file content (-want +got MD5):\n%s", d)
	}
}
