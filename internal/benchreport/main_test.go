package main

import (
	"strings"
	"testing"

	"github.com/itwin-export/itwin-export/internal/leakcheck"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func TestReport(t *testing.T) {
	in := `goos: linux
BenchmarkGetRun/raw-2        100   100 ns/op   10 B/op   5 allocs/op
BenchmarkGetRun/raw-2        100   300 ns/op   10 B/op   5 allocs/op
BenchmarkGetRun/raw-2        100   200 ns/op   10 B/op   5 allocs/op
BenchmarkGetRun/generated-2  100   250 ns/op   12 B/op   6 allocs/op
BenchmarkGetRun/wrapper-2    100   210 ns/op   20 B/op   9 allocs/op
BenchmarkGetRun/wrapper-2    100   230 ns/op   20 B/op   9 allocs/op
BenchmarkGetRun/wrapper-2    100   220 ns/op   20 B/op   9 allocs/op
BenchmarkOther-2             100   1 ns/op
`
	var out strings.Builder
	ok, err := report(strings.NewReader(in), &out, 1.05, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := `GetRun (medians of 3 runs)
  raw               200 ns/op       10 B/op      5 allocs/op
  generated         250 ns/op       12 B/op      6 allocs/op
  wrapper           220 ns/op       20 B/op      9 allocs/op
  wrapper/raw: 1.10 (median of 3 paired runs; ratio of the medians 1.10; allocs +4)
  FAIL: ratio above 1.05
`
	if out.String() != want {
		t.Errorf("report:\n%s\nwant:\n%s", out.String(), want)
	}
	if ok {
		t.Error("a ratio above the limit must fail")
	}
	if _, err := report(strings.NewReader("nothing"), &out, 0, -1); err == nil {
		t.Error("no benchmarks: want an error")
	}
}
