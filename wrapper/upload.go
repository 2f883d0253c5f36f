package wrapper

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper/internal/bounded"
	"github.com/itwin-export/itwin-export/wrapper/internal/urlcheck"
)

// Upload limits, from the Storage API's and Azure Blob Storage's references.
const (
	// MaxSinglePut is the largest content an upload sends in one PUT (Put
	// Blob): the Storage API documents 256 MiB for its upload link. Larger
	// contents go as blocks (Put Block, then Put Block List).
	MaxSinglePut = 256 << 20
	// MaxBlocks is the most blocks a blob may be made of.
	MaxBlocks = 50000
	// MaxBlockSize is the largest block Azure Blob Storage takes (4000 MiB).
	MaxBlockSize = 4000 << 20
	// MaxUploadSize is the largest file an upload can send: MaxBlocks blocks
	// of MaxBlockSize (about 190.7 TiB), the limit of a block blob.
	MaxUploadSize int64 = MaxBlocks * MaxBlockSize
	// DefaultUploadBlockSize is the size of the blocks of a content above
	// MaxSinglePut when UploadOptions.BlockSize is 0 (larger when the file
	// needs more than MaxBlocks of it).
	DefaultUploadBlockSize = 8 << 20
	// DefaultUploadParallel is how many blocks are sent at once when
	// UploadOptions.Parallel is 0.
	DefaultUploadParallel = 4
)

// The Storage operations an upload calls, and its blob requests.
var (
	opTopLevel       = operation{"getTopLevelFoldersAndFiles", http.MethodGet, "", true, []int{http.StatusOK}, retryIdempotent}
	opCreateFile     = operation{"createFile", http.MethodPost, "folders/*/files", true, []int{http.StatusAccepted}, retryRateLimit}
	opCompleteUpload = operation{"completeFileUpload", http.MethodPost, "files/*/complete", true, []int{http.StatusOK}, retryIdempotent}
	opDeleteFile     = operation{"deleteFile", http.MethodDelete, "files/*", true, []int{http.StatusNoContent, http.StatusNotFound}, retryIdempotent}
	// opUploadContent is a PUT to the upload link (Put Blob, Put Block,
	// Put Block List): not an API operation, named so in errors.
	opUploadContent = operation{"uploadContent", http.MethodPut, "", false, []int{http.StatusCreated}, retryIdempotent}
)

// UploadOptions tune an upload. Zero fields take their defaults.
type UploadOptions struct {
	// Name is the file's displayName in Storage; default: the local file's
	// base name.
	Name string
	// Description is the file's description; default none.
	Description string
	// BlockSize is the size of each block of a content above SinglePutLimit;
	// 0 means DefaultUploadBlockSize, grown so that the file needs at most
	// MaxBlocks. A BlockSize that is set is kept: a file larger than
	// MaxBlocks of it is refused before anything is created.
	BlockSize int64
	// SinglePutLimit is the largest content sent in one PUT; 0 means
	// MaxSinglePut, which is also its upper bound.
	SinglePutLimit int64
	// Parallel is how many blocks are sent at once; 0 means
	// DefaultUploadParallel.
	Parallel int
	// Progress, when set, is called after each piece sent with the bytes
	// sent so far and the file's size, one call at a time.
	Progress func(done, total int64)
}

// withDefaults fills the zero fields and settles the block size for size.
func (o UploadOptions) withDefaults(size int64) (UploadOptions, error) {
	if o.SinglePutLimit <= 0 || o.SinglePutLimit > MaxSinglePut {
		o.SinglePutLimit = MaxSinglePut
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultUploadParallel
	}
	limit := MaxUploadSize
	switch {
	case o.BlockSize > 0:
		o.BlockSize = min(o.BlockSize, MaxBlockSize)
		limit = max(o.SinglePutLimit, MaxBlocks*o.BlockSize)
	default:
		o.BlockSize = max(DefaultUploadBlockSize, (size+MaxBlocks-1)/MaxBlocks)
	}
	if size > limit {
		return o, fmt.Errorf("is %d bytes, larger than the %d an upload can send (%d blocks of %d bytes)", size, limit, MaxBlocks, o.BlockSize)
	}
	return o, nil
}

