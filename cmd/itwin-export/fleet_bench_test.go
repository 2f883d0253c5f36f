package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// The load BenchmarkFleet puts on one fake-server: the Community tier's
// 500 requests a minute, in fixed windows of 6 s (50 requests each), met
// by fleetProcs processes of fleetExports exports each.
const (
	fleetProcs   = 4
	fleetExports = 10
	fleetTierN   = 50
	fleetWindow  = 6 * time.Second
	// fleetBudget is --requests-per-minute: 98% of the tier, since the
	// fake's windows start when its first request arrives.
	fleetBudget = 490
)

// BenchmarkFleet runs fleetProcs processes of the built binary at once,
// each exporting fleetExports connections (run --wait --parallel 10 with
// --requests-per-minute 490), against one fake-server --rate-limit 50/6s:
// first sharing one Redis (--redis-url), then each on its own budget.
//
// It reports the requests the fake received, the 429s the processes met,
// the total time and the least time the tier allows for those requests
// (requests ÷ 500 a minute: the tier spent evenly, as in BenchmarkLoad).
// Sharing Redis, it fails on any 429 or a time above 1.1 times that bound;
// alone, the 429s are reported (the processes
// spend four budgets on one tier).
//
//	make bench-fleet
func BenchmarkFleet(b *testing.B) {
	b.Run("redis", func(b *testing.B) { fleetRun(b, true) })
	b.Run("alone", func(b *testing.B) { fleetRun(b, false) })
}

// fleetRun is one sub-benchmark of BenchmarkFleet.
func fleetRun(b *testing.B, shared bool) {
	for range b.N {
		redisURL := ""
		if shared {
			redisURL, _ = startRedisServer(b)
		}
		base := startFakeBinary(b, "--control", "--step", "200ms", "--rate-limit", "50/6s")
		ids := addFleetConnections(b, base, fleetProcs, fleetExports)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		start := time.Now()
		var waits []func() (int, string)
		for _, conns := range ids {
			waits = append(waits, startExport(b, exportCmd(ctx, base, redisURL, fleetBudget, 500*time.Millisecond, conns, "--verbose")))
		}
		tooMany, failed := 0, 0
		for _, wait := range waits {
			code, stderr := wait()
			tooMany += strings.Count(stderr, "status=429")
			if code != 0 {
				failed++
				if shared {
					b.Errorf("a process exited %d:\n%s", code, stderr)
				}
			}
		}
		elapsed := time.Since(start)
		cancel()
		requests := 0
		for _, r := range fakeRequests(b, base) {
			if r.Origin == "api" {
				requests++
			}
		}
		bound := time.Duration(requests) * fleetWindow / fleetTierN
		b.ReportMetric(float64(requests), "requests")
		b.ReportMetric(float64(tooMany), "429s")
		b.ReportMetric(float64(failed), "failed-processes")
		b.ReportMetric(elapsed.Seconds(), "s-total")
		b.ReportMetric(bound.Seconds(), "s-bound")
		b.ReportMetric(float64(elapsed)/float64(bound), "time/bound")
		b.Logf("%d processes × %d exports, shared=%v: %d requests, %d answered 429, %d processes failed, %.1fs (the tier's least: %.1fs, ratio %.3f)",
			fleetProcs, fleetExports, shared, requests, tooMany, failed, elapsed.Seconds(), bound.Seconds(), float64(elapsed)/float64(bound))
		if shared && tooMany > 0 {
			b.Errorf("sharing Redis, the processes met %d 429s; want 0", tooMany)
		}
		if shared && float64(elapsed) > 1.1*float64(bound) {
			b.Errorf("sharing Redis, took %v: more than 1.1 times the tier's least %v", elapsed, bound)
		}
	}
}
