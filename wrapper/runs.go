package wrapper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
	"github.com/itwin-export/itwin-export/wrapper/internal/urlcheck"
)

// RunRef names a run. Its Location alone is enough to find the run again:
// save it, and rebuild the RunRef with ParseRunRef after a restart to resume
// waiting.
type RunRef struct {
	// Location is the run's absolute URL: the API's Location header
	// resolved against the request URL, in canonical form (scheme and host
	// in lower case, no default port, no dot segments).
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
// client's API is checked when the client uses it. Text that is not such a
// URL gives a *RunRefParseError, which matches ErrValidation.
func ParseRunRef(location string) (RunRef, error) {
	u, err := url.Parse(location)
	if err != nil {
		return RunRef{}, &RunRefParseError{Text: redact.URL(location), Reason: "does not parse as a URL"}
	}
	if !u.IsAbs() || u.Host == "" {
		return RunRef{}, &RunRefParseError{Text: redact.URL(location), Reason: "is not an absolute URL (a run's Location is https://.../connections/{id}/runs/{runId})"}
	}
	ref, err := runRefFromURL(u)
	if le := (*LocationError)(nil); errors.As(err, &le) {
		return RunRef{}, &RunRefParseError{Text: le.Location, Reason: le.Reason}
	}
	return ref, err
}

// MarshalText returns the run's Location, the text ParseRunRef reads: a
// RunRef in a JSON document, a YAML file or a database column is its
// absolute URL. The zero RunRef gives empty text. Existing is not kept.
func (r RunRef) MarshalText() ([]byte, error) {
	return []byte(r.Location), nil
}

// UnmarshalText sets r from a run's Location, as ParseRunRef does; empty
// text gives the zero RunRef. On an error (a *RunRefParseError) r is left
// unchanged.
func (r *RunRef) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*r = RunRef{}
		return nil
	}
	ref, err := ParseRunRef(string(text))
	if err != nil {
		return err
	}
	*r = ref
	return nil
}

// runRefFromURL reads a run URL: its ids, and the URL itself as Location.
func runRefFromURL(u *url.URL) (RunRef, error) {
	conn, run, err := runIDs(u)
	if err != nil {
		return RunRef{}, err
	}
	return RunRef{Location: u.String(), ConnectionID: conn, RunID: run}, nil
}

// runIDs reads the ids from a run URL (see urlcheck.RunIDs).
func runIDs(u *url.URL) (connectionID, runID string, err error) {
	conn, run, problem := urlcheck.RunIDs(u)
	if problem != "" {
		return "", "", &LocationError{Location: redact.URL(u.String()), Reason: problem, kind: ErrMissingLocation}
	}
	return conn, run, nil
}

// runRef reads the run that a create answer's Location names, resolved
// against reqURL (see resolve).
func (c *Client) runRef(reqURL *url.URL, loc string) (RunRef, error) {
	u, err := c.resolve(reqURL, loc)
	if err != nil {
		return RunRef{}, err
	}
	ref, err := runRefFromURL(u)
	return ref, c.scrubLocation(err)
}

// runURL checks a RunRef's Location against the client's API: a run URL on
// the API's origin, under its base path (see onAPI).
func (c *Client) runURL(ref RunRef) (*url.URL, error) {
	u, err := url.Parse(ref.Location)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, &LocationError{Location: c.redactURL(ref.Location), Reason: "is not an absolute URL", kind: ErrMissingLocation}
	}
	if _, _, err := runIDs(u); err != nil {
		return nil, c.scrubLocation(err)
	}
	return c.onAPI(u)
}

// RunRefFor builds the RunRef of a run known by its ids, for example from a
// runs listing.
func (c *Client) RunRefFor(connectionID, runID string) (RunRef, error) {
	if err := validateIDs("connectionID", connectionID, "runID", runID); err != nil {
		return RunRef{}, err
	}
	r, err := api.NewGetExportConnectionRunRequest(c.server, connectionID, runID)
	if err != nil {
		return RunRef{}, fmt.Errorf("%s: building the request: %w", opGetRun.name, err)
	}
	return RunRef{Location: r.URL.String(), ConnectionID: connectionID, RunID: runID}, nil
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
	r, err := api.NewCreateExportConnectionRunRequest(c.server, connectionID, req)
	x, err := c.call(ctx, &opCreateRun, r, err)
	if err != nil {
		return RunRef{}, err
	}
	ref, err := c.runRef(x.url, x.header.Get("Location"))
	ref.Existing = err == nil && x.status == http.StatusSeeOther
	return ref, err
}