// RootFolder returns the id of the root folder of an iTwin's Storage, where
// files are created at the top level: GET {storage}/?iTwinId=, whose
// _links.folder names it. A link off the Storage API's origin, or not of
// the form {storage}/folders/{id}, is an ErrMalformedResponse.
func (c *Client) RootFolder(ctx context.Context, iTwinID string) (string, error) {
	if err := c.checkStorage("iTwinID", iTwinID); err != nil {
		return "", err
	}
	top := int32(1)
	req, err := api.NewGetTopLevelFoldersAndFilesRequest(c.storageServer(), &api.GetTopLevelFoldersAndFilesParams{ITwinID: iTwinID, Top: &top})
	x, err := c.call(ctx, &opTopLevel, req, err)
	if err != nil {
		return "", err
	}
	links, _, err := decodeMember(c, x, "_links", func(l *api.StorageItemsLinks) string {
		if l.Folder == nil || l.Folder.Href == "" {
			return `no "_links.folder" naming the root folder`
		}
		return ""
	})
	if err != nil {
		return "", err
	}
	id, ok := urlcheck.IDUnder(c.storage.url, x.url, links.Folder.Href, "folders", "")
	if !ok {
		return "", c.malformed(x, `"_links.folder" is not a folder of the Storage API`)
	}
	return id, nil
}

// storageServer is the Storage base URL as the generated request builders
// take it: with a final slash, under which they resolve their paths.
func (c *Client) storageServer() string { return c.storage.url.String() + "/" }

