// Command benchreport reads `go test -bench -benchmem` output on stdin and
// prints, for every benchmark with raw and wrapper variants (Name/raw,
// Name/wrapper), the median ns/op, B/op and allocs/op of each variant and
// the ratio wrapper/raw, as a line "wrapper/raw: X.XX". `make bench` pipes
// the benchmarks through it.
//
// The ratio is the median of paired ratios: the i-th wrapper sample over the
// i-th raw sample. `make bench` runs the benchmarks in rounds, each round
// measuring raw and wrapper one right after the other, so a pair shares the
// machine's state of the moment; on a shared machine loopback latency drifts
// by more than the client's own cost, and pairing cancels that drift. The
// ratio of the medians is printed too.
//
// With -max-ratio it exits 1 when a ratio is above it; with -max-extra-allocs
// when the wrapper allocates more than that many times beyond raw.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// line matches "BenchmarkX/variant-2   1000   123 ns/op   45 B/op   6 allocs/op".
var line = regexp.MustCompile(`^Benchmark(\S+?)/(\w+)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) B/op\s+([\d.]+) allocs/op)?`)

type samples struct{ ns, bytes, allocs []float64 }

func main() {
	maxRatio := flag.Float64("max-ratio", 0, "fail when a wrapper/raw ratio of ns/op medians is above this (0: never)")
	maxExtraAllocs := flag.Float64("max-extra-allocs", -1, "fail when the wrapper's median allocs/op exceed raw's by more than this (-1: never)")
	flag.Parse()
	ok, err := report(os.Stdin, os.Stdout, *maxRatio, *maxExtraAllocs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func report(in io.Reader, out io.Writer, maxRatio, maxExtraAllocs float64) (bool, error) {
	data := map[string]map[string]*samples{}
	var order []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := line.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		name, variant := m[1], m[2]
		if data[name] == nil {
			data[name] = map[string]*samples{}
			order = append(order, name)
		}
		s := data[name][variant]
		if s == nil {
			s = &samples{}
			data[name][variant] = s
		}
		s.ns = append(s.ns, parse(m[3]))
		if m[4] != "" {
			s.bytes = append(s.bytes, parse(m[4]))
			s.allocs = append(s.allocs, parse(m[5]))
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	ok, compared := true, 0
	for _, name := range order {
		raw, wrapped := data[name]["raw"], data[name]["wrapper"]
		if raw == nil || wrapped == nil {
			continue
		}
		compared++
		fmt.Fprintf(out, "%s (medians of %d runs)\n", name, len(wrapped.ns))
		for _, variant := range []string{"raw", "generated", "wrapper"} {
			if s := data[name][variant]; s != nil {
				fmt.Fprintf(out, "  %-10s %10.0f ns/op %8.0f B/op %6.0f allocs/op\n", variant, median(s.ns), median(s.bytes), median(s.allocs))
			}
		}
		var paired []float64
		for i := range min(len(raw.ns), len(wrapped.ns)) {
			paired = append(paired, wrapped.ns[i]/raw.ns[i])
		}
		ratio := median(paired)
		extra := median(wrapped.allocs) - median(raw.allocs)
		fmt.Fprintf(out, "  wrapper/raw: %.2f (median of %d paired runs; ratio of the medians %.2f; allocs +%.0f)\n",
			ratio, len(paired), median(wrapped.ns)/median(raw.ns), extra)
		if maxRatio > 0 && ratio > maxRatio {
			fmt.Fprintf(out, "  FAIL: ratio above %.2f\n", maxRatio)
			ok = false
		}
		if maxExtraAllocs >= 0 && extra > maxExtraAllocs {
			fmt.Fprintf(out, "  FAIL: more than %.0f allocations beyond raw\n", maxExtraAllocs)
			ok = false
		}
	}
	if compared == 0 {
		return false, fmt.Errorf("no benchmark with raw and wrapper variants in the input")
	}
	return ok, nil
}

func parse(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
