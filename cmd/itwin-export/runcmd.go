package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// defaultPollInterval is the shortest wait between two polls of a run.
const defaultPollInterval = 2 * time.Second

// waitFlags are the flags that wait for a run.
type waitFlags struct {
	wait    bool
	poll    time.Duration
	timeout time.Duration
}

// add registers the flags on fs.
func (w *waitFlags) add(fs *flags) {
	fs.BoolVar(&w.wait, "wait", false, "wait until the run is Completed, showing each state change on stderr")
	fs.DurationVar(&w.poll, "poll-interval", defaultPollInterval, "shortest `DURATION` between two polls of the run (it grows while the state stays the same)")
	fs.DurationVar(&w.timeout, "timeout", 0, "give up after `DURATION` with exit 5 (default none)")
}

// check reports a usage error for impossible values.
func (w *waitFlags) check(fs *flags) (int, bool) {
	switch {
	case w.poll <= 0:
		return fs.usageError("--poll-interval must be positive"), true
	case w.timeout < 0:
		return fs.usageError("--timeout must not be negative"), true
	}
	return exitOK, false
}

// context returns ctx with the deadline of --timeout, if any.
func (w *waitFlags) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if w.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, w.timeout,
		fmt.Errorf("--timeout %s reached: %w", w.timeout, context.DeadlineExceeded))
}

// runFlagFields maps body fields onto the flags that set them, so that a
// validation problem names the flag to fix.
var runFlagFields = map[string]string{
	"exportType":                      "--export-type",
	"ifcVersion":                      "--ifc-version",
	"inputOptions.changesetId":        "--changeset",
	"inputOptions.savedViewId":        "--saved-view",
	"inputOptions.mappingFileId":      "--mapping-file",
	"inputOptions.mappingfileBlobUrl": "--mapping-file-url",
	"outputOptions.location":          "--location",
	"outputOptions.outputSasUrl":      "--output-sas-url",
	"outputOptions.logsSasUrl":        "--logs-sas-url",
	"outputOptions.folderId":          "--folder",
	"outputOptions.replaceOlderFile":  "--replace",
	"outputOptions.saveLogs":          "--save-logs",
	"connectionID":                    "--connection",
	"iModelID":                        "--imodel",
	"iModelId":                        "--imodel",
	"authenticationType":              "--auth",
	"redirectUrl":                     "--redirect-url",
}

// withFlagNames returns a validation error whose fields also name their flag.
func withFlagNames(err error) error {
	var v *wrapper.ValidationError
	if !errors.As(err, &v) {
		return err
	}
	out := &wrapper.ValidationError{}
	for _, p := range v.Problems {
		if f := runFlagFields[p.Field]; f != "" {
			p.Field += " (" + f + ")"
		}
		out.Problems = append(out.Problems, p)
	}
	return out
}

// runRef is the JSON form of a created run's reference.
type runRef struct {
	Location string `json:"location"`
	RunID    string `json:"runId"`
	Existing bool   `json:"existing"`
}

