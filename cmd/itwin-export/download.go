package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// downloadCmd is `itwin-export download`: file id → metadata → link →
// blob → the file on disk.
type downloadCmd struct {
	clientFlags
	out, dir    string
	force, json bool
	parallel    int // --parallel-transfers
}

// newDownloadCmd returns `itwin-export download`; runF, when not nil, runs instead of its
// work once the flags are parsed into the options (tests).
func newDownloadCmd(f *factory, runF func(*downloadCmd, []string) error) *cobra.Command {
	c := &downloadCmd{}
	fs := leaf(f, c, runF, spec{use: "download FILE_ID [-o PATH | --dir DIR] [--force] [--parallel-transfers N] [--json] [--timeout D] [--verbose]", short: "download a file of iTwin Storage, such as a run's IFC output",
		long: `Download a file of iTwin Storage, such as a run's output (the exportOutputFileId
of its tasks), from the Storage API ($` + envStorageURL + `, default the API URL with
/export replaced by /storage). The file is written to -o PATH, else into --dir
under its name in Storage made safe, through a temporary file renamed into place
once complete and of the right size; a cut transfer is resumed. A file above
8 MiB is fetched as parallel ranges (--parallel-transfers), and its MD5 is
checked against the blob's when the blob gives one: a mismatch exits 5
("checksum mismatch") and leaves no file. An existing file is kept (exit 2)
unless --force. A missing --dir is created with its parents; one that is a
file or not writable exits 2. A destination that is not a regular file
(-o /dev/null, a FIFO, a socket) is written into as one stream, never replaced
and never needing --force. SIGINT, SIGTERM and SIGHUP remove the temporary
file (exit 130, 143, 129); a later download to the same destination removes
temporary files an earlier one left. stdout is the path written; progress goes
to stderr.`, args: 1,
		examples: []string{
			"download FILE_ID",
			"download FILE_ID --dir exports --json",
			"download FILE_ID -o model.ifc --force"}})
	fs.StringVarP(&c.out, "output", "o", "", "write the file to `PATH` (a device or FIFO is written into, not replaced)")
	fs.StringVar(&c.dir, "dir", "", "write the file into `DIR` (created when missing), under its name in Storage made safe (default .)")
	fs.BoolVar(&c.force, "force", false, "replace an existing file")
	fs.IntVar(&c.parallel, "parallel-transfers", wrapper.DefaultParallel, "fetch a file above 8 MiB as ranges over `N` connections at a time (1: one stream)")
	fs.jsonFlags(&c.json, `write {"fileId", "path", "size"} to stdout`)
	c.clientFlags.add(fs)
	return fs.cmd
}

// exec downloads the file.
func (c *downloadCmd) exec(ctx context.Context, a *app, args []string) error {
	switch {
	case c.out != "" && c.dir != "":
		return flagErrorf("-o and --dir exclude each other")
	case strings.TrimSpace(args[0]) == "":
		return flagErrorf("FILE_ID must not be empty")
	case c.parallel < 1:
		return flagErrorf("--parallel-transfers must be at least 1")
	}
	client, err := a.connect(ctx, &c.clientFlags)
	if err != nil {
		return err
	}
	bar := newTransferProgress(a.stderr, isTerminal(a.stderr), time.Now)
	opts := wrapper.DownloadOptions{Overwrite: c.force, Progress: bar.update, Parallel: c.parallel}
	var f *wrapper.DownloadedFile
	if c.out != "" {
		f, err = client.DownloadFile(ctx, args[0], c.out, opts)
	} else {
		f, err = client.DownloadFileInto(ctx, args[0], c.dir, opts)
	}
	bar.finish()
	if err != nil {
		return downloadFailed(err, "--force replaces it")
	}
	return a.writeDownloaded([]wrapper.DownloadedFile{*f}, c.json)
}

// downloadOutputs downloads every output file of a run completed with
// Success into dir, as `download --dir` does, for `run|status --download`.
// A run whose output went to USER_BLOB_STORAGE has nothing to download:
// stderr says so, and that is no error.
func (a *app) downloadOutputs(ctx context.Context, client *wrapper.Client, run *api.ExportRun, dir string, jsonOut bool) error {
	return a.downloadOutputsWith(ctx, client, run, dir, jsonOut, 0)
}

// downloadOutputsWith is downloadOutputs over parallel connections per
// file (0: the default).
func (a *app) downloadOutputsWith(ctx context.Context, client *wrapper.Client, run *api.ExportRun, dir string, jsonOut bool, parallel int) error {
	ids, err := wrapper.RunOutputs(run)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		fmt.Fprintln(a.stderr, "nothing to download: the run put no file in iTwin Storage; its output went to the blob container of --output-sas-url (USER_BLOB_STORAGE)")
		return nil
	}
	bar := newTransferProgress(a.stderr, isTerminal(a.stderr), time.Now)
	files, err := client.DownloadRunOutputs(ctx, run, dir, wrapper.DownloadOptions{Progress: bar.update, Parallel: parallel})
	bar.finish()
	if err != nil {
		for _, f := range files {
			fmt.Fprintf(a.stderr, "downloaded before the failure: %s\n", a.out.text(f.Path))
		}
		return downloadFailed(err, "move it away, or choose another --download DIR")
	}
	return a.writeDownloaded(files, jsonOut)
}

