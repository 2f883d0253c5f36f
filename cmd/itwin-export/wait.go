package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// waitAndReport waits for the run, showing progress on stderr, then writes
// the run to stdout. An error other than the run's own result carries the
// command that resumes the wait. The live line is used only on a terminal,
// and not with --verbose, whose log lines it would garble.
func (a *app) waitAndReport(ctx context.Context, client *wrapper.Client, ref wrapper.RunRef, wf waitFlags, jsonOut, verbose bool) error {
	p := newProgress(a.stderr, &a.out, isTerminal(a.stderr) && !verbose)
	var raw json.RawMessage // the run as the API last wrote it
	run, err := client.WaitRun(ctx, ref, wrapper.WaitOptions{MinInterval: wf.poll, OnProgress: func(pr wrapper.Progress) {
		raw = pr.RawRun
		p.update(pr)
	}})
	p.done()
	if run != nil {
		// WaitRun reports the first state it sees: raw is set with run.
		if err := a.writeRun(run, raw, ref.Location, jsonOut); err != nil {
			return err
		}
	}
	if err != nil && !errors.Is(err, wrapper.ErrRunFailed) {
		return &resumable{err: foreignAsUsage(err), location: a.out.text(ref.Location), download: a.downloadArg(wf.download)}
	}
	if err == nil && wf.download != "" {
		if err := a.downloadOutputsWith(ctx, client, run, wf.download, jsonOut, wf.parallel); err != nil {
			// The run is done: only its files are missing. The download's
			// own class decides the exit code.
			return &resumable{err: err, location: a.out.text(ref.Location), download: a.downloadArg(wf.download), fetch: true}
		}
	}
	return err
}

// writeRun writes a run to stdout: a summary, or with --json the run object
// as the API sent it (raw).
func (a *app) writeRun(run *api.ExportRun, raw json.RawMessage, location string, jsonOut bool) error {
	if jsonOut {
		return a.out.writeJSON(a.stdout, raw)
	}
	a.writeSummary(a.stdout, run, location)
	return nil
}

// writeSummary writes a run as "key: value" lines: id, connection, Location,
// state, result, duration, output file ids and task errors.
func (a *app) writeSummary(w io.Writer, run *api.ExportRun, location string) {
	line := func(key, value string) {
		if value != "" {
			fmt.Fprintf(w, "%-13s%s\n", key+":", a.out.text(value))
		}
	}
	line("run", run.ID)
	line("connection", run.ConnectionID)
	line("location", location)
	line("state", string(run.State))
	line("result", string(run.Result))
	if run.StartDateTime != nil && run.EndDateTime != nil {
		line("duration", run.EndDateTime.Sub(*run.StartDateTime).String())
	}
	for _, job := range run.Jobs {
		for _, task := range job.Tasks {
			line("output file", task.ExportOutputFileID)
		}
	}
	for _, job := range run.Jobs {
		for _, task := range job.Tasks {
			if task.Error != nil {
				line("task error", wrapper.TaskFailure{JobID: job.ID, TaskID: task.ID, Error: *task.Error}.String())
			}
		}
	}
}

// progress shows the state changes of a run while waiting: one line per
// change, or on a terminal one live line rewritten in place.
type progress struct {
	w     io.Writer
	out   *outputFilter
	live  bool
	start time.Time

	mu    sync.Mutex
	state string // last state shown, with its result once Completed
	drawn bool   // a live line is on screen

	stop chan struct{}
	wg   sync.WaitGroup
}

// newProgress starts showing progress on w; live asks for a live line,
// refreshed every quarter second so that the elapsed time keeps moving.
func newProgress(w io.Writer, out *outputFilter, live bool) *progress {
	p := &progress{w: w, out: out, live: live, start: time.Now(), stop: make(chan struct{})}
	if live {
		p.wg.Add(1)
		go p.tick()
	}
	return p
}

// tick redraws the live line until done.
func (p *progress) tick() {
	defer p.wg.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.draw(time.Since(p.start))
			p.mu.Unlock()
		}
	}
}

// update is the wrapper.WaitOptions.OnProgress of the wait.
func (p *progress) update(pr wrapper.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = p.out.text(stateText(pr.Run))
	if p.live {
		p.draw(pr.Elapsed)
		return
	}
	fmt.Fprintf(p.w, "%8s  %s\n", formatElapsed(pr.Elapsed), p.state)
}

// draw rewrites the live line; p.mu is held.
func (p *progress) draw(elapsed time.Duration) {
	if p.state == "" {
		return
	}
	fmt.Fprintf(p.w, "\r\033[K%s  %s", p.state, formatElapsed(elapsed))
	p.drawn = true
}

// done stops the live line and ends it.
func (p *progress) done() {
	close(p.stop)
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
