package apitest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// ControlPrefix is the reserved path under which a server started with
// Options.Control answers its control API (conformance/control-api.yaml):
// scripted answers, run outcomes, a controllable clock, and the requests it
// received. Without Options.Control every path under it answers 404, so an
// ordinary fake stays an honest imitation of the API.
const ControlPrefix = "/_fake/"

// maxControlRecords and maxControlRecordBytes bound the requests the
// control API remembers per origin; older ones are dropped first and
// counted. maxControlAnswer bounds the JSON of GET /_fake/requests: the
// oldest records beyond it are left out and counted as dropped.
const (
	maxControlRecords     = 2000
	maxControlRecordBytes = 4 << 20
	maxControlAnswer      = 12 << 20
)

// control is the state behind the control API of one Server.
type control struct {
	s     *Server
	clock *controlClock

	mu      sync.Mutex
	api     recordLog // requests to the API's own origin
	foreign recordLog // requests to the foreign origin
	// foreignURL is the origin of the foreign listener ("" until started);
	// foreignSrv serves it.
	foreignURL string
	foreignSrv *http.Server
	foreignLn  net.Listener
	foreignEnd chan struct{} // closed when foreignSrv.Serve has returned
}

// controlRecord is one request as the control API reports it.
type controlRecord struct {
	Origin  string              `json:"origin"`
	Method  string              `json:"method"`
	Path    string              `json:"path"`
	Query   string              `json:"query,omitempty"`
	Headers map[string][]string `json:"headers"`
	// At is when the request was received, in milliseconds since the log
	// was last reset, on the wall clock: Retry-After and backoff are waits
	// in real time whatever the fake's clock says.
	AtMillis int64 `json:"atMillis"`
	at       time.Time
}

// recordLog keeps the latest maxControlRecords requests of one origin.
type recordLog struct {
	since   time.Time
	records []controlRecord
	bytes   int // sum of the records' sizes
	dropped int
}

// size is about how many bytes rec holds.
func (rec *controlRecord) size() int {
	n := len(rec.Origin) + len(rec.Method) + len(rec.Path) + len(rec.Query) + 64
	for k, vs := range rec.Headers {
		n += len(k)
		for _, v := range vs {
			n += len(v)
		}
	}
	return n
}

// add appends rec, dropping the oldest record when full.
func (l *recordLog) add(rec controlRecord) {
	if l.since.IsZero() {
		l.since = rec.at
	}
	rec.AtMillis = rec.at.Sub(l.since).Milliseconds()
	l.records = append(l.records, rec)
	l.bytes += rec.size()
	drop := 0
	for len(l.records)-drop > 1 && (len(l.records)-drop > maxControlRecords || l.bytes > maxControlRecordBytes) {
		l.bytes -= l.records[drop].size()
		drop++
	}
	if drop > 0 {
		n := copy(l.records, l.records[drop:])
		clear(l.records[n:])
		l.records = l.records[:n]
		l.dropped += drop
	}
}

// withControl puts the control API in front of the API's handler: requests
// under ControlPrefix go to it (or answer 404 when it is off); with it on,
// every other request is recorded for it first. It also puts the control
// clock between the server and Options.Clock.
func (s *Server) withControl(apiHandler http.Handler) http.Handler {
	if !s.opts.Control {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isControlPath(r.URL.Path) {
				notFound(w, r)
				return
			}
			apiHandler.ServeHTTP(w, r)
		})
	}
	c := &control{s: s, clock: newControlClock(s.opts.Clock)}
	s.opts.Clock = c.clock
	s.control = c
	routes := c.routes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isControlPath(r.URL.Path) {
			routes.ServeHTTP(w, r)
			return
		}
		c.record(&c.api, "api", r)
		apiHandler.ServeHTTP(w, r)
	})
}

// isControlPath reports whether p is under the reserved control path.
func isControlPath(p string) bool {
	return p+"/" == ControlPrefix || strings.HasPrefix(p, ControlPrefix)
}

// routes are the control API's operations.
func (c *control) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+ControlPrefix+"info", c.handleInfo)
	mux.HandleFunc("POST "+ControlPrefix+"reset", c.handleReset)
	mux.HandleFunc("POST "+ControlPrefix+"script", c.handleScript)
	mux.HandleFunc("GET "+ControlPrefix+"requests", c.handleRequests)
	mux.HandleFunc("POST "+ControlPrefix+"verify", c.handleVerify)
	mux.HandleFunc(ControlPrefix, notFound)
	return mux
}

