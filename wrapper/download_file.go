package wrapper

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper/internal/partfile"
)

// DownloadFile downloads a Storage file to path: its metadata first (the
// size the content must have), then GET /files/{id}/download, whose 302 is
// not followed automatically: its Location, a blob URL carrying a signature
// (SAS), is fetched by requests that carry no Authorization and no other
// credential, only over https (plain http to a loopback address only).
// They use Options.BlobTransport, else Options.HTTPClient's Transport when
// it is an *http.Transport, else http.DefaultTransport, and never the
// client's token source.
//
// A file larger than DownloadOptions.BlockSize is fetched as ranges over
// DownloadOptions.Parallel connections, each written where it belongs in a
// temporary file beside path (one buffer per connection: memory does not
// grow with the size); a smaller one with one GET. The temporary file is
// synced, checked against the metadata's size and, when the blob gives one,
// its MD5, then renamed to path with mode 0666 minus the umask: path never
// holds a partial file, and the temporary file is removed on any failure or
// cancellation. Every answer must carry the first answer's strong ETag,
// size and MD5; later requests send the ETag as If-Match. A cut range
// resumes with Range (DownloadOptions.MaxResumes times at most); a blob that
// changed (412, another ETag) or a cut without a strong ETag starts the
// download over (3 times at most), so that two versions are never combined.
// A blob store answering 403 (an expired link) gets a fresh link once. An
// existing path is kept unless DownloadOptions.Overwrite: ErrFileExists,
// nothing written. A path that is a character device, a named pipe or a
// Unix socket is written into as one stream, never replaced and needing no
// Overwrite; size and MD5 are checked as it goes and nothing is resumed.
//
// Errors are classified: a file that does not exist matches ErrNotFound, a
// content whose size is not the metadata's ErrMalformedResponse, one whose
// MD5 is not the blob's ErrChecksumMismatch (and ErrMalformedResponse), an
// insecure link ErrInsecureLink. 429 answers of the Storage API are retried
// after their Retry-After like every other call of the client.
func (c *Client) DownloadFile(ctx context.Context, fileID, path string, opts DownloadOptions) (*DownloadedFile, error) {
	if err := c.checkStorage("fileID", fileID); err != nil {
		return nil, err
	}
	if strings.TrimSpace(path) == "" {
		return nil, &ValidationError{Problems: []Problem{{Field: "path", Message: "must not be empty"}}}
	}
	if err := checkFree(path, opts.Overwrite); err != nil {
		return nil, err
	}
	meta, err := c.GetFile(ctx, fileID)
	if err != nil {
		return nil, err
	}
	return c.download(ctx, meta, path, opts)
}

// DownloadFileInto downloads a Storage file into the directory dir, under
// its displayName made safe (see SafeFileName): never outside dir, which is
// created when missing (see PrepareDownloadDir). It is DownloadFile
// otherwise.
func (c *Client) DownloadFileInto(ctx context.Context, fileID, dir string, opts DownloadOptions) (*DownloadedFile, error) {
	if err := c.checkStorage("fileID", fileID); err != nil {
		return nil, err
	}
	meta, err := c.GetFile(ctx, fileID)
	if err != nil {
		return nil, err
	}
	if err := PrepareDownloadDir(dir); err != nil {
		return nil, err
	}
	path, err := pathIn(dir, SafeFileName(meta.DisplayName, fileID))
	if err != nil {
		return nil, err
	}
	if err := checkFree(path, opts.Overwrite); err != nil {
		return nil, err
	}
	return c.download(ctx, meta, path, opts)
}