// downloadArg is DIR of --download as a resume command shows it: sanitized,
// and quoted for a POSIX shell unless it is plain.
func (a *app) downloadArg(dir string) string {
	if dir == "" {
		return ""
	}
	dir = a.out.text(dir)
	if plainShellWord.MatchString(dir) {
		return dir
	}
	return "'" + strings.ReplaceAll(dir, "'", `'\''`) + "'"
}

// plainShellWord matches what a POSIX shell takes as one word, unquoted.
var plainShellWord = regexp.MustCompile(`^[A-Za-z0-9_./:@%+=,-]+$`)

// keptFile is a download that stopped because its destination exists: a
// usage error (exit 2) that says nothing was written and how to go on.
type keptFile struct {
	err  error
	hint string // what replaces the file, or avoids it
}

// Error is the wrapper's error and what to do.
func (e *keptFile) Error() string {
	return e.err.Error() + "; nothing was written (" + e.hint + ")"
}

// Unwrap returns the wrapper's error (ErrFileExists).
func (e *keptFile) Unwrap() error { return e.err }

// downloadFailed adds to an existing file that was kept what to do (hint).
func downloadFailed(err error, hint string) error {
	if errors.Is(err, wrapper.ErrFileExists) {
		return &keptFile{err: err, hint: hint}
	}
	return err
}

// writeDownloaded writes the paths written, one a line, or with --json one
// object per file (an array when there are several).
func (a *app) writeDownloaded(files []wrapper.DownloadedFile, jsonOut bool) error {
	switch {
	case jsonOut && len(files) == 1:
		return a.out.writeJSON(a.stdout, files[0])
	case jsonOut:
		return a.out.writeJSON(a.stdout, files)
	}
	for _, f := range files {
		if _, err := fmt.Fprintln(a.stdout, a.out.text(f.Path)); err != nil {
			return err
		}
	}
	return nil
}

// transferProgress shows a download's progress: on a terminal a live bar
// (bytes, total, rate) redrawn at most ten times a second, otherwise a line
// per 10 %. A fall of the byte count starts a new file (several outputs).
type transferProgress struct {
	w     io.Writer
	live  bool
	now   func() time.Time
	start time.Time
	drawn time.Time // when the live bar was last drawn; zero: not on screen
	last  int64     // bytes done at the last call
	next  int64     // the next tenth (in percent) to print a line for
}

// newTransferProgress shows progress on w; now is the clock.
func newTransferProgress(w io.Writer, live bool, now func() time.Time) *transferProgress {
	return &transferProgress{w: w, live: live, now: now, start: now(), next: 10}
}

// update is the DownloadOptions.Progress of a download.
func (p *transferProgress) update(done, total int64) {
	if done < p.last {
		p.finish()
		p.start, p.next = p.now(), 10
	}
	p.last = done
	percent := int64(100)
	if total > 0 {
		percent = done * 100 / total
	}
	if !p.live {
		if percent >= p.next {
			fmt.Fprintf(p.w, "downloaded %3d%%  %s of %s\n", percent/10*10, formatBytes(done), formatBytes(total))
			p.next = percent/10*10 + 10
		}
		return
	}
	now := p.now()
	if done < total && !p.drawn.IsZero() && now.Sub(p.drawn) < 100*time.Millisecond {
		return
	}
	const width = 30
	bar := strings.Repeat("#", int(percent*width/100)) + strings.Repeat(".", width-int(percent*width/100))
	rate := float64(done) / max(now.Sub(p.start).Seconds(), 1e-3)
	fmt.Fprintf(p.w, "\r\033[K[%s] %3d%%  %s / %s  %s/s", bar, percent, formatBytes(done), formatBytes(total), formatBytes(int64(rate)))
	p.drawn = now
}

// finish ends a live bar's line.
func (p *transferProgress) finish() {
	if p.live && !p.drawn.IsZero() {
		fmt.Fprintln(p.w)
		p.drawn = time.Time{}
	}
}

// formatBytes writes a byte count in B, KiB, MiB or GiB.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	value, suffix := float64(n)/unit, "KiB"
	for _, s := range []string{"MiB", "GiB", "TiB"} {
		if value < unit {
			break
		}
		value, suffix = value/unit, s
	}
	return fmt.Sprintf("%.1f %s", value, suffix)
}