// cmdRun is `itwin-export run`.
func cmdRun(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("run",
		"run --connection ID [--connection ID ...] [--connections-file FILE] [--parallel N] [request flags] [--wait] [--poll-interval D] [--timeout D] [--json] [--verbose]",
		`Create an export run of a connection. Without --wait, stdout is the run's
absolute Location URL (keep it: 'itwin-export status LOCATION' resumes from it),
and stderr says whether the run was created or was already active (exit 0 in
both cases). With --wait, stderr shows each state change and stdout ends with
a summary of the run (with --json, the run object); a run completed with a
result other than Success exits 3.

A request flag that is not given is left out of the body. The request is
validated before it is sent: an invalid one exits 2 and sends nothing.

With several connections (--connection repeated, or --connections-file), the
same request is run for each, --parallel at a time. stdout has one line per
connection, in the order given: connection id, status (created, existing,
failed, or with --wait the result) and Location; with --json an array of
{connectionId, location, runId, existing, state, result, error, exitCode}.
stderr has each failure and each state change. The exit code is the worst of
the connections' codes.`,
		"run --connection CONNECTION_ID --ifc-version IFC4.3 --wait",
		"run --connection CONNECTION_ID --location USER_BLOB_STORAGE --output-sas-url 'https://acct.blob.core.windows.net/c?sv=...&sig=...' --json",
		"run --connections-file connections.txt --parallel 20 --requests-per-minute 490 --wait")
	var (
		cf                                     clientFlags
		wf                                     waitFlags
		connections                            listFlag
		connectionsFile                        string
		parallel                               int
		exportType                             string
		ifcVersion, changeset, savedView       optString
		mappingFile, mappingURL                optString
		location, outputSAS, logsSAS, folderID optString
		replace, saveLogs                      optBool
		jsonOut                                bool
		af                                     authorizeFlags
	)
	fs.Var(&connections, "connection", "`ID` of the export connection; repeat it to export several")
	fs.StringVar(&connectionsFile, "connections-file", "", "`FILE` of connection IDs, one a line ('-': stdin; blank and # lines skipped)")
	fs.IntVar(&parallel, "parallel", 4, "with several connections, how many to export at `N` once")
	fs.IntVar(&cf.perMinute, "requests-per-minute", 0, "send at most `N` requests a minute, evenly spread; set it a little under your rate-limit tier (default no limit)")
	fs.StringVar(&exportType, "export-type", string(api.ExportTypeIFC), "`TYPE` of file to export to: IFC or PDF (exportType)")
	fs.Var(&ifcVersion, "ifc-version", "`VERSION` of IFC: IFC4.3, IFC2x3, 'IFC2x3 CV 2.0' or 'IFC4 RV 1.2' (ifcVersion)")
	fs.Var(&changeset, "changeset", "`ID` of the changeset to export; default the latest (inputOptions.changesetId)")
	fs.Var(&savedView, "saved-view", "`ID` of the saved view to export (inputOptions.savedViewId)")
	fs.Var(&mappingFile, "mapping-file", "`ID` of a user-defined mapping file in iTwin Storage (inputOptions.mappingFileId)")
	fs.Var(&mappingURL, "mapping-file-url", "SAS `URL` of a user-defined mapping file (inputOptions.mappingfileBlobUrl)")
	fs.Var(&location, "location", "`WHERE` the output goes: STORAGE or USER_BLOB_STORAGE (outputOptions.location)")
	fs.Var(&outputSAS, "output-sas-url", "SAS `URL` to upload the output to; needs --location USER_BLOB_STORAGE (outputOptions.outputSasUrl)")
	fs.Var(&logsSAS, "logs-sas-url", "SAS `URL` to upload the logs to; needs --save-logs and USER_BLOB_STORAGE (outputOptions.logsSasUrl)")
	fs.Var(&folderID, "folder", "`ID` of the iTwin Storage folder of the output (outputOptions.folderId)")
	fs.Var(&replace, "replace", "replace the older file of the same iModel (outputOptions.replaceOlderFile: true)")
	fs.Var(&saveLogs, "save-logs", "save the logs of the export (outputOptions.saveLogs: true)")
	wf.add(fs)
	af.add(fs)
	fs.BoolVar(&jsonOut, "json", false, "write JSON to stdout: {location, runId, existing}, or with --wait the run object")
	cf.add(fs)
	if _, code, done := fs.parse(args, 0, 0); done {
		return code
	}
	ids := append([]string(nil), connections...)
	if connectionsFile != "" {
		more, err := a.readIDs(connectionsFile)
		if err != nil {
			return a.fail(err)
		}
		ids = append(ids, more...)
	}
	if len(ids) == 0 {
		return fs.usageError("--connection or --connections-file is required")
	}
	if parallel < 1 {
		return fs.usageError("--parallel must be at least 1")
	}
	if cf.perMinute < 0 {
		return fs.usageError("--requests-per-minute must not be negative")
	}
	if code, bad := wf.check(fs); bad {
		return code
	}

	req := api.ExportConnectionRunCreate{ExportType: api.ExportType(exportType)}
	if ifcVersion.set {
		v := api.IFCVersion(ifcVersion.value)
		req.IFCVersion = &v
	}
	in := api.ExportRunInputOptions{
		ChangesetID:        changeset.ptr(),
		SavedViewID:        savedView.ptr(),
		MappingFileID:      mappingFile.ptr(),
		MappingfileBlobURL: mappingURL.ptr(),
	}
	if in != (api.ExportRunInputOptions{}) {
		req.InputOptions = &in
	}
	out := api.ExportRunOutputOptions{
		OutputSASURL:     outputSAS.ptr(),
		LogsSASURL:       logsSAS.ptr(),
		FolderID:         folderID.ptr(),
		ReplaceOlderFile: replace.ptr(),
		SaveLogs:         saveLogs.ptr(),
	}
	if location.set {
		v := api.Location(location.value)
		out.Location = &v
	}
	if out != (api.ExportRunOutputOptions{}) {
		req.OutputOptions = &out
	}
	// Validate before looking for credentials: a request that cannot be
	// sent is reported as such, whatever the configuration.
	if err := wrapper.ValidateRunRequest(req); err != nil {
		return a.fail(withFlagNames(err))
	}

	client, err := a.client(ctx, &cf)
	if err != nil {
		return a.fail(err)
	}
	ctx, cancel := wf.context(ctx)
	defer cancel()
	if code, failed := a.authorizeIfAsked(ctx, client, af, wf.timeout); failed {
		return code
	}

	if len(ids) > 1 || connectionsFile != "" {
		return a.runMany(ctx, client, ids, req, parallel, wf, jsonOut)
	}
	ref, err := client.CreateRun(ctx, ids[0], req)
	if err != nil {
		return a.fail(withFlagNames(err))
	}
	if ref.Existing {
		fmt.Fprintf(a.stderr, "run %s already active: %s\n", ref.RunID, ref.Location)
	} else {
		fmt.Fprintf(a.stderr, "created run %s: %s\n", ref.RunID, ref.Location)
	}
	if !wf.wait {
		if jsonOut {
			if err := writeJSON(a.stdout, runRef{Location: ref.Location, RunID: ref.RunID, Existing: ref.Existing}); err != nil {
				return a.fail(err)
			}
			return exitOK
		}
		fmt.Fprintln(a.stdout, ref.Location)
		return exitOK
	}
	return a.waitAndReport(ctx, client, ref, wf, jsonOut, cf.verbose)
}

