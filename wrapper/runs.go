package wrapper

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/itwin-export/itwin-export/api"
)

// RunRef names a run. Its Location alone is enough to find the run again:
// save it, and rebuild the RunRef with ParseRunRef after a restart to resume
// waiting.
type RunRef struct {
	// Location is the run's absolute URL, as the API's Location header named
	// it (resolved against the request URL when it was relative).
	Location string
	// ConnectionID and RunID are read from Location.
	ConnectionID string
	RunID        string
	// Existing is true when the API answered 303: a run was already active
	// for the iModel and no new run was created.
	Existing bool
}

// ParseRunRef rebuilds a RunRef from a run's absolute Location URL, as
// returned in RunRef.Location. The path must end in
// /connections/{connectionId}/runs/{runId}. Whether the URL belongs to a
// client's API is checked when the client uses it.
func ParseRunRef(location string) (RunRef, error) {
	u, err := url.Parse(location)
	if err != nil {
		return RunRef{}, &LocationError{Location: redactURL(location), Reason: "does not parse as a URL", kind: ErrMissingLocation}
	}
	if !u.IsAbs() || u.Host == "" {
		return RunRef{}, &LocationError{Location: redactURL(location), Reason: "is not an absolute URL", kind: ErrMissingLocation}
	}
	return runRefFromURL(u)
}

// runRefFromURL reads a run URL: its ids, and the URL itself as Location.
func runRefFromURL(u *url.URL) (RunRef, error) {
	conn, run, err := runIDs(u)
	if err != nil {
		return RunRef{}, err
	}
	return RunRef{Location: u.String(), ConnectionID: conn, RunID: run}, nil
}

// runIDs reads the ids from a run URL, segment by segment, so that an id
// with an encoded "/" stays one id.
func runIDs(u *url.URL) (connectionID, runID string, err error) {
	bad := func(reason string) (string, string, error) {
		return "", "", &LocationError{Location: redactURL(u.String()), Reason: reason, kind: ErrMissingLocation}
	}
	if u.User != nil {
		return bad("carries user information")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return bad("has a query or fragment; a run URL has neither")
	}
	conn, run, problem := runIDsFromPath(u.EscapedPath())
	if problem != "" {
		return bad(problem)
	}
	return conn, run, nil
}

// runIDsFromPath reads the ids from the last four segments of an escaped
// path, read from the end: .../connections/{id}/runs/{runId}. When it cannot,
// it says why.
func runIDsFromPath(p string) (connectionID, runID, problem string) {
	const notARun = "does not name a run (/connections/{id}/runs/{runId})"
	var segs [4]string
	for i := 3; i >= 0; i-- {
		cut := strings.LastIndexByte(p, '/')
		if cut < 0 {
			return "", "", notARun
		}
		segs[i], p = p[cut+1:], p[:cut]
	}
	if segs[0] != "connections" || segs[2] != "runs" {
		return "", "", notARun
	}
	conn, err1 := url.PathUnescape(segs[1])
	run, err2 := url.PathUnescape(segs[3])
	if err1 != nil || err2 != nil || conn == "" || run == "" || conn == "." || conn == ".." || run == "." || run == ".." {
		return "", "", "has an empty or invalid id"
	}
	return conn, run, ""
}

// runRefFromLocation reads the run that a create answer's Location names,
// resolved against reqURL, on the API's origin and under its base path: what
// resolve and runRefFromURL give. The usual Location, a plain absolute path
// under the base path, takes a short way without building a URL
// (FuzzResolveLocation holds the two ways to each other): this is the hot path
// of every export.
func (c *Client) runRefFromLocation(reqURL *url.URL, loc string) (RunRef, error) {
	if reqURL.Scheme == c.base.Scheme && reqURL.Host == c.base.Host && reqURL.User == nil &&
		strings.HasPrefix(loc, c.basePath) && plainAbsolutePath(loc) {
		if conn, run, problem := runIDsFromPath(loc); problem == "" {
			return RunRef{Location: c.origin + loc, ConnectionID: conn, RunID: run}, nil
		}
	}
	u, err := c.resolve(reqURL, loc)
	if err != nil {
		return RunRef{}, err
	}
	ref, err := runRefFromURL(u)
	return ref, c.scrubLocation(err)
}