// GetRun gets the run a RunRef names, following its Location. A Location on
// another scheme, host or port than the client's API is refused before any
// request.
func (c *Client) GetRun(ctx context.Context, ref RunRef) (*api.ExportRun, error) {
	u, err := c.runURL(ref)
	if err != nil {
		return nil, err
	}
	x, err := c.call(ctx, &opGetRun, get(u), nil)
	if err != nil {
		return nil, err
	}
	return c.decodeRun(x)
}

// GetRunRaw is GetRun that also returns the "run" object exactly as the API
// sent it, members the contract does not know included: for tools that pass
// it on.
func (c *Client) GetRunRaw(ctx context.Context, ref RunRef) (*api.ExportRun, json.RawMessage, error) {
	return c.getRun(ctx, ref)
}

// getRun gets a run: decoded, and its "run" object as the API wrote it.
func (c *Client) getRun(ctx context.Context, ref RunRef) (*api.ExportRun, json.RawMessage, error) {
	u, err := c.runURL(ref)
	if err != nil {
		return nil, nil, err
	}
	return fetch(ctx, c, &opGetRun, get(u), nil, "run", checkRun)
}

// checkRun says what makes a run unusable: no state, a state the contract
// does not define (it would be waited on for ever), or a Completed run
// without a result (it could be called neither a success nor a failure).
func checkRun(run *api.ExportRun) string {
	switch {
	case run.State == "":
		return `the run has no "state"`
	case !run.State.Valid():
		return fmt.Sprintf("the run's state %q is not one the contract defines", run.State)
	case run.State == api.ExecutionStateCompleted && run.Result == "":
		return `the run is Completed but has no "result"`
	}
	return ""
}

// WaitOptions tune WaitRun. Zero fields take the client's (Options.Wait),
// then their defaults.
type WaitOptions struct {
	// MinInterval and MaxInterval bound the wait between polls: it starts at
	// MinInterval, doubles while the state stays the same, and falls back to
	// MinInterval when it changes. Defaults 2s and 30s.
	MinInterval, MaxInterval time.Duration
	// OnProgress, when set, is called with the first state seen and on every
	// change of state, from the goroutine that called WaitRun.
	OnProgress func(Progress)
}

// under fills the zero fields of o from the client's defaults d.
func (o WaitOptions) under(d WaitOptions) WaitOptions {
	if o.MinInterval == 0 {
		o.MinInterval = d.MinInterval
	}
	if o.MaxInterval == 0 {
		o.MaxInterval = d.MaxInterval
	}
	if o.OnProgress == nil {
		o.OnProgress = d.OnProgress
	}
	return o
}