// cmdStatus is `itwin-export status`.
func cmdStatus(ctx context.Context, a *app, args []string) int {
	fs := a.newFlags("status",
		"status LOCATION_OR_RUN_ID [--connection ID] [--wait] [--poll-interval D] [--timeout D] [--json] [--verbose]",
		`Show a run: stdout is a summary of it (with --json, the run object as the API
returned it). The run is named by its Location URL (an argument starting with
http:// or https://, as printed by 'itwin-export run') or by its id together
with --connection. With --wait, poll until the run is Completed, showing each
state change on stderr. A run completed with a result other than Success
exits 3; one still in progress exits 0.`,
		"status https://api.bentley.com/export/connections/CONNECTION_ID/runs/RUN_ID --wait",
		"status RUN_ID --connection CONNECTION_ID --json")
	var (
		cf         clientFlags
		wf         waitFlags
		connection string
		jsonOut    bool
	)
	fs.StringVar(&connection, "connection", "", "`ID` of the connection; required when the argument is a run id")
	wf.add(fs)
	fs.BoolVar(&jsonOut, "json", false, "write the run object to stdout as JSON")
	cf.add(fs)
	pos, code, done := fs.parse(args, 1, 1)
	if done {
		return code
	}
	if code, bad := wf.check(fs); bad {
		return code
	}
	arg := pos[0]
	var ref wrapper.RunRef
	isURL := strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://")
	if isURL {
		var err error
		if ref, err = wrapper.ParseRunRef(arg); err != nil {
			return a.fail(&usageError{msg: err.Error()})
		}
		if connection != "" && connection != ref.ConnectionID {
			return fs.usageError("--connection %q does not match the Location's connection %q", connection, ref.ConnectionID)
		}
	} else if connection == "" {
		return fs.usageError("a run id needs --connection (or pass the run's Location URL)")
	}

	client, err := a.client(ctx, &cf)
	if err != nil {
		return a.fail(err)
	}
	if !isURL {
		if ref, err = client.RunRefFor(connection, arg); err != nil {
			return a.fail(withFlagNames(err))
		}
	}
	ctx, cancel := wf.context(ctx)
	defer cancel()

	if wf.wait {
		return a.waitAndReport(ctx, client, ref, wf, jsonOut, cf.verbose)
	}
	run, raw, err := client.GetRunRaw(ctx, ref)
	if err != nil {
		return a.fail(foreignAsUsage(err))
	}
	if err := a.writeRun(run, raw, ref.Location, jsonOut); err != nil {
		return a.fail(err)
	}
	if *run.State == api.ExecutionStateCompleted {
		if err := wrapper.RunResult(run); err != nil {
			return a.fail(err)
		}
	}
	return exitOK
}

// foreignAsUsage turns a Location given on the command line that points
// outside the API into a usage error: nothing was sent.
func foreignAsUsage(err error) error {
	if errors.Is(err, wrapper.ErrForeignLocation) {
		return &usageError{msg: err.Error() + " (set --api-url or " + envAPIURL + " to the API that created the run)"}
	}
	return err
}

