package apitest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/itwin-export/itwin-export/api"
)

var errServerClosed = errors.New("the server is closed")

// script is the body of POST /_fake/script: what the fake does next.
type script struct {
	// Clock sets the pace of the server's clock.
	Clock *scriptClock `json:"clock,omitempty"`
	// Connections are created first; their ids (and the ids of their active
	// runs) become variables that the answers may use as {name}.
	Connections []scriptConnection `json:"connections,omitempty"`
	// Answers are queued, in order, as the next answers of the requests they
	// match; they are checked before authentication.
	Answers []scriptAnswer `json:"answers,omitempty"`
	// Files are stored in the Storage API; their ids, SHA-256 and sizes
	// become variables.
	Files []scriptFile `json:"files,omitempty"`
	// BlobFaults spoil the next transfers on the blob origin.
	BlobFaults []scriptBlobFault `json:"blobFaults,omitempty"`
}

// scriptClock sets the server's clock: runs advance and windows close on it.
type scriptClock struct {
	// Rate is how many seconds of the fake's time pass per real second:
	// 0 freezes it (active runs stay active), 1 is real time.
	Rate *float64 `json:"rate,omitempty"`
	// AdvanceSeconds moves it forward at once.
	AdvanceSeconds float64 `json:"advanceSeconds,omitempty"`
}

// scriptConnection describes connections to create.
type scriptConnection struct {
	// Name is the variable that holds the (first) connection's id.
	Name     string `json:"name,omitempty"`
	IModelID string `json:"iModelId"`
	// Count connections are created alike (default 1), for paging.
	Count int `json:"count,omitempty"`
	// Outcome is how their runs end: Success (default), PartialSuccess or
	// Error.
	Outcome string `json:"outcome,omitempty"`
	// CompletedRuns runs are created, already completed, on each.
	CompletedRuns int `json:"completedRuns,omitempty"`
	// ActiveRun, when set, creates a run that starts now on the (first)
	// connection and names the variable holding its id.
	ActiveRun string `json:"activeRun,omitempty"`
}

// scriptAnswer is one scripted answer, queued as a Fault.
type scriptAnswer struct {
	Method string `json:"method,omitempty"`
	// Path is matched with path.Match against the unescaped request path.
	Path  string `json:"path,omitempty"`
	Count int    `json:"count,omitempty"`
	// Kind is "status" (default), "hang" or "drop".
	Kind   string `json:"kind,omitempty"`
	Status int    `json:"status,omitempty"`
	// Headers are set on the answer, for example Location or Retry-After.
	Headers map[string]string `json:"headers,omitempty"`
	// Body is "apiError" (default), "html", "empty" or "json".
	Body string `json:"body,omitempty"`
	// JSON is the body when Body is "json".
	JSON json.RawMessage `json:"json,omitempty"`
}

var outcomeNames = map[string]Outcome{
	"":                                 OutcomeSuccess,
	string(api.ExecutionResultSuccess): OutcomeSuccess,
	string(api.ExecutionResultPartialSuccess): OutcomePartialSuccess,
	string(api.ExecutionResultError):          OutcomeError,
}

var faultKinds = map[string]FaultKind{"": FaultStatus, "status": FaultStatus, "hang": FaultHang, "drop": FaultDrop}

var faultBodies = map[string]FaultBody{"": FaultBodyAPIError, "apiError": FaultBodyAPIError, "html": FaultBodyHTML, "empty": FaultBodyEmpty, "json": FaultBodyJSON}

// handleScript loads a script: clock, then connections, then answers, whose
// strings may name the variables apiUrl, apiOrigin, foreignOrigin and those
// the connections defined, as {name}. It answers the variables.
func (c *control) handleScript(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if !readJSON(w, r, &raw) {
		return
	}
	var sc script
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidControlRequest", "The script is not valid: "+err.Error())
		return
	}
	if msg := sc.check(); msg != "" {
		writeError(w, http.StatusBadRequest, "InvalidControlRequest", "The script is not valid: "+msg)
		return
	}
	// The files' hashes first, before anything changes: a client that goes
	// away stops the work and leaves the fake as it was.
	sums, err := hashFiles(r.Context(), sc.Files)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "ScriptAbandoned", "The client went away while the script's files were prepared; nothing was loaded.")
		return
	}
	foreign, err := c.startForeign()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "ForeignOriginUnavailable", err.Error())
		return
	}
	vars := map[string]string{"apiUrl": c.s.origin + basePath, "apiOrigin": c.s.origin, "foreignOrigin": foreign}
	if sc.Clock != nil {
		rate := c.clock.rateNow()
		if sc.Clock.Rate != nil {
			rate = *sc.Clock.Rate
		}
		c.clock.set(rate, time.Duration(sc.Clock.AdvanceSeconds*float64(time.Second)))
	}
	for _, sconn := range sc.Connections {
		c.addConnections(sconn, vars)
	}
	c.addFiles(sc.Files, sums, vars)
	// The answers are read again with the variables in place.
	var withVars script
	if err := json.Unmarshal([]byte(substitute(string(raw), vars)), &withVars); err != nil {
		writeError(w, http.StatusBadRequest, "InvalidControlRequest", "The script is not valid once its variables are set: "+err.Error())
		return
	}
	for _, a := range withVars.Answers {
		c.s.InjectFault(a.fault())
	}
	for _, f := range withVars.BlobFaults {
		c.s.InjectBlobFault(f.blobFault())
	}
	writeJSON(w, http.StatusOK, struct {
		Variables map[string]string `json:"variables"`
	}{vars})
}

