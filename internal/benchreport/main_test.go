package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/itwin-export/itwin-export/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

// input is three runs (-count 3) of a benchmark: each contender alone, then
// interleaved. Alone, the wrapper looks 10% slower than raw; interleaved, its
// ratios are 1.02, 1.20 and 1.04, median 1.04. Then two runs of a benchmark
// without interleaving: the wrapper costs 700 ns and 2 allocations more.
const input = `goos: linux
BenchmarkGetRun/raw-2          100   100 ns/op   10 B/op   5 allocs/op
BenchmarkGetRun/raw-2          100   300 ns/op   10 B/op   5 allocs/op
BenchmarkGetRun/raw-2          100   200 ns/op   10 B/op   5 allocs/op
BenchmarkGetRun/generated-2    100   250 ns/op   12 B/op   6 allocs/op
BenchmarkGetRun/wrapper-2      100   210 ns/op   20 B/op   9 allocs/op
BenchmarkGetRun/wrapper-2      100   230 ns/op   20 B/op   9 allocs/op
BenchmarkGetRun/wrapper-2      100   220 ns/op   20 B/op   9 allocs/op
BenchmarkGetRun/interleaved-2  100   700 ns/op   240 generated-ns/op   200 raw-ns/op   204 wrapper-ns/op   42 B/op   20 allocs/op
BenchmarkGetRun/interleaved-2  100   700 ns/op   240 generated-ns/op   100 raw-ns/op   120 wrapper-ns/op   42 B/op   20 allocs/op
BenchmarkGetRun/interleaved-2  100   700 ns/op   240 generated-ns/op   250 raw-ns/op   260 wrapper-ns/op   42 B/op   20 allocs/op
BenchmarkOther-2               100   1 ns/op
BenchmarkCost/create/raw-2     100   4000 ns/op   2000 B/op   20 allocs/op
BenchmarkCost/create/raw-2     100   4200 ns/op   2000 B/op   20 allocs/op
BenchmarkCost/create/wrapper-2 100   4900 ns/op   2100 B/op   22 allocs/op
BenchmarkCost/create/wrapper-2 100   4700 ns/op   2100 B/op   22 allocs/op
PASS
`

func TestReport(t *testing.T) {
	want := `GetRun (medians of 3 runs)
              alone ns/op  interleaved      B/op  allocs/op
  raw                 200          200        10          5
  generated           250          240        12          6
  wrapper             220          204        20          9
  wrapper/raw: 1.04 (interleaved, median of 3 runs; run alone, ratio of the medians 1.10; allocs +4)
`
	cost := `Cost/create (medians of 2 runs)
  raw                4100 ns/op      2000 B/op     20 allocs/op
  wrapper            4800 ns/op      2100 B/op     22 allocs/op
  wrapper-raw: +700 ns/op, +2 allocs/op
`
	for _, tc := range []struct {
		name           string
		maxRatio       float64
		maxExtraAllocs float64
		wantOK         bool
		want           string
	}{
		{"within both limits", 1.05, 4, true, want + cost},
		{"no limits", 0, -1, true, want + cost},
		{"ratio above", 1.03, 10, false, want + "  FAIL: ratio above 1.03\n" + cost},
		{"allocations above", 1.10, 3, false, want + "  FAIL: more than 3 allocations beyond raw\n" + cost},
		{"allocations above in both", 1.10, 1, false, want + "  FAIL: more than 1 allocations beyond raw\n" + cost + "  FAIL: more than 1 allocations beyond raw\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			ok, err := report(strings.NewReader(input), &out, tc.maxRatio, tc.maxExtraAllocs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, out.String()); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			if ok != tc.wantOK {
				t.Errorf("ok = %v, want %v", ok, tc.wantOK)
			}
		})
	}
}

func TestReportRefusesIncompleteInput(t *testing.T) {
	for name, in := range map[string]string{
		"no benchmarks":                      "nothing",
		"interleaved run without contenders": "BenchmarkGetRun/raw-2 1 100 ns/op\nBenchmarkGetRun/wrapper-2 1 110 ns/op\nBenchmarkGetRun/interleaved-2 1 210 ns/op\n",
		"not a number":                       "BenchmarkGetRun/raw-2 1 x ns/op\n",
	} {
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			if ok, err := report(strings.NewReader(in), &out, 0, -1); err == nil || ok {
				t.Errorf("report = %v, %v; want an error", ok, err)
			}
		})
	}
}
