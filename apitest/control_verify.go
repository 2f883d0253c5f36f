package apitest

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sync"
	"time"
)

// controlClock is the Clock of a server with its control API on: the
// underlying clock at a pace the control API sets, so that a script can
// freeze runs in their state or hurry them to the end.
type controlClock struct {
	base Clock

	mu       sync.Mutex
	rate     float64
	baseAt   time.Time // base time when the rate was last set
	fakeAt   time.Time // this clock's time then
	anchored bool
}

// newControlClock returns a clock that follows base at rate 1.
func newControlClock(base Clock) *controlClock {
	return &controlClock{base: base, rate: 1}
}

// Now returns the time: fakeAt plus the base time passed since, times rate.
func (c *controlClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.base.Now()
	if !c.anchored {
		return now
	}
	return c.fakeAt.Add(time.Duration(float64(now.Sub(c.baseAt)) * c.rate))
}

// rateNow returns the current rate.
func (c *controlClock) rateNow() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rate
}

// set changes the rate from now on and moves the clock forward by advance.
// Rate 1 with no advance after a reset puts it back on the base clock.
func (c *controlClock) set(rate float64, advance time.Duration) {
	now := c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.baseAt, c.fakeAt, c.rate = c.base.Now(), now.Add(advance), rate
	c.anchored = true
}

// expectation is one check of POST /_fake/verify on the recorded requests.
type expectation struct {
	// Origin is "api" (default), "foreign", "blob" (the Storage API's blob
	// origin) or "any".
	Origin string `json:"origin,omitempty"`
	// Method matches the request method; "" matches any.
	Method string `json:"method,omitempty"`
	// Path is matched with path.Match against the unescaped path; "" matches
	// any.
	Path string `json:"path,omitempty"`
	// Count, Min and Max bound how many requests match.
	Count *int `json:"count,omitempty"`
	Min   *int `json:"min,omitempty"`
	Max   *int `json:"max,omitempty"`
	// WithHeaders narrows the match to requests that have ("present") or
	// lack ("absent") each header named, for example the resumed transfer
	// that carries Range.
	WithHeaders map[string]string `json:"withHeaders,omitempty"`
	// Headers say, per header name, "present" or "absent" on every
	// matching request.
	Headers map[string]string `json:"headers,omitempty"`
	// MinIntervalMillis is the least time between two consecutive matching
	// requests, as the server received them.
	MinIntervalMillis int64 `json:"minIntervalMillis,omitempty"`
}

// handleVerify checks the recorded requests against a list of expectations
// and answers {"ok": bool, "failures": [...]}, so that every binding's runner
// checks the same way.
func (c *control) handleVerify(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Requests []expectation `json:"requests"`
	}
	if !readJSON(w, r, &body) {
		return
	}
	records, dropped := c.snapshot()
	failures := []string{}
	if dropped > 0 {
		failures = append(failures, fmt.Sprintf("%d requests were dropped from the record; reset before each scenario", dropped))
	}
	for _, e := range body.Requests {
		failures = append(failures, e.check(records)...)
	}
	writeJSON(w, http.StatusOK, struct {
		OK       bool     `json:"ok"`
		Failures []string `json:"failures"`
	}{len(failures) == 0, failures})
}

// matches reports whether rec is one of the requests e speaks of.
func (e expectation) matches(rec controlRecord) bool {
	origin := e.Origin
	if origin == "" {
		origin = "api"
	}
	if origin != "any" && origin != rec.Origin {
		return false
	}
	if e.Method != "" && e.Method != rec.Method {
		return false
	}
	for h, want := range e.WithHeaders {
		if hasHeader(rec, h) != (want == "present") {
			return false
		}
	}
	if e.Path == "" {
		return true
	}
	p, err := url.PathUnescape(rec.Path)
	if err != nil {
		p = rec.Path
	}
	ok, err := path.Match(e.Path, p)
	return ok && err == nil
}

// check returns one failure per way the records break e.
func (e expectation) check(records []controlRecord) []string {
	name := fmt.Sprintf("%s %s on %s", orAny(e.Method), orAny(e.Path), orText(e.Origin, "api"))
	switch e.Origin {
	case "", "api", "foreign", "blob", "any":
	default:
		return []string{fmt.Sprintf("%s: origin %q is not api, foreign, blob or any", name, e.Origin)}
	}
	for h, want := range e.WithHeaders {
		if want != "present" && want != "absent" {
			return []string{fmt.Sprintf("%s: withHeaders %s: %q is neither present nor absent", name, h, want)}
		}
	}
	var failures []string
	n := 0
	var last time.Time
	for _, rec := range records {
		if !e.matches(rec) {
			continue
		}
		if n > 0 && e.MinIntervalMillis > 0 {
			if gap := rec.at.Sub(last); gap < time.Duration(e.MinIntervalMillis)*time.Millisecond {
				failures = append(failures, fmt.Sprintf("%s: request %d came %dms after the one before, want at least %dms", name, n+1, gap.Milliseconds(), e.MinIntervalMillis))
			}
		}
		last = rec.at
		n++
		for h, want := range e.Headers {
			if want != "present" && want != "absent" {
				failures = append(failures, fmt.Sprintf("%s: header %s: %q is neither present nor absent", name, h, want))
				continue
			}
			if hasHeader(rec, h) != (want == "present") {
				failures = append(failures, fmt.Sprintf("%s: request %d (%s %s): header %s is not %s", name, n, rec.Method, rec.Path, h, want))
			}
		}
	}
	switch {
	case e.Count != nil && n != *e.Count:
		failures = append(failures, fmt.Sprintf("%s: saw %d requests, want %d", name, n, *e.Count))
	case e.Min != nil && n < *e.Min:
		failures = append(failures, fmt.Sprintf("%s: saw %d requests, want at least %d", name, n, *e.Min))
	case e.Max != nil && n > *e.Max:
		failures = append(failures, fmt.Sprintf("%s: saw %d requests, want at most %d", name, n, *e.Max))
	}
	return failures
}

// hasHeader reports whether the request carried the header.
func hasHeader(rec controlRecord, name string) bool {
	return len(rec.Headers[http.CanonicalHeaderKey(name)]) > 0
}

// orAny is s, or "*" when empty.
func orAny(s string) string { return orText(s, "*") }

// orText is s, or def when s is empty.
func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