// check returns what is wrong with the script, or "".
func (sc *script) check() string {
	if sc.Clock != nil && ((sc.Clock.Rate != nil && *sc.Clock.Rate < 0) || sc.Clock.AdvanceSeconds < 0) {
		return "clock rate and advanceSeconds must not be negative"
	}
	for i, sconn := range sc.Connections {
		if _, ok := outcomeNames[sconn.Outcome]; !ok {
			return fmt.Sprintf("connections[%d].outcome %q is not Success, PartialSuccess or Error", i, sconn.Outcome)
		}
		if sconn.IModelID == "" || sconn.Count < 0 || sconn.Count > 1000 || sconn.CompletedRuns < 0 || sconn.CompletedRuns > DefaultKeepRuns {
			return fmt.Sprintf("connections[%d] needs an iModelId, a count within 0..1000 and completedRuns within 0..%d", i, DefaultKeepRuns)
		}
	}
	for i, a := range sc.Answers {
		_, kindOK := faultKinds[a.Kind]
		_, bodyOK := faultBodies[a.Body]
		switch {
		case !kindOK:
			return fmt.Sprintf("answers[%d].kind %q is not status, hang or drop", i, a.Kind)
		case !bodyOK:
			return fmt.Sprintf("answers[%d].body %q is not apiError, html, empty or json", i, a.Body)
		case a.Status != 0 && (a.Status < 100 || a.Status > 599):
			return fmt.Sprintf("answers[%d].status %d is not an HTTP status", i, a.Status)
		case (a.Body == "json") != (len(a.JSON) > 0):
			return fmt.Sprintf("answers[%d]: json goes with body \"json\", and only with it", i)
		}
	}
	return sc.checkStorage()
}

// fault is the Fault that queues the answer.
func (a scriptAnswer) fault() Fault {
	f := Fault{Method: a.Method, Path: a.Path, Count: a.Count, Kind: faultKinds[a.Kind], Status: a.Status, Body: faultBodies[a.Body], JSON: []byte(a.JSON)}
	if len(a.Headers) > 0 {
		f.Header = http.Header{}
		for k, v := range a.Headers {
			f.Header.Set(k, v)
		}
	}
	return f
}

// addConnections creates what sconn describes and sets its variables.
func (c *control) addConnections(sconn scriptConnection, vars map[string]string) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	done := now.Add(-time.Duration(len(runStates)) * s.opts.StepDuration)
	for i := range max(sconn.Count, 1) {
		conn := s.addConnectionLocked(api.ExportConnectionCreate{IModelID: sconn.IModelID})
		s.outcomes[conn.id] = outcomeNames[sconn.Outcome]
		for range sconn.CompletedRuns {
			s.addRunLocked(conn, newRun(done, outcomeNames[sconn.Outcome]))
		}
		if i > 0 {
			continue
		}
		if sconn.Name != "" {
			vars[sconn.Name] = conn.id
		}
		if sconn.ActiveRun != "" {
			r := newRun(now, outcomeNames[sconn.Outcome])
			s.addRunLocked(conn, r)
			vars[sconn.ActiveRun] = r.id
		}
	}
}

// newRun is a run created at created that ends with outcome.
func newRun(created time.Time, outcome Outcome) *run {
	return &run{id: newID(16), jobID: newID(16), taskID: newID(16), fileID: newGUID(), created: created, outcome: outcome}
}

// substitute replaces each {name} of vars in the JSON text with the value,
// escaped so that it stays valid inside a JSON string.
func substitute(text string, vars map[string]string) string {
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		q, _ := json.Marshal(v)
		pairs = append(pairs, "{"+k+"}", string(q[1:len(q)-1]))
	}
	return strings.NewReplacer(pairs...).Replace(text)
}

// serveForeign records a request to the foreign origin and answers it as a
// copy of the API would, without checking any token.
func (c *control) serveForeign(w http.ResponseWriter, r *http.Request) {
	c.record(&c.foreign, "foreign", r)
	if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/runs/") {
		run := newRun(time.Now().Add(-time.Hour), OutcomeSuccess)
		writeJSON(w, http.StatusOK, api.ExportRunResponse{Run: run.render("foreign", time.Now(), time.Second)})
		return
	}
	notFound(w, r)
}