// UploadFile puts a local file into a Storage folder, in the Storage API's
// three steps: create the file (POST /folders/{folderID}/files), PUT its
// content to the returned upload link, complete the upload (POST
// /files/{id}/complete). It returns the file as the completion answered it.
//
// The file is checked first: one that does not exist, a directory or other
// non-regular file, an empty file, one that cannot be read, or one larger
// than an upload can send (MaxUploadSize; see UploadOptions.BlockSize) is a
// *ValidationError, and nothing is created.
//
// The upload link is a blob URL carrying a write signature (SAS): it is
// used only over https (plain http to a loopback address), by a request
// that carries no Authorization and no other credential of the client (Azure
// refuses a SAS beside a bearer token, and the token goes only to the API's
// origin), and its signature never appears in an error or log record. The
// content is streamed from the file, never held in memory: one PUT up to
// UploadOptions.SinglePutLimit (MaxSinglePut, the 256 MiB the Storage API
// documents), above it blocks (Put Block) sent UploadOptions.Parallel at a
// time, then committed (Put Block List). A blob request that meets 429, 5xx
// or a dropped connection is retried like a GET.
//
// When an upload fails after the file was created (the content could not be
// sent, the completion failed, the context ended, the file changed size
// while it was read), the created file is deleted (DELETE /files/{id}, which
// moves it to the iTwin's recycle bin) so that no half-created file stays in
// the folder. Should that deletion fail too, the error says so and names
// the file. A completeUrl off the Storage API names no file that could be
// deleted: that answer is an ErrMalformedResponse and the file, created but
// never completed, stays (the Storage API does not serve it as a file).
func (c *Client) UploadFile(ctx context.Context, folderID, path string, opts UploadOptions) (*api.StorageFile, error) {
	if err := c.checkStorage("folderID", folderID); err != nil {
		return nil, err
	}
	f, size, err := openUpload(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if opts, err = opts.withDefaults(size); err != nil {
		return nil, &ValidationError{Problems: []Problem{{Field: "path", Message: path + " " + err.Error()}}}
	}
	name := opts.Name
	if name == "" {
		name = filepath.Base(path)
	}
	u := &upload{c: c, file: f, path: path, size: size, opts: opts}
	if err := u.create(ctx, folderID, name); err != nil {
		return nil, err
	}
	file, err := u.finish(ctx)
	if err != nil {
		return nil, c.discard(ctx, u.fileID, err)
	}
	return file, nil
}

// CheckUpload checks a local file as UploadFile would before sending
// anything, and returns the same *ValidationError: one that does not exist,
// a directory or other non-regular file, an empty or unreadable file, or
// one larger than an upload with opts can send. A command checks its inputs
// with it before the requests that come before the upload.
func CheckUpload(path string, opts UploadOptions) error {
	f, size, err := openUpload(path)
	if err != nil {
		return err
	}
	_ = f.Close()
	if _, err := opts.withDefaults(size); err != nil {
		return &ValidationError{Problems: []Problem{{Field: "path", Message: path + " " + err.Error()}}}
	}
	return nil
}

// openUpload opens a file to upload and checks it: a regular, readable,
// non-empty file.
func openUpload(path string) (*os.File, int64, error) {
	problem := func(msg string) error { return &ValidationError{Problems: []Problem{{Field: "path", Message: msg}}} }
	if strings.TrimSpace(path) == "" {
		return nil, 0, problem("must not be empty")
	}
	f, err := os.Open(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil, 0, problem(fmt.Sprintf("%s does not exist", path))
	case err != nil:
		return nil, 0, problem(fmt.Sprintf("%s cannot be read: %v", path, errors.Unwrap(err)))
	}
	st, err := f.Stat()
	switch {
	case err != nil:
		_ = f.Close()
		return nil, 0, problem(fmt.Sprintf("%s cannot be read: %v", path, err))
	case st.IsDir():
		_ = f.Close()
		return nil, 0, problem(fmt.Sprintf("%s is a directory", path))
	case !st.Mode().IsRegular():
		_ = f.Close()
		return nil, 0, problem(fmt.Sprintf("%s is not a regular file", path))
	case st.Size() == 0:
		_ = f.Close()
		return nil, 0, problem(fmt.Sprintf("%s is empty", path))
	}
	// A file that opens but cannot be read (a directory on some systems,
	// a file on a broken disk) shows it at its first byte.
	if _, err := f.ReadAt(make([]byte, 1), 0); err != nil {
		_ = f.Close()
		return nil, 0, problem(fmt.Sprintf("%s cannot be read: %v", path, err))
	}
	return f, st.Size(), nil
}

// upload is one UploadFile in progress.
type upload struct {
	c      *Client
	file   *os.File
	path   string
	size   int64
	opts   UploadOptions
	fileID string   // set by create
	link   *url.URL // the upload link, checked by blobURL
	sent   atomic.Int64
	report sync.Mutex // one Progress call at a time
}

// create creates the file's metadata and reads its two links.
func (u *upload) create(ctx context.Context, folderID, name string) error {
	c := u.c
	body := api.StorageFileCreate{DisplayName: name}
	if u.opts.Description != "" {
		body.Description = &u.opts.Description
	}
	req, err := api.NewCreateFileRequest(c.storageServer(), folderID, body)
	x, err := c.call(ctx, &opCreateFile, req, err)
	if err != nil {
		return err
	}
	links, _, err := decodeMember(c, x, "_links", func(l *api.StorageFileUploadLinks) string {
		if l.UploadURL.Href == "" || l.CompleteURL.Href == "" {
			return `"_links" lacks "uploadUrl" or "completeUrl"`
		}
		return ""
	})
	if err != nil {
		return err
	}
	id, ok := urlcheck.IDUnder(c.storage.url, x.url, links.CompleteURL.Href, "files", "complete")
	if !ok {
		return c.malformed(x, `"_links.completeUrl" is not the completion of a file of the Storage API`)
	}
	u.fileID = id
	c.log.LogAttrs(ctx, slog.LevelInfo, "upload: file created", slog.String("fileId", id), slog.String("name", name), slog.Int64("size", u.size))
	if u.link, err = blobURL(x.url, links.UploadURL.Href); err != nil {
		return c.discard(ctx, id, err)
	}
	return nil
}

// finish sends the content and completes the upload.
func (u *upload) finish(ctx context.Context) (*api.StorageFile, error) {
	c := u.c
	blocks := 0
	if u.size > u.opts.SinglePutLimit {
		blocks = int((u.size + u.opts.BlockSize - 1) / u.opts.BlockSize)
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "upload: sending content", slog.String("fileId", u.fileID),
		slog.String("link", c.redactURL(u.link.String())), slog.Int64("size", u.size), slog.Int("blocks", blocks))
	var err error
	if blocks == 0 {
		err = u.put(ctx, u.link, 0, u.size, true)
	} else {
		err = u.putBlocks(ctx, blocks)
	}
	if err != nil {
		return nil, err
	}
	if st, err := u.file.Stat(); err != nil || st.Size() != u.size {
		return nil, &ValidationError{Problems: []Problem{{Field: "path", Message: fmt.Sprintf("%s changed size while it was uploaded", u.path)}}}
	}
	req, err := api.NewCompleteFileUploadRequest(c.storageServer(), u.fileID)
	x, err := c.call(ctx, &opCompleteUpload, req, err)
	if err != nil {
		return nil, err
	}
	file, _, err := decodeMember(c, x, "file", func(f *api.StorageFile) string {
		if f.ID == "" || f.DisplayName == "" {
			return `the file lacks "id" or "displayName"`
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "upload: completed", slog.String("fileId", file.ID), slog.Int64("size", file.Size))
	return file, nil
}

// blockID is the id of block i: base64 of a fixed-width number, so that
// every id of the blob has the same length, as Azure requires.
func blockID(i int) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("block-%08d", i)))
}