// record remembers r in log.
func (c *control) record(log *recordLog, origin string, r *http.Request) {
	rec := controlRecord{
		Origin:  origin,
		Method:  r.Method,
		Path:    r.URL.EscapedPath(),
		Query:   r.URL.RawQuery,
		Headers: redactedHeaders(r.Header),
		at:      time.Now(),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	log.add(rec)
}

// redactedHeaders copies h with credentials replaced: the scheme of an
// Authorization header stays (so a reader sees a bearer token was sent),
// its value does not.
func redactedHeaders(h http.Header) map[string][]string {
	out := make(map[string][]string, len(h))
	for k, vs := range h {
		vs = append([]string(nil), vs...)
		if k == "Authorization" || k == "Cookie" || k == "Proxy-Authorization" {
			for i, v := range vs {
				scheme, _, _ := strings.Cut(v, " ")
				vs[i] = scheme + " REDACTED"
			}
		}
		out[k] = vs
	}
	return out
}

// controlInfo is the answer of GET /_fake/info.
type controlInfo struct {
	APIURL        string `json:"apiUrl"`
	APIOrigin     string `json:"apiOrigin"`
	ForeignOrigin string `json:"foreignOrigin"`
}

// handleInfo tells where the API and the foreign origin are.
func (c *control) handleInfo(w http.ResponseWriter, _ *http.Request) {
	foreign, err := c.startForeign()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "ForeignOriginUnavailable", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, controlInfo{
		APIURL:        c.s.origin + basePath,
		APIOrigin:     c.s.origin,
		ForeignOrigin: foreign,
	})
}

// handleReset forgets every connection, run, scripted answer and recorded
// request, and puts the clock back on real time.
func (c *control) handleReset(w http.ResponseWriter, _ *http.Request) {
	c.reset()
	w.WriteHeader(http.StatusNoContent)
}

// reset is handleReset without HTTP.
func (c *control) reset() {
	s := c.s
	s.mu.Lock()
	s.connections = map[string]*connection{}
	s.order, s.forgotten, s.connBytes = nil, nil, 0
	s.outcomes = map[string]Outcome{}
	s.runCounts = map[string]int{}
	s.faults = nil
	s.rates, s.rateSweepAt = map[string]*rateWindow{}, minRateSweep
	s.mu.Unlock()
	s.ResetRequests()
	c.resetStorage()
	c.clock.set(1, 0)
	c.mu.Lock()
	c.api, c.foreign = recordLog{}, recordLog{}
	c.mu.Unlock()
}

// handleRequests answers the requests received since the last reset, per
// origin, oldest first.
func (c *control) handleRequests(w http.ResponseWriter, _ *http.Request) {
	records, dropped := c.snapshot()
	// The newest records whose JSON fits in maxControlAnswer, oldest first,
	// written one by one: the answer is never built whole in memory.
	first, size := len(records), 0
	for first > 0 {
		b, err := json.Marshal(records[first-1])
		if err != nil || size+len(b)+1 > maxControlAnswer {
			break
		}
		size += len(b) + 1
		first--
	}
	dropped += first
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 32<<10)
	_, _ = bw.WriteString(`{"requests":[`)
	for i, rec := range records[first:] {
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		b, _ := json.Marshal(rec)
		_, _ = bw.Write(b)
	}
	_, _ = fmt.Fprintf(bw, `],"dropped":%d}`, dropped)
	_ = bw.Flush()
}

// snapshot returns a copy of every remembered request (API origin first,
// then foreign, then blob) and how many were dropped.
func (c *control) snapshot() ([]controlRecord, int) {
	blob := c.blobRecords()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]controlRecord, 0, len(c.api.records)+len(c.foreign.records)+len(blob))
	out = append(out, c.api.records...)
	out = append(out, c.foreign.records...)
	out = append(out, blob...)
	return out, c.api.dropped + c.foreign.dropped
}

// readJSON decodes a control request's body into v, answering 400 and
// returning false when it is not the JSON v expects.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidControlRequest", "The control request body is not valid: "+err.Error())
		return false
	}
	return true
}

// startForeign starts, once, the foreign origin: a second loopback listener
// standing for a host that is not the API's. It answers like the API would
// (a completed run for a run URL, else 404), so a client that follows a
// link there gets a plausible answer, and every request it receives is
// recorded: a conformant client never sends one.
func (c *control) startForeign() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.foreignURL != "" {
		return c.foreignURL, nil
	}
	select {
	case <-c.s.done:
		return "", errServerClosed
	default:
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	c.foreignLn, c.foreignEnd = ln, make(chan struct{})
	c.foreignSrv = &http.Server{Handler: http.HandlerFunc(c.serveForeign), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: maxHeaderBytes}
	c.foreignURL = (&url.URL{Scheme: "http", Host: ln.Addr().String()}).String()
	go func(srv *http.Server, end chan struct{}) {
		defer close(end)
		_ = srv.Serve(ln)
	}(c.foreignSrv, c.foreignEnd)
	return c.foreignURL, nil
}

// closeControl stops the foreign listener, if any, and waits for it.
func (s *Server) closeControl() {
	c := s.control
	if c == nil {
		return
	}
	c.mu.Lock()
	srv, end := c.foreignSrv, c.foreignEnd
	c.foreignSrv = nil
	c.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
		<-end
	}
}
