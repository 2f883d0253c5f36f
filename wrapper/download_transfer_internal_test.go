package wrapper

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestTransfer_Plan: the pieces cover the file once, in order. Large
// ranges end with one round of small tail ranges (BlockSize/8, 1 MiB at
// least) and the rest is cut into a multiple of Parallel equal ranges, so
// the connections finish together; small files keep plain ranges, and a
// single stream is one piece.
func TestTransfer_Plan(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	type span struct{ Start, End int64 }
	spans := func(ps []*piece) []span {
		var out []span
		for _, p := range ps {
			out = append(out, span{p.start, p.end})
		}
		return out
	}
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
		var at int64
		for _, s := range got {
			if s.Start != at || s.End <= s.Start {
				t.Fatalf("%s: piece %+v after %d: not contiguous", tc.name, s, at)
			}
			at = s.End
		}
		if at != tc.size {
			t.Errorf("%s: pieces end at %d, want %d", tc.name, at, tc.size)
		}
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
