package main

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// readIDs reads connection ids from a file ("-" is stdin), one a line;
// blank lines and lines starting with # are skipped.
func (a *app) readIDs(name string) ([]string, error) {
	var r io.Reader = a.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, &usageError{msg: "--connections-file: " + err.Error()}
		}
		defer f.Close()
		r = f
	}
	var ids []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line != "" && !strings.HasPrefix(line, "#") {
			ids = append(ids, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, &usageError{msg: "--connections-file: " + err.Error()}
	}
	if len(ids) == 0 {
		return nil, flagErrorf("--connections-file %s held no connection ids (one a line; blank and # lines are skipped)", name)
	}
	return ids, nil
}

// manyResult is the JSON form of one connection's outcome in a run of
// several connections.
type manyResult struct {
	ConnectionID string         `json:"connectionId"`
	Location     string         `json:"location,omitempty"`
	RunID        string         `json:"runId,omitempty"`
	Existing     bool           `json:"existing"`
	State        string         `json:"state,omitempty"`
	Result       string         `json:"result,omitempty"`
	Error        string         `json:"error,omitempty"`
	ExitCode     int            `json:"exitCode"`
	Run          *api.ExportRun `json:"run,omitempty"`
}

// runMany creates a run for each connection, parallel at a time, waiting for
// each with --wait. stdout has one line (or with --json one array element)
// per connection, in the order given; stderr has each failure and, with
// --wait, each state change. The exit code is the worst of the connections'.
func (a *app) runMany(ctx context.Context, client *wrapper.Client, ids []string, req api.ExportConnectionRunCreate, parallel int, wf waitFlags, jsonOut bool) error {
	var mu sync.Mutex // stderr is shared by the workers
	opts := wrapper.ManyOptions{
		Parallel:   parallel,
		CreateOnly: !wf.wait,
		Wait: wrapper.WaitOptions{MinInterval: wf.poll, OnProgress: func(p wrapper.Progress) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(a.stderr, "%8s  %s  %s\n", formatElapsed(p.Elapsed), a.out.text(p.Run.ConnectionID), a.out.text(stateText(p.Run)))
		}},
		OnResult: func(r wrapper.ExportResult) {
			if r.Err == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(a.stderr, "itwin-export: connection %s: %s\n", a.out.text(r.ConnectionID), a.out.line(describe(withFlagNames(r.Err))))
		},
	}
	worst, out := a.manyResults(client.ExportMany(ctx, ids, req, opts))
	if jsonOut {
		if err := a.out.writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else {
		for _, m := range out {
			a.out.fields(a.stdout, m.ConnectionID, m.status(), cmp.Or(m.Location, "-"))
		}
	}
	return &exitStatus{code: worst}
}

// manyResults turns the outcomes into their output form, and the worst of
// their exit codes.
func (a *app) manyResults(results []wrapper.ExportResult) (int, []manyResult) {
	worst := exitOK
	out := make([]manyResult, len(results))
	for i, r := range results {
		_, code := classify(r.Err)
		worst = max(worst, code)
		m := manyResult{ConnectionID: r.ConnectionID, Location: r.Ref.Location, RunID: r.Ref.RunID, Existing: r.Ref.Existing, ExitCode: code, Run: r.Run}
		if r.Run != nil {
			m.State, m.Result = string(r.Run.State), string(r.Run.Result)
		}
		if r.Err != nil {
			m.Error = a.out.line(describe(withFlagNames(r.Err)))
		}
		out[i] = m
	}
	return worst, out
}

// status is the second field of a connection's line: created, existing,
// failed, or the run's result.
func (m manyResult) status() string {
	switch {
	case m.Error != "" && m.Location == "":
		return "failed"
	case m.Result != "":
		return m.Result
	case m.Error != "":
		return "failed"
	case m.Existing:
		return "existing"
	}
	return "created"
}