// resolve resolves a Location or link href against the URL of the request
// that returned it (RFC 9110 section 10.2.2) and checks that the result is on
// the API's origin, under its base path.
func (c *Client) resolve(reqURL *url.URL, ref string) (*url.URL, error) {
	if strings.TrimSpace(ref) == "" {
		return nil, &LocationError{Reason: "the answer has no Location", kind: ErrMissingLocation}
	}
	rel, err := url.Parse(ref)
	if err != nil {
		return nil, &LocationError{Location: c.redactURL(ref), Reason: "does not parse as a URL", kind: ErrMissingLocation}
	}
	var u *url.URL
	plain := !strings.Contains(rel.Path, "/.") // no dot segments to remove
	switch {
	case rel.IsAbs() && plain:
		u = rel
	case !rel.IsAbs() && rel.Host == "" && rel.Opaque == "" && strings.HasPrefix(rel.Path, "/") && rel.RawQuery == "" && rel.Fragment == "" && plain:
		// An absolute path, the usual Location: the request's origin with
		// that path, which is what RFC 3986 resolution gives, without its
		// cost on the hot path.
		cp := *reqURL
		cp.Path, cp.RawPath, cp.RawQuery, cp.ForceQuery, cp.Fragment, cp.RawFragment = rel.Path, rel.RawPath, "", false, "", ""
		u = &cp
	default:
		u = reqURL.ResolveReference(rel)
	}
	if !c.sameOrigin(u) {
		return nil, &LocationError{Location: c.redactURL(u.String()), Reason: "not the API's scheme, host and port; refused before any request", kind: ErrForeignLocation}
	}
	if !c.underBase(u) {
		return nil, &LocationError{Location: c.redactURL(u.String()), Reason: "not under the API's base path " + c.base.EscapedPath(), kind: ErrForeignLocation}
	}
	return u, nil
}