// putBlocks sends the content as blocks, Parallel at a time, then commits
// them in order. The first failure stops the others.
func (u *upload) putBlocks(ctx context.Context, blocks int) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for range min(u.opts.Parallel, blocks) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				off := int64(i) * u.opts.BlockSize
				link := withQuery(u.link, "comp=block&blockid="+url.QueryEscape(blockID(i)))
				if err := u.put(ctx, link, off, min(u.opts.BlockSize, u.size-off), false); err != nil {
					once.Do(func() { first = err; cancel(err) })
				}
			}
		}()
	}
feed:
	for i := range blocks {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	var list bytes.Buffer
	list.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
	for i := range blocks {
		list.WriteString("<Latest>" + blockID(i) + "</Latest>")
	}
	list.WriteString("</BlockList>")
	return u.send(ctx, withQuery(u.link, "comp=blocklist"), func() io.Reader { return bytes.NewReader(list.Bytes()) }, int64(list.Len()), nil)
}

// withQuery is link with more query parameters after its own (the SAS).
func withQuery(link *url.URL, query string) *url.URL {
	u := *link
	if u.RawQuery != "" {
		u.RawQuery += "&"
	}
	u.RawQuery += query
	return &u
}

// put sends n bytes of the file from off to link: a whole blob (Put Blob,
// with x-ms-blob-type) or a block.
func (u *upload) put(ctx context.Context, link *url.URL, off, n int64, blob bool) error {
	header := http.Header{}
	if blob {
		header["X-Ms-Blob-Type"] = []string{"BlockBlob"}
	}
	body := func() io.Reader { return io.NewSectionReader(u.file, off, n) }
	return u.send(ctx, link, body, n, header)
}

// send makes one blob PUT, retried after 429, 5xx and dropped connections
// as a GET would be, its body made anew for each attempt. The bytes an
// attempt read count as progress; a failed attempt takes them back.
func (u *upload) send(ctx context.Context, link *url.URL, body func() io.Reader, n int64, header http.Header) error {
	c := u.c
	hc := c.blobClient()
	for attempt := 1; ; attempt++ {
		counted := &progressCount{u: u}
		err := u.attempt(ctx, hc, link, counted.reader(body), n, header, attempt)
		if err == nil {
			return nil
		}
		counted.takeBack()
		var retry retryableBlob
		if !errors.As(err, &retry) || ctx.Err() != nil || attempt >= c.retry.MaxAttempts || retry.wait > c.retry.MaxRetryAfter {
			if errors.As(err, &retry) {
				return retry.err
			}
			return err
		}
		wait := max(retry.wait, c.retry.backoff(attempt))
		if err := c.wait(ctx, wait); err != nil {
			return fmt.Errorf("%s %s %s: %w", opUploadContent.name, http.MethodPut, c.redactURL(link.String()), err)
		}
	}
}

// retryableBlob is a blob answer or failure another attempt may cure.
type retryableBlob struct {
	err  error
	wait time.Duration // the store's Retry-After, if it gave one
}

func (e retryableBlob) Error() string { return e.err.Error() }
func (e retryableBlob) Unwrap() error { return e.err }