// RunOutputs returns the Storage file ids a completed run names in its
// tasks' exportOutputFileId, in job and task order, each once. A run
// completed with Success or PartialSuccess whose list is empty put nothing
// in iTwin Storage: its output went to the caller's own blob container
// (outputOptions.location USER_BLOB_STORAGE), so there is nothing to
// download, and that is not an error. A run that is not Completed is a
// *ValidationError; one with another result is RunResult's *RunError.
func RunOutputs(run *api.ExportRun) ([]string, error) {
	if run == nil || run.State != api.ExecutionStateCompleted {
		return nil, &ValidationError{Problems: []Problem{{Field: "run", Message: "is not Completed: its output files are not known yet"}}}
	}
	if r := run.Result; r != api.ExecutionResultSuccess && r != api.ExecutionResultPartialSuccess {
		return nil, RunResult(run)
	}
	var ids []string
	seen := map[string]bool{}
	for _, job := range run.Jobs {
		for _, task := range job.Tasks {
			if id := task.ExportOutputFileID; id != "" && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// DownloadRunOutputs downloads every output file of a completed run (see
// RunOutputs) into dir, as DownloadFileInto does, one after the other; two
// outputs with the same name get distinct ones ("name (2).ifc"). An empty
// list and a nil error mean the run's output is not in Storage (it went to
// USER_BLOB_STORAGE): nothing to download. On an error, the files written so
// far are returned with it.
func (c *Client) DownloadRunOutputs(ctx context.Context, run *api.ExportRun, dir string, opts DownloadOptions) ([]DownloadedFile, error) {
	ids, err := RunOutputs(run)
	if err != nil {
		return nil, err
	}
	if len(ids) > 0 {
		if err := PrepareDownloadDir(dir); err != nil {
			return nil, err
		}
	}
	var done []DownloadedFile
	used := map[string]bool{}
	for _, id := range ids {
		meta, err := c.GetFile(ctx, id)
		if err != nil {
			return done, err
		}
		name := uniqueName(SafeFileName(meta.DisplayName, id), used)
		path, err := pathIn(dir, name)
		if err == nil {
			err = checkFree(path, opts.Overwrite)
		}
		if err != nil {
			return done, err
		}
		f, err := c.download(ctx, meta, path, opts)
		if err != nil {
			return done, err
		}
		done = append(done, *f)
	}
	return done, nil
}

// uniqueName returns name, or "base (n).ext" when a former output of the
// same run took it.
func uniqueName(name string, used map[string]bool) string {
	candidate := name
	ext := filepath.Ext(name)
	for n := 2; used[strings.ToLower(candidate)]; n++ {
		candidate = fmt.Sprintf("%s (%d)%s", strings.TrimSuffix(name, ext), n, ext)
	}
	used[strings.ToLower(candidate)] = true
	return candidate
}

// maxNameBytes is the longest local name SafeFileName returns (most file
// systems allow 255 bytes).
const maxNameBytes = 200

// SafeFileName makes a local file name from a displayName chosen by whoever
// stored the file: its last path element only (both / and \ separate), no
// control or invisible formatting characters, none of <>:"|?* , no leading
// or trailing dots or spaces, at most 200 bytes (the extension kept). A name
// that Windows takes for a device (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with
// any extension, in any case) or that starts with '-' (read as an option
// where the path is printed for scripts) gets an underscore in front:
// "nul.ifc" becomes "_nul.ifc", "--help" "_--help". A name that is left
// empty, such as ".." or "/", becomes fallback made safe the same way, or
// "download".
func SafeFileName(displayName, fallback string) string {
	name := displayName
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return -1
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		}
		return r
	}, name)
	name = safeLeading(strings.Trim(name, ". \u00a0"))
	if len(name) > maxNameBytes {
		ext := filepath.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		cut := maxNameBytes - len(ext)
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + ext
	}
	if name == "" {
		if fallback != "" {
			return SafeFileName(fallback, "")
		}
		return "download"
	}
	return name
}

// pathIn joins dir and a safe name, and checks that the result is a direct
// child of dir.
func pathIn(dir, name string) (string, error) {
	if dir == "" {
		dir = "."
	}
	path := filepath.Join(dir, name)
	if filepath.Dir(path) != filepath.Clean(dir) || name == "." || name == ".." {
		return "", &ValidationError{Problems: []Problem{{Field: "displayName", Message: fmt.Sprintf("%q is not a plain file name", name)}}}
	}
	return path, nil
}

// checkFree fails with ErrFileExists when path exists and may not be
// replaced. A special file (see isSpecial) is never replaced but written
// into: it needs no overwrite.
func checkFree(path string, overwrite bool) error {
	if overwrite {
		return nil
	}
	if st, err := os.Lstat(path); err == nil && !isSpecial(st.Mode()) {
		return fmt.Errorf("%w: %s", ErrFileExists, path)
	}
	return nil
}