// plainAbsolutePath reports whether ref is an absolute path ("/a/b", not
// "//host") made only of bytes that a URL path holds unescaped, without dot
// segments, query or fragment. Parsed, such a ref has Path == ref and no
// RawPath.
func plainAbsolutePath(ref string) bool {
	if len(ref) < 2 || ref[0] != '/' || ref[1] == '/' || strings.Contains(ref, "/.") {
		return false
	}
	for i := 0; i < len(ref); i++ {
		switch b := ref[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case strings.IndexByte("/-._~$&+,:;=@", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// underBase reports whether u's path is below the base URL's path.
func (c *Client) underBase(u *url.URL) bool {
	p := u.EscapedPath()
	return strings.HasPrefix(p, c.basePath) && !strings.Contains(p, "/../") && !strings.HasSuffix(p, "/..")
}

// runURL checks a RunRef's Location against the client's API: a run URL on
// the API's origin, under its base path.
func (c *Client) runURL(ref RunRef) (*url.URL, error) {
	u, err := url.Parse(ref.Location)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, &LocationError{Location: c.redactURL(ref.Location), Reason: "is not an absolute URL", kind: ErrMissingLocation}
	}
	if _, _, err := runIDs(u); err != nil {
		return nil, c.scrubLocation(err)
	}
	if !c.sameOrigin(u) || !c.underBase(u) {
		return nil, &LocationError{Location: c.redactURL(u.String()), Reason: "not on the API's origin and base path; refused before any request", kind: ErrForeignLocation}
	}
	return u, nil
}

// runsURL is the URL of a connection's runs: built by hand because creating
// runs is the hot path (see BenchmarkCreateRun);
// TestRunsURLMatchesTheContract holds it to the generated request builder.
func (c *Client) runsURL(connectionID string) *url.URL {
	u := *c.base
	u.Path = c.base.Path + "/connections/" + connectionID + "/runs"
	// RawPath only when the id needs escaping: the transport checks a
	// RawPath against Path on every request, at a cost.
	if escaped := url.PathEscape(connectionID); escaped != connectionID || c.base.RawPath != "" {
		u.RawPath = c.basePath + "connections/" + escaped + "/runs"
	}
	return &u
}

// RunRefFor builds the RunRef of a run known by its ids, for example from a
// runs listing.
func (c *Client) RunRefFor(connectionID, runID string) (RunRef, error) {
	if err := validateIDs("connectionID", connectionID, "runID", runID); err != nil {
		return RunRef{}, err
	}
	req, err := api.NewGetExportConnectionRunRequest(c.baseURL+"/", connectionID, runID, nil)
	if err != nil {
		return RunRef{}, err
	}
	return RunRef{Location: req.URL.String(), ConnectionID: connectionID, RunID: runID}, nil
}

// CreateRun starts an export of the connection's iModel and returns the run
// to follow. The request is validated locally first (see ValidateRunRequest):
// an invalid one is never sent.
//
// A 202 gives a new run; a 303 means a run is already active for the iModel
// and gives that run with Existing set. The redirect is not followed.
//
// Only 409 (another create for the same iModel is in flight; it resolves to a
// 303) and 429 (waiting Retry-After) are retried. A 5xx or a broken
// connection is returned to the caller, not retried: the run may have been
// created before the failure, and a blind retry could start a second one once
// the first finished. Calling CreateRun again yourself is safe while that run
// is active: the API answers 303 with it.
func (c *Client) CreateRun(ctx context.Context, connectionID string, req api.ExportConnectionRunCreate) (RunRef, error) {
	if err := validateIDs("connectionID", connectionID); err != nil {
		return RunRef{}, err
	}
	if err := ValidateRunRequest(req); err != nil {
		return RunRef{}, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return RunRef{}, fmt.Errorf("createExportConnectionRun: encoding the body: %w", err)
	}
	x, err := c.do(ctx, request{op: "createExportConnectionRun", method: http.MethodPost, url: c.runsURL(connectionID), body: body, rule: retryCreate})
	if err != nil {
		return RunRef{}, err
	}
	if x.status != http.StatusAccepted && x.status != http.StatusSeeOther {
		return RunRef{}, c.unexpected(x)
	}
	ref, err := c.runRefFromLocation(x.url, x.header.Get("Location"))
	if err != nil {
		return RunRef{}, err
	}
	ref.Existing = x.status == http.StatusSeeOther
	return ref, nil
}

// GetRun gets the run a RunRef names, following its Location. A Location on
// another scheme, host or port than the client's API is refused before any
// request.
func (c *Client) GetRun(ctx context.Context, ref RunRef) (*api.ExportRun, error) {
	run, _, err := c.getRun(ctx, ref)
	return run, err
}

// GetRunRaw is GetRun that also returns the "run" object exactly as the API
// sent it, members the contract does not know included: for tools that pass
// it on.
func (c *Client) GetRunRaw(ctx context.Context, ref RunRef) (*api.ExportRun, json.RawMessage, error) {
	run, x, err := c.getRun(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	return run, rawRun(x), nil
}

// rawRun is the "run" member of a run answer that decoded once already.
func rawRun(x *exchange) json.RawMessage {
	var body struct {
		Run json.RawMessage `json:"run"`
	}
	_ = json.Unmarshal(x.body, &body)
	return body.Run
}

// getRun is GetRun that also returns the exchange, whose body holds the run
// as the API wrote it.
func (c *Client) getRun(ctx context.Context, ref RunRef) (*api.ExportRun, *exchange, error) {
	u, err := c.runURL(ref)
	if err != nil {
		return nil, nil, err
	}
	x, err := c.do(ctx, request{op: "getExportConnectionRun", method: http.MethodGet, url: u, rule: retryIdempotent})
	if err != nil {
		return nil, nil, err
	}
	if x.status != http.StatusOK {
		return nil, nil, c.unexpected(x)
	}
	var body struct {
		Run *api.ExportRun `json:"run"`
	}
	if err := c.decode(x, &body, func() string {
		switch {
		case body.Run == nil:
			return `no "run" object`
		case body.Run.State == nil:
			return `the run has no "state"`
		}
		return ""
	}); err != nil {
		return nil, nil, err
	}
	return body.Run, x, nil
}

// WaitOptions tune WaitRun. Zero fields take their defaults.
type WaitOptions struct {
	// MinInterval and MaxInterval bound the wait between polls: it starts at
	// MinInterval, doubles while the state stays the same, and falls back to
	// MinInterval when it changes. Defaults 2s and 30s.
	MinInterval, MaxInterval time.Duration
	// OnProgress, when set, is called with the first state seen and on every
	// change of state, from the goroutine that called WaitRun.
	OnProgress func(Progress)
}

// Progress is a state change seen while waiting.
type Progress struct {
	Run *api.ExportRun
	// RawRun is the "run" object exactly as the API sent it, members the
	// contract does not know included: for tools that pass it on.
	RawRun  json.RawMessage
	State   api.ExecutionState
	Elapsed time.Duration // since WaitRun started
}

// WaitRun polls the run until its state is Completed, then classifies its
// result: Success returns the run and nil; any other result returns the run
// and a *RunError (errors.Is ErrRunFailed) carrying every task error. Polling
// backs off between the interval bounds; a 429 waits its Retry-After. It
// ends with the context.
func (c *Client) WaitRun(ctx context.Context, ref RunRef, opts WaitOptions) (*api.ExportRun, error) {
	if opts.MinInterval <= 0 {
		opts.MinInterval = 2 * time.Second
	}
	if opts.MaxInterval < opts.MinInterval {
		opts.MaxInterval = max(30*time.Second, opts.MinInterval)
	}
	start := time.Now()
	interval := opts.MinInterval
	var last api.ExecutionState
	for {
		run, x, err := c.getRun(ctx, ref)
		if err != nil {
			return nil, err
		}
		state := *run.State
		if state != last {
			last = state
			interval = opts.MinInterval
			if opts.OnProgress != nil {
				opts.OnProgress(Progress{Run: run, RawRun: rawRun(x), State: state, Elapsed: time.Since(start)})
			}
		} else {
			interval = min(interval*2, opts.MaxInterval)
		}
		if state == api.ExecutionStateCompleted {
			return run, c.runResult(run)
		}
		if err := sleepCtx(ctx, interval); err != nil {
			return nil, fmt.Errorf("waiting for run %s: %w", ref.RunID, err)
		}
	}
}

// RunResult classifies a completed run: nil for Success, else a *RunError
// with every task error of every job. Its Error text is cleared of SAS
// signatures and sensitive parameters; WaitRun's also of the client's own
// credentials.
func RunResult(run *api.ExportRun) error {
	result := deref(run.Result)
	if result == api.ExecutionResultSuccess {
		return nil
	}
	e := &RunError{Run: run, Result: result}
	for _, job := range deref(run.Jobs) {
		for _, task := range deref(job.Tasks) {
			if task.Error != nil {
				e.Tasks = append(e.Tasks, TaskFailure{JobID: deref(job.ID), TaskID: deref(task.ID), Error: *task.Error})
			}
		}
	}
	return e
}

// Export creates a run and waits for it: the main job in one call. The
// RunRef is returned even when waiting fails, so the caller can resume.
func (c *Client) Export(ctx context.Context, connectionID string, req api.ExportConnectionRunCreate, opts WaitOptions) (RunRef, *api.ExportRun, error) {
	ref, err := c.CreateRun(ctx, connectionID, req)
	if err != nil {
		return RunRef{}, nil, err
	}
	run, err := c.WaitRun(ctx, ref, opts)
	return ref, run, err
}

// Runs lists the runs of a connection, following _links.next across pages.
// Iteration stops at the first error, which is yielded.
func (c *Client) Runs(ctx context.Context, connectionID string) iter.Seq2[api.ExportRun, error] {
	if err := validateIDs("connectionID", connectionID); err != nil {
		return failed[api.ExportRun](err)
	}
	first, err := api.NewGetExportConnectionRunsRequest(c.baseURL+"/", connectionID, nil)
	if err != nil {
		return failed[api.ExportRun](err)
	}
	return listAll[api.ExportRun](ctx, c, "getExportConnectionRuns", first.URL, "runs")
}