// Progress is a state change seen while waiting.
type Progress struct {
	// Ref names the run being waited on.
	Ref RunRef
	// ConnectionID is the connection the caller asked for: the
	// connectionID given to Export (in ExportMany, that export's
	// connection), even when the API answered 303 with the active run of
	// another connection of the iModel (Ref.Existing, Ref.ConnectionID
	// naming that other connection); for WaitRun, Ref.ConnectionID.
	ConnectionID string
	// Run is the run as this poll read it.
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
// ends with the context. A run the contract does not describe (a state
// outside its enum, or Completed without a result) is not waited on: it is
// an ErrMalformedResponse at once.
func (c *Client) WaitRun(ctx context.Context, ref RunRef, opts WaitOptions) (*api.ExportRun, error) {
	return c.waitRun(ctx, ref, ref.ConnectionID, opts)
}

// waitRun is WaitRun on behalf of the caller's connection connectionID,
// which Progress reports.
func (c *Client) waitRun(ctx context.Context, ref RunRef, connectionID string, opts WaitOptions) (*api.ExportRun, error) {
	opts = opts.under(c.waitDefaults)
	if opts.MinInterval <= 0 {
		opts.MinInterval = 2 * time.Second
	}
	if opts.MaxInterval < opts.MinInterval {
		opts.MaxInterval = max(30*time.Second, opts.MinInterval)
	}
	start := c.now()
	interval := opts.MinInterval
	var last api.ExecutionState
	for {
		run, raw, err := c.getRun(ctx, ref)
		if err != nil {
			return nil, err
		}
		state := run.State
		if state != last {
			last = state
			interval = opts.MinInterval
			elapsed := c.now().Sub(start)
			if c.log.Enabled(ctx, slog.LevelInfo) {
				c.log.LogAttrs(ctx, slog.LevelInfo, "run state",
					slog.String("connection", connectionID), slog.String("run", ref.RunID),
					slog.String("state", string(state)), slog.String("result", string(run.Result)), slog.Duration("elapsed", elapsed))
			}
			if opts.OnProgress != nil {
				opts.OnProgress(Progress{Ref: ref, ConnectionID: connectionID, Run: run, RawRun: raw, State: state, Elapsed: elapsed})
			}
		} else {
			interval = min(interval*2, opts.MaxInterval)
		}
		if state == api.ExecutionStateCompleted {
			return run, c.runResult(run)
		}
		if err := c.wait(ctx, interval); err != nil {
			return nil, fmt.Errorf("waiting for run %s: %w", ref.RunID, err)
		}
	}
}

// RunResult classifies a completed run: nil for Success, else a *RunError
// with every task error of every job. Its Error text is cleared of SAS
// signatures and sensitive parameters; WaitRun's also of the client's own
// credentials.
func RunResult(run *api.ExportRun) error {
	result := run.Result
	if result == api.ExecutionResultSuccess {
		return nil
	}
	e := &RunError{Run: run, Result: result}
	for _, job := range run.Jobs {
		for _, task := range job.Tasks {
			if task.Error != nil {
				e.Tasks = append(e.Tasks, TaskFailure{JobID: job.ID, TaskID: task.ID, Error: *task.Error})
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
	run, err := c.waitRun(ctx, ref, connectionID, opts)
	return ref, run, err
}

// Runs lists the runs of a connection, following _links.next across pages,
// in pages of the API's default size (see RunsWithOptions). Iteration stops
// at the first error, which is yielded.
//
// The order is the API's: its reference does not specify one, so sort the
// runs yourself (by StartDateTime, say) when it matters. The in-memory
// service of package apitest lists them oldest first.
func (c *Client) Runs(ctx context.Context, connectionID string) iter.Seq2[api.ExportRun, error] {
	return c.RunsWithOptions(ctx, connectionID, ListOptions{})
}

// ListOptions tune a listing. The zero value is Runs's.
type ListOptions struct {
	// PageSize is how many items each page request asks for ($top); the
	// API may send fewer, and the listing follows the pages it sends
	// whatever their size. Zero: the API's default (no $top is sent);
	// negative: an error matching ErrValidation.
	PageSize int
}

// RunsWithOptions is Runs with ListOptions: the runs of a connection, in
// pages of opts.PageSize, in the API's order (see Runs).
func (c *Client) RunsWithOptions(ctx context.Context, connectionID string, opts ListOptions) iter.Seq2[api.ExportRun, error] {
	if err := validateIDs("connectionID", connectionID); err != nil {
		return failed[api.ExportRun](err)
	}
	var params *api.GetExportConnectionRunsParams
	switch {
	case opts.PageSize < 0 || opts.PageSize > math.MaxInt32:
		return failed[api.ExportRun](&ValidationError{Problems: []Problem{{Field: "PageSize", Message: fmt.Sprintf("%d is not a page size: want 1 to %d, or 0 for the API's default", opts.PageSize, math.MaxInt32)}}})
	case opts.PageSize > 0:
		top := api.Top(opts.PageSize)
		params = &api.GetExportConnectionRunsParams{Top: &top}
	}
	first, err := api.NewGetExportConnectionRunsRequest(c.server, connectionID, params)
	return listAll[api.ExportRun](ctx, c, &opListRuns, first, err, "runs")
}
