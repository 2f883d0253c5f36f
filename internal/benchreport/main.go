// Command benchreport reads `go test -bench -benchmem` output on stdin and
// prints, for every benchmark with raw and wrapper contenders, the median
// ns/op, B/op and allocs/op of each contender and what the wrapper adds.
// `make bench` pipes the benchmarks of package wrapper through it.
//
// A benchmark Name with a round trip has one sub-benchmark per contender
// run alone (Name/raw, Name/generated, Name/wrapper: ns/op, B/op,
// allocs/op) and one running them interleaved (Name/interleaved), which
// reports each contender's time as a metric "<contender>-ns/op". Its time
// ratio, printed as "wrapper/raw: X.XX", comes from the interleaved runs: the
// median, over the runs (-count), of wrapper-ns/op over raw-ns/op.
// Interleaved calls share the machine's state of the moment, so the drift of
// loopback latency on a shared machine, larger than a client's own cost,
// cancels out of the ratio; run alone, one after the other, the contenders
// differ by that drift as much as by their code. The ratio of the alone
// medians is printed too, for comparison.
//
// A benchmark without an interleaved sub-benchmark (BenchmarkClientCost, over
// an in-memory transport) gets the difference of the medians instead:
// "wrapper-raw: +N ns/op".
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

// result matches "BenchmarkName/sub-2   1000   123 ns/op   45 B/op ..." and
// captures the name, the sub-benchmark and the "value unit" pairs.
var result = regexp.MustCompile(`^Benchmark(\S+?)/(\w+)(?:-\d+)?\s+\d+\s+(.*)$`)

// metrics are the samples of one sub-benchmark, by unit.
type metrics map[string][]float64

func main() {
	maxRatio := flag.Float64("max-ratio", 0, "fail when a wrapper/raw time ratio is above this (0: never)")
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

// report prints the comparison of every benchmark in in with raw and
// wrapper contenders and tells whether all stay within maxRatio and
// maxExtraAllocs. It fails on a number it cannot read, on an interleaved
// run without both contenders' times, and on input with nothing to compare.
func report(in io.Reader, out io.Writer, maxRatio, maxExtraAllocs float64) (bool, error) {
	data, order, err := parse(in)
	if err != nil {
		return false, err
	}
	ok, compared := true, 0
	for _, name := range order {
		subs := data[name]
		raw, wrapped, mixed := subs["raw"], subs["wrapper"], subs["interleaved"]
		if raw == nil || wrapped == nil {
			continue
		}
		compared++
		extra := median(wrapped["allocs/op"]) - median(raw["allocs/op"])
		if mixed == nil {
			printAlone(out, name, subs, extra)
		} else {
			within, err := printInterleaved(out, name, subs, extra, maxRatio)
			if err != nil {
				return false, err
			}
			ok = ok && within
		}
		if maxExtraAllocs >= 0 && extra > maxExtraAllocs {
			fmt.Fprintf(out, "  FAIL: more than %.0f allocations beyond raw\n", maxExtraAllocs)
			ok = false
		}
	}
	if compared == 0 {
		return false, fmt.Errorf("no benchmark with raw and wrapper contenders in the input")
	}
	return ok, nil
}

// parse reads benchmark result lines from in, skipping every other line,
// into the samples of each benchmark by sub-benchmark, and returns the
// benchmark names in the order they first appear.
func parse(in io.Reader) (map[string]map[string]metrics, []string, error) {
	data := map[string]map[string]metrics{}
	var order []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		m := result.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		name, sub := m[1], m[2]
		if data[name] == nil {
			data[name] = map[string]metrics{}
			order = append(order, name)
		}
		if data[name][sub] == nil {
			data[name][sub] = metrics{}
		}
		fields := strings.Fields(m[3])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, nil, fmt.Errorf("benchmark %s/%s: %q is not a number", name, sub, fields[i])
			}
			data[name][sub][fields[i+1]] = append(data[name][sub][fields[i+1]], v)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	return data, order, nil
}

// printAlone prints the medians of a benchmark without interleaved runs and
// the difference of the wrapper's from raw's; extra is that difference in
// allocs/op.
func printAlone(out io.Writer, name string, subs map[string]metrics, extra float64) {
	raw, wrapped := subs["raw"], subs["wrapper"]
	fmt.Fprintf(out, "%s (medians of %d runs)\n", name, len(wrapped["ns/op"]))
	for _, c := range []string{"raw", "wrapper"} {
		s := subs[c]
		fmt.Fprintf(out, "  %-10s %12.0f ns/op %9.0f B/op %6.0f allocs/op\n", c, median(s["ns/op"]), median(s["B/op"]), median(s["allocs/op"]))
	}
	fmt.Fprintf(out, "  wrapper-raw: %+.0f ns/op, %+.0f allocs/op\n", median(wrapped["ns/op"])-median(raw["ns/op"]), extra)
}

// printInterleaved prints the medians of a benchmark with interleaved runs
// and its wrapper/raw time ratio, the median of the per-run ratios of the
// interleaved times; extra is the wrapper's allocs/op beyond raw's. It
// tells whether the ratio stays within maxRatio (0: no limit), and fails
// unless every interleaved run timed both raw and wrapper.
func printInterleaved(out io.Writer, name string, subs map[string]metrics, extra, maxRatio float64) (bool, error) {
	raw, wrapped, mixed := subs["raw"], subs["wrapper"], subs["interleaved"]
	if len(mixed["raw-ns/op"]) == 0 || len(mixed["raw-ns/op"]) != len(mixed["wrapper-ns/op"]) {
		return false, fmt.Errorf("benchmark %s/interleaved: no raw-ns/op and wrapper-ns/op for every run", name)
	}
	var ratios []float64
	for i, r := range mixed["raw-ns/op"] {
		ratios = append(ratios, mixed["wrapper-ns/op"][i]/r)
	}
	fmt.Fprintf(out, "%s (medians of %d runs)\n", name, len(ratios))
	fmt.Fprintf(out, "  %-10s %12s %12s %9s %10s\n", "", "alone ns/op", "interleaved", "B/op", "allocs/op")
	for _, c := range []string{"raw", "generated", "wrapper"} {
		if s := subs[c]; s != nil {
			fmt.Fprintf(out, "  %-10s %12.0f %12.0f %9.0f %10.0f\n", c, median(s["ns/op"]), median(mixed[c+"-ns/op"]), median(s["B/op"]), median(s["allocs/op"]))
		}
	}
	ratio := median(ratios)
	fmt.Fprintf(out, "  wrapper/raw: %.2f (interleaved, median of %d runs; run alone, ratio of the medians %.2f; allocs %+.0f)\n",
		ratio, len(ratios), median(wrapped["ns/op"])/median(raw["ns/op"]), extra)
	if maxRatio > 0 && ratio > maxRatio {
		fmt.Fprintf(out, "  FAIL: ratio above %.2f\n", maxRatio)
		return false, nil
	}
	return true, nil
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
