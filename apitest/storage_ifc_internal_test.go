package apitest

import (
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPatternSource_ReadAt: what ReadAt copies from the one-period table is
// PatternByte at each offset, across the period's boundaries and up to the
// file's end, where it answers io.EOF with what was left.
func TestPatternSource_ReadAt(t *testing.T) {
	const size = 3*patternPeriod + 1000
	src := patternSource(size)
	for _, tc := range []struct {
		name    string
		off     int64
		len     int
		wantN   int
		wantEOF bool
	}{
		{"start", 0, 4096, 4096, false},
		{"across a 2048-byte step", 2040, 20, 20, false},
		{"across a period", patternPeriod - 5, 20, 20, false},
		{"longer than a period", 100, 2*patternPeriod + 7, 2*patternPeriod + 7, false},
		{"up to the end", size - 10, 10, 10, false},
		{"past the end", size - 10, 30, 10, true},
		{"at the end", size, 5, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := make([]byte, tc.len)
			n, err := src.ReadAt(p, tc.off)
			if n != tc.wantN || errors.Is(err, io.EOF) != tc.wantEOF || (err != nil && !errors.Is(err, io.EOF)) {
				t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d, EOF %v", tc.len, tc.off, n, err, tc.wantN, tc.wantEOF)
			}
			want := make([]byte, n)
			for i := range want {
				want[i] = PatternByte(tc.off + int64(i))
			}
			if diff := cmp.Diff(want, p[:n]); diff != "" {
				t.Errorf("content at %d (-want +got):\n%s", tc.off, diff)
			}
		})
	}
	if _, err := src.ReadAt(make([]byte, 1), -1); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("ReadAt at -1: %v, want an error other than EOF", err)
	}
}

// BenchmarkPatternSource_ReadAt: how fast the fake makes a pattern file's
// content, which every download benchmark pays on the server's side.
func BenchmarkPatternSource_ReadAt(b *testing.B) {
	src := patternSource(1 << 30)
	p := make([]byte, 256<<10)
	b.SetBytes(int64(len(p)))
	for i := range b.N {
		if _, err := src.ReadAt(p, int64(i)*int64(len(p))%(1<<30)); err != nil {
			b.Fatal(err)
		}
	}
}