// attempt makes one blob PUT: no credential of the client at all.
func (u *upload) attempt(ctx context.Context, hc *http.Client, link *url.URL, body func() io.Reader, n int64, header http.Header, attempt int) error {
	c := u.c
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "", body())
	if err != nil {
		return err
	}
	req.URL, req.Host = link, link.Host
	req.ContentLength = n
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(body()), nil }
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header["User-Agent"] = c.userAgent
	start := time.Now()
	resp, err := hc.Do(req)
	if c.log.Enabled(ctx, slog.LevelDebug) {
		attrs := []slog.Attr{slog.String("op", opUploadContent.name), slog.String("method", http.MethodPut),
			slog.String("url", c.redactURL(link.String())), slog.Duration("duration", time.Since(start)), slog.Int("attempt", attempt)}
		if err == nil {
			attrs = append(attrs, slog.Int("status", resp.StatusCode))
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "http exchange", attrs...)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("%s %s %s: %w", opUploadContent.name, http.MethodPut, c.redactURL(link.String()), context.Cause(ctx))
		}
		cause := transportCause(err)
		return retryableBlob{err: &TransportError{Operation: opUploadContent.name, Method: http.MethodPut, URL: c.redactURL(link.String()),
			Err: scrubbedError{cause, c.scrub(cause.Error())}}}
	}
	respBody, _ := bounded.ReadAll(resp.Body, resp.ContentLength, maxErrorBody, nil)
	if resp.StatusCode == http.StatusCreated {
		return nil
	}
	x := &exchange{op: &opUploadContent, url: link, status: resp.StatusCode, header: resp.Header, body: respBody, attempts: attempt}
	err = c.unexpected(x)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Code == "" {
		apiErr.Code = c.scrub(resp.Header.Get("x-ms-error-code")) // the blob store's error code
	}
	if status := resp.StatusCode; status == http.StatusTooManyRequests || status >= 500 && status != http.StatusNotImplemented {
		wait, _ := parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		return retryableBlob{err: err, wait: wait}
	}
	return err
}

// progressCount counts the bytes one attempt read of its body and reports
// them as the upload's progress. A body made again (the transport's
// GetBody, when it rewinds) takes back what the former one counted.
type progressCount struct {
	u    *upload
	mu   sync.Mutex
	read int64
}

// reader makes the attempt's bodies counted.
func (p *progressCount) reader(body func() io.Reader) func() io.Reader {
	return func() io.Reader {
		p.takeBack()
		return &progressReader{r: body(), p: p}
	}
}

// takeBack removes what the attempt counted from the upload's progress.
func (p *progressCount) takeBack() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.u.sent.Add(-p.read)
	p.read = 0
}

// add counts n more bytes read and reports the progress.
func (p *progressCount) add(n int) {
	p.mu.Lock()
	p.read += int64(n)
	p.mu.Unlock()
	u := p.u
	u.sent.Add(int64(n))
	if u.opts.Progress != nil {
		// The count is read under the lock: read before it, a block's
		// count could reach Progress after another block's larger one.
		u.report.Lock()
		u.opts.Progress(min(u.sent.Load(), u.size), u.size)
		u.report.Unlock()
	}
}

// progressReader is a body whose reads count as progress.
type progressReader struct {
	r io.Reader
	p *progressCount
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if n > 0 {
		r.p.add(n)
	}
	return n, err
}

// discard deletes a file created by an upload that failed, so that no
// half-created file stays behind, and returns cause, with a note when the
// deletion failed too. The deletion runs even when ctx has ended, bounded
// by its own short limit.
func (c *Client) discard(ctx context.Context, fileID string, cause error) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discardTimeout)
	defer cancel()
	req, err := api.NewDeleteFileRequest(c.storageServer(), fileID)
	_, err = c.call(dctx, &opDeleteFile, req, err)
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelInfo, "upload: the created file could not be deleted", slog.String("fileId", fileID), slog.String("error", err.Error()))
		return &UploadError{FileID: fileID, Err: cause, Cleanup: err}
	}
	c.log.LogAttrs(ctx, slog.LevelInfo, "upload: failed; the created file was deleted", slog.String("fileId", fileID))
	return &UploadError{FileID: fileID, Err: cause}
}

// discardTimeout bounds the deletion of a file whose upload failed.
const discardTimeout = 30 * time.Second