// isSpecial tells whether a destination is written into rather than
// replaced: a character device (/dev/null, a terminal), a named pipe or a
// Unix socket, as curl, wget and azcopy do. A symbolic link is not: it is
// never written through.
func isSpecial(m fs.FileMode) bool {
	return m&(fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0 && m&fs.ModeSymlink == 0
}

// download writes a file whose metadata is known to path, through a
// temporary file in the same directory, or straight into path when it is
// a special file.
func (c *Client) download(ctx context.Context, meta *api.StorageFile, path string, opts DownloadOptions) (*DownloadedFile, error) {
	opts = opts.withDefaults()
	partfile.RemoveStale(path, time.Now())
	if st, err := os.Lstat(path); err == nil && isSpecial(st.Mode()) {
		return c.downloadInto(ctx, meta, path, st.Mode(), opts)
	}
	tmp, err := partfile.Create(filepath.Dir(path), filepath.Base(path))
	if err != nil {
		return nil, fmt.Errorf("download of file %s: %w", meta.ID, err)
	}
	// A background sync that fails stops the transfer, with its error.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	durable := partfile.NewDurable(tmp, c.syncFile)
	durable.Failed = stop
	committed := false
	defer func() {
		if !committed {
			durable.Wait()
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if opts.Parallel > 1 && meta.Size > opts.BlockSize {
		// Ranges land anywhere: the file has its final size from the start.
		if err := tmp.Truncate(meta.Size); err != nil {
			return nil, fmt.Errorf("download of file %s: %w", meta.ID, err)
		}
	}
	t := &transfer{c: c, http: c.blobClient(), fileID: meta.ID, size: meta.Size, w: tmp, readBack: tmp, resumable: true, flush: durable.Written, opts: opts}
	if err := t.run(ctx); err != nil {
		return nil, err
	}
	if err := durable.Sync(); err != nil {
		return nil, fmt.Errorf("download of file %s: %w", meta.ID, err)
	}
	if st, err := tmp.Stat(); err != nil || st.Size() != meta.Size {
		return nil, fmt.Errorf("download of file %s: the temporary file does not hold %d bytes: %w", meta.ID, meta.Size, errors.Join(err, ErrMalformedResponse))
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("download of file %s: %w", meta.ID, err)
	}
	if err := commit(tmp.Name(), path, opts.Overwrite); err != nil {
		return nil, err
	}
	committed = true
	syncDir(filepath.Dir(path))
	return &DownloadedFile{FileID: meta.ID, Path: path, Size: meta.Size}, nil
}

// downloadInto streams a file into a special file (a device, a named pipe,
// a Unix socket): one connection, in order, checked for size and MD5 as it
// goes, never resumed (what was written cannot be taken back) and never
// replaced.
func (c *Client) downloadInto(ctx context.Context, meta *api.StorageFile, path string, mode fs.FileMode, opts DownloadOptions) (*DownloadedFile, error) {
	w, err := openSpecial(ctx, path, mode)
	if err != nil {
		return nil, fmt.Errorf("download of file %s: %w", meta.ID, err)
	}
	defer w.Close()
	opts.Parallel = 1
	t := &transfer{c: c, http: c.blobClient(), fileID: meta.ID, size: meta.Size, w: &inOrder{w: w}, opts: opts}
	if err := t.run(ctx); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("download of file %s: %w", meta.ID, err)
	}
	return &DownloadedFile{FileID: meta.ID, Path: path, Size: meta.Size}, nil
}

// openSpecial opens a special file for writing, giving up when ctx ends
// first (a named pipe's open waits for a reader). What it opened must still
// be a special file: a regular file put there meanwhile is not written.
func openSpecial(ctx context.Context, path string, mode fs.FileMode) (io.WriteCloser, error) {
	type opened struct {
		w   io.WriteCloser
		err error
	}
	ch := make(chan opened, 1)
	go func() {
		if mode&fs.ModeSocket != 0 {
			conn, err := net.Dial("unix", path)
			ch <- opened{conn, err}
			return
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err == nil {
			if st, serr := f.Stat(); serr != nil || !isSpecial(st.Mode()) {
				_ = f.Close()
				f, err = nil, fmt.Errorf("%s is no longer a special file: %w", path, errors.Join(serr, ErrFileExists))
			}
		}
		if err != nil {
			ch <- opened{nil, err}
			return
		}
		ch <- opened{f, nil}
	}()
	select {
	case o := <-ch:
		return o.w, o.err
	case <-ctx.Done():
		go func() { // close what the open gives when it finally returns
			if o := <-ch; o.err == nil {
				_ = o.w.Close()
			}
		}()
		return nil, context.Cause(ctx)
	}
}

// inOrder is the writerAt of a stream: pieces must come in order.
type inOrder struct {
	w   io.Writer
	off int64
}

func (s *inOrder) WriteAt(p []byte, off int64) (int, error) {
	if off != s.off {
		return 0, fmt.Errorf("a stream cannot be written at %d after %d bytes", off, s.off)
	}
	n, err := s.w.Write(p)
	s.off += int64(n)
	return n, err
}

// commit puts the complete temporary file at path: a rename when
// overwriting; otherwise a hard link, which fails if path appeared in the
// meantime, falling back to a check and a rename where links are not
// supported.
func commit(tmp, path string, overwrite bool) error {
	if overwrite {
		return os.Rename(tmp, path)
	}
	err := os.Link(tmp, path)
	switch {
	case err == nil:
		_ = os.Remove(tmp)
		return nil
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%w: %s", ErrFileExists, path)
	}
	if err := checkFree(path, false); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// syncDir makes a rename in dir durable, where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// blobClient is the HTTP client of blob requests: no cookie jar, no
// redirects followed, and a transport that adds no credential:
// Options.BlobTransport, else Options.HTTPClient's Transport when it is an
// *http.Transport (which adds none), else http.DefaultTransport. A
// RoundTripper of another type may add headers (an oauth2.Transport adds
// the bearer token), so it is used only when the caller names it in
// Options.BlobTransport.
func (c *Client) blobClient() *http.Client {
	transport := c.blobTransport
	if transport == nil {
		transport = http.DefaultTransport
		if t, ok := c.roundTripper.(*http.Transport); ok {
			transport = t
		}
	}
	return &http.Client{
		Transport:     transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
