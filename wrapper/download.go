package wrapper

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/itwin-export/itwin-export/api"
)

// DefaultStorageURL is the Storage API's production base URL, where runs put
// their output files by default.
const DefaultStorageURL = "https://api.bentley.com/storage"

// AcceptFileHeader is the media type the Storage API recommends for a
// download.
const AcceptFileHeader = "application/vnd.bentley.itwin-platform.v1+octet-stream"

// ErrFileExists: the destination of a download exists and
// DownloadOptions.Overwrite was not set. Nothing was written.
var ErrFileExists = errors.New("file exists (not overwritten)")

// DownloadOptions tune a download. Zero fields take their defaults.
type DownloadOptions struct {
	// Overwrite replaces an existing file at the destination; without it
	// the download fails with ErrFileExists and the file is kept.
	Overwrite bool
	// Progress, when set, is called from the downloading goroutine after
	// each piece written, with the bytes written so far and the file's
	// size. After a resume it continues from where the cut left it.
	Progress func(done, total int64)
	// MaxResumes bounds how many times a cut transfer is resumed with
	// Range. Default 5.
	MaxResumes int
	// StallTimeout ends a transfer during which no byte arrived for this
	// long (it is then resumed, as a cut). Default 1 minute.
	StallTimeout time.Duration
}

func (o DownloadOptions) withDefaults() DownloadOptions {
	if o.MaxResumes <= 0 {
		o.MaxResumes = 5
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = time.Minute
	}
	return o
}

// DownloadedFile is a file written by a download.
type DownloadedFile struct {
	FileID string `json:"fileId"` // the Storage file id
	Path   string `json:"path"`   // where it was written
	Size   int64  `json:"size"`   // its size in bytes, as the metadata gave it
}

// storageBase is the Storage API's base URL, or why downloads cannot use it.
type storageBase struct {
	url     string // without a trailing slash, as the generated builders want it
	problem error  // set when the derived URL is not on the API's origin
}

// newStorageBase checks Options.StorageURL, or derives the URL from the
// API's. An explicit URL off the API's origin is an error; a derived one
// only fails the downloads, with a message saying what to set.
func newStorageBase(raw string, c *Client) (storageBase, error) {
	explicit := raw != ""
	if !explicit {
		raw = DefaultStorageURL
		if rest, ok := strings.CutSuffix(c.baseURL, "/export"); ok {
			raw = rest + "/storage"
		}
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		return storageBase{}, fmt.Errorf("wrapper.New: storage URL %q must be an absolute http(s) URL without query or fragment", redactURL(raw))
	case !c.sameOrigin(u):
		problem := &LocationError{Location: redactURL(u.String()), kind: ErrForeignLocation,
			Reason: "the Storage URL is not on the API's scheme, host and port, where the token may go; set Options.StorageURL (ITWIN_STORAGE_URL)"}
		if explicit {
			return storageBase{}, fmt.Errorf("wrapper.New: %w", problem)
		}
		return storageBase{problem: problem}, nil
	}
	return storageBase{url: u.String()}, nil
}

// StorageURL returns the Storage API base URL the client downloads from.
func (c *Client) StorageURL() string { return c.storage.url }

// GetFile gets a file's metadata from the Storage API: its display name and
// size. A file that does not exist is an *APIError matching ErrNotFound.
func (c *Client) GetFile(ctx context.Context, fileID string) (*api.StorageFile, error) {
	if err := c.checkStorage("fileID", fileID); err != nil {
		return nil, err
	}
	built, err := api.NewGetFileRequest(c.storage.url+"/", fileID)
	if err != nil {
		return nil, fmt.Errorf("getFile: %w", err)
	}
	x, err := c.do(ctx, request{op: "getFile", method: http.MethodGet, url: built.URL, rule: retryIdempotent})
	if err != nil {
		return nil, err
	}
	if x.status != http.StatusOK {
		return nil, c.unexpected(x)
	}
	var body struct {
		File *struct {
			ID, DisplayName *string
			Size            *int64
		} `json:"file"`
	}
	if err := c.decode(x, &body, func() string {
		switch f := body.File; {
		case f == nil:
			return `no "file" object`
		case f.ID == nil || f.DisplayName == nil || f.Size == nil:
			return `the file lacks "id", "displayName" or "size"`
		case *f.Size < 0:
			return `the file's "size" is negative`
		}
		return ""
	}); err != nil {
		return nil, err
	}
	var full struct {
		File api.StorageFile `json:"file"`
	}
	if err := c.decode(x, &full, nil); err != nil {
		return nil, err
	}
	return &full.File, nil
}

// checkStorage refuses a download before any request when the Storage URL
// cannot take the token, or an id is empty.
func (c *Client) checkStorage(name, id string) error {
	if c.storage.problem != nil {
		return c.storage.problem
	}
	return validateIDs(name, id)
}

// downloadLink asks the Storage API where a file's content is: the 302's
// Location, which is never followed automatically and is checked by
// blobURL before anything is sent to it.
func (c *Client) downloadLink(ctx context.Context, fileID string) (*url.URL, error) {
	built, err := api.NewDownloadFileRequest(c.storage.url+"/", fileID)
	if err != nil {
		return nil, fmt.Errorf("downloadFile: %w", err)
	}
	x, err := c.do(ctx, request{op: "downloadFile", method: http.MethodGet, url: built.URL, rule: retryIdempotent, accept: acceptFileValue})
	if err != nil {
		return nil, err
	}
	if x.status != http.StatusFound {
		return nil, c.unexpected(x)
	}
	return blobURL(x.url, x.header.Get("Location"))
}

var acceptFileValue = []string{AcceptFileHeader}

// blobURL resolves and checks a download Location: absolute, no userinfo,
// https, or plain http to a loopback address only. It is refused before any
// connection otherwise.
func blobURL(reqURL *url.URL, loc string) (*url.URL, error) {
	if strings.TrimSpace(loc) == "" {
		return nil, &LocationError{Reason: "the download answer has no Location", kind: ErrMissingLocation}
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, &LocationError{Location: redactURL(loc), Reason: "does not parse as a URL", kind: ErrMissingLocation}
	}
	u := reqURL.ResolveReference(ref)
	switch {
	case u.User != nil:
		return nil, &LocationError{Location: redactURL(u.String()), Reason: "carries user information", kind: ErrForeignLocation}
	case strings.EqualFold(u.Scheme, "https"):
	case strings.EqualFold(u.Scheme, "http") && isLoopback(u.Hostname()):
	default:
		return nil, &LocationError{Location: redactURL(u.String()),
			Reason: "a file's content is fetched over https only (plain http to a loopback address); refused before any request", kind: ErrInsecureLink}
	}
	return u, nil
}

// ErrInsecureLink: a download link is not https (or plain http to a
// loopback address); it is refused before any connection, so its signature
// never travels in clear.
var ErrInsecureLink = errors.New("insecure download link")