// waitAndReport waits for the run, showing progress on stderr, then writes
// the run to stdout and returns the exit code. The live line is used only on
// a terminal, and not with --verbose, whose log lines it would garble.
func (a *app) waitAndReport(ctx context.Context, client *wrapper.Client, ref wrapper.RunRef, wf waitFlags, jsonOut, verbose bool) int {
	p := newProgress(a.stderr, isTerminal(a.stderr) && !verbose)
	var raw json.RawMessage // the run as the API last wrote it
	run, err := client.WaitRun(ctx, ref, wrapper.WaitOptions{MinInterval: wf.poll, OnProgress: func(pr wrapper.Progress) {
		raw = pr.RawRun
		p.update(pr)
	}})
	p.done()
	if run != nil {
		// WaitRun reports the first state it sees: raw is set with run.
		if err := a.writeRun(run, raw, ref.Location, jsonOut); err != nil {
			return a.fail(err)
		}
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			err = fmt.Errorf("%w (resume with: itwin-export status %s --wait)", err, ref.Location)
		}
		return a.fail(foreignAsUsage(err))
	}
	return exitOK
}

// writeRawJSON writes a JSON value as the API sent it, indented, on its own
// lines.
func writeRawJSON(w io.Writer, raw json.RawMessage) error {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return err
	}
	b.WriteByte('\n')
	_, err := b.WriteTo(w)
	return err
}

// writeRun writes a run to stdout: a summary, or with --json the run object
// as the API sent it (raw).
func (a *app) writeRun(run *api.ExportRun, raw json.RawMessage, location string, jsonOut bool) error {
	if jsonOut {
		return writeRawJSON(a.stdout, raw)
	}
	writeSummary(a.stdout, run, location)
	return nil
}

// writeSummary writes a run as "key: value" lines: id, connection, Location,
// state, result, duration, output file ids and task errors.
func writeSummary(w io.Writer, run *api.ExportRun, location string) {
	line := func(key, value string) {
		if value != "" {
			fmt.Fprintf(w, "%-13s%s\n", key+":", clean(value))
		}
	}
	line("run", deref(run.ID))
	line("connection", deref(run.ConnectionID))
	line("location", location)
	line("state", string(deref(run.State)))
	line("result", string(deref(run.Result)))
	if run.StartDateTime != nil && run.EndDateTime != nil {
		line("duration", run.EndDateTime.Sub(*run.StartDateTime).String())
	}
	for _, job := range deref(run.Jobs) {
		for _, task := range deref(job.Tasks) {
			line("output file", deref(task.ExportOutputFileID))
		}
	}
	for _, job := range deref(run.Jobs) {
		for _, task := range deref(job.Tasks) {
			if task.Error != nil {
				line("task error", taskErrorText(deref(task.ID), *task.Error))
			}
		}
	}
}

// taskErrorText describes a task error in one line: code, description,
// whether the user can fix it, knowledge-base link and task id.
func taskErrorText(taskID string, e api.TaskError) string {
	var b strings.Builder
	b.WriteString(deref(e.ErrorCode))
	if b.Len() == 0 {
		b.WriteString("(no code)")
	}
	if d := deref(e.Description); d != "" {
		fmt.Fprintf(&b, ": %s", d)
	} else if m := deref(e.Message); m != "" {
		fmt.Fprintf(&b, ": %s", m)
	}
	var notes []string
	if taskID != "" {
		notes = append(notes, "task "+taskID)
	}
	if e.CanUserFix != nil {
		notes = append(notes, fmt.Sprintf("user can fix: %t", *e.CanUserFix))
	}
	if kb := deref(e.KbArticleLink); kb != "" {
		notes = append(notes, "see "+kb)
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(notes, ", "))
	}
	return b.String()
}

// progress shows the state changes of a run while waiting: one line per
// change, or on a terminal one live line rewritten in place.
type progress struct {
	w     io.Writer
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
func newProgress(w io.Writer, live bool) *progress {
	p := &progress{w: w, live: live, start: time.Now(), stop: make(chan struct{})}
	if live {
		p.wg.Add(1)
		go func() {
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
		}()
	}
	return p
}

// update is the wrapper.WaitOptions.OnProgress of the wait.
func (p *progress) update(pr wrapper.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = stateText(pr.Run)
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

// stateText is a run's state, with its result once Completed.
func stateText(run *api.ExportRun) string {
	s := string(deref(run.State))
	if deref(run.State) == api.ExecutionStateCompleted && run.Result != nil {
		s += " (" + string(*run.Result) + ")"
	}
	return s
}

// formatElapsed rounds an elapsed time to a tenth of a second.
func formatElapsed(d time.Duration) string {
	return fmt.Sprintf("%.1fs", d.Seconds())
}

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
