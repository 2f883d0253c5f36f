package wrapper

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
	"github.com/itwin-export/itwin-export/wrapper/internal/urlcheck"
)

// DefaultStorageURL is the Storage API's production base URL, where runs put
// their output files by default.
const DefaultStorageURL = "https://api.bentley.com/storage"

// acceptFileHeader is the media type the Storage API recommends for a
// download.
const acceptFileHeader = "application/vnd.bentley.itwin-platform.v1+octet-stream"

// DownloadOptions tune a download. Zero fields take their defaults.
type DownloadOptions struct {
	// Overwrite replaces an existing file at the destination; without it
	// the download fails with ErrFileExists and the file is kept.
	Overwrite bool
	// Progress, when set, is called after each piece written, with the
	// bytes written so far (all connections together) and the file's size;
	// calls never overlap, but come from the downloading goroutines. After a
	// resume it continues from where the cut left it; after a start-over
	// (the blob changed) it is called with 0 first.
	Progress func(done, total int64)
	// MaxResumes bounds how many times each range of a cut transfer is
	// resumed with Range. Default 5.
	MaxResumes int
	// Parallel is how many connections fetch a file larger than BlockSize,
	// each a range of at most BlockSize at a time. Default 8; 1 means one
	// stream. A file of BlockSize or less, and a destination that is not a
	// regular file, always take one stream. The connections go back to the
	// blob transport's pool at the end (see Options.BlobTransport), which
	// keeps MaxIdleConnsPerHost of them for the next download:
	// http.DefaultTransport keeps 2, so a client that downloads many files
	// over long links keeps its connections (and their TLS handshakes) with
	// a Transport whose MaxIdleConnsPerHost is at least Parallel.
	Parallel int
	// BlockSize is the largest range one request asks for, and the size
	// above which a file is fetched in parallel. Default 8 MiB. Ranges are
	// smaller when that keeps every connection busy.
	BlockSize int64
	// StallTimeout ends a transfer during which no byte arrived for this
	// long (it is then resumed, as a cut). Default 1 minute.
	StallTimeout time.Duration
}

// Defaults of DownloadOptions.Parallel and BlockSize: 8 connections, ranges
// of 8 MiB.
const (
	DefaultParallel  = 8
	DefaultBlockSize = 8 << 20
)

func (o DownloadOptions) withDefaults() DownloadOptions {
	if o.MaxResumes <= 0 {
		o.MaxResumes = 5
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = time.Minute
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
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
	url     *url.URL // canonical, like the client's base
	problem error    // set when the derived URL is not on the API's origin
}

// newStorageBase checks Options.StorageURL, or derives the URL from the
// API's. An explicit URL off the API's origin is an error; a derived one
// only fails the downloads, with a message saying what to set.
func newStorageBase(raw string, c *Client) (storageBase, error) {
	explicit := raw != ""
	if !explicit {
		raw = DefaultStorageURL
		if rest, ok := strings.CutSuffix(c.baseURL(), "/export"); ok {
			raw = rest + "/storage"
		}
	}
	u, problem := urlcheck.Base(raw)
	switch {
	case problem != "":
		return storageBase{}, fmt.Errorf("wrapper.New: storage URL %q %s", redact.URL(raw), problem)
	case !urlcheck.SameOrigin(u, c.base):
		problem := &LocationError{Location: redact.URL(u.String()), kind: ErrForeignLocation,
			Reason: "the Storage URL is not on the API's scheme, host and port, where the token may go; set Options.StorageURL (ITWIN_STORAGE_URL)"}
		if explicit {
			return storageBase{}, fmt.Errorf("wrapper.New: %w", problem)
		}
		return storageBase{problem: problem}, nil
	}
	return storageBase{url: u}, nil
}

// StorageURL returns the Storage API base URL the client downloads from.
func (c *Client) StorageURL() string {
	if c.storage.url == nil {
		return ""
	}
	return c.storage.url.String()
}

// GetFile gets a file's metadata from the Storage API: its display name and
// size. A file that does not exist is an *APIError matching ErrNotFound.
func (c *Client) GetFile(ctx context.Context, fileID string) (*api.StorageFile, error) {
	if err := c.checkStorage("fileID", fileID); err != nil {
		return nil, err
	}
	resp, err := c.storageAPI.GetFile(ctx, fileID)
	x, err := c.received(&opGetFile, resp, err)
	if err != nil {
		return nil, err
	}
	file, raw, err := decodeMember(c, x, "file", func(f *api.StorageFile) string {
		switch {
		case f.ID == "" || f.DisplayName == "":
			return `the file lacks "id" or "displayName"`
		case f.Size < 0:
			return `the file's "size" is negative`
		}
		return ""
	})
	if err != nil {
		return nil, err
	}
	// A size of 0 and no size read alike in the generated type: only the
	// first may be trusted.
	var present struct {
		Size *int64 `json:"size"`
	}
	if json.Unmarshal(raw, &present) != nil || present.Size == nil {
		return nil, c.malformed(x, `the file lacks "size"`)
	}
	return file, nil
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
	resp, err := c.storageAPI.DownloadFile(ctx, fileID, acceptFile)
	x, err := c.received(&opDownloadFile, resp, err)
	if err != nil {
		return nil, err
	}
	return blobURL(x.url, x.header.Get("Location"))
}

var acceptFileValue = []string{acceptFileHeader}

// acceptFile sets the Accept header of a download request.
func acceptFile(_ context.Context, req *http.Request) error {
	req.Header["Accept"] = acceptFileValue
	return nil
}
