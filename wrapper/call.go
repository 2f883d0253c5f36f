package wrapper

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// operation is what the client knows of one API operation: its name in the
// contract, its method, its path under the API's (or the Storage API's) base
// URL, "*" standing for one path parameter, the statuses that mean success
// and which answers are retried.
type operation struct {
	name    string
	method  string
	path    string
	storage bool // path is under the Storage API's base URL
	success []int
	rule    retryRule
}

// The operations of the contract the client calls.
var (
	opCreateConnection = operation{"createExportConnection", http.MethodPost, "connections", false, []int{http.StatusCreated}, retryRateLimit}
	opGetConnection    = operation{"getExportConnection", http.MethodGet, "connections/*", false, []int{http.StatusOK}, retryIdempotent}
	opDeleteConnection = operation{"deleteExportConnection", http.MethodDelete, "connections/*", false, []int{http.StatusNoContent}, retryRateLimit}
	opListConnections  = operation{"getExportConnections", http.MethodGet, "connections", false, []int{http.StatusOK}, retryIdempotent}
	opCreateRun        = operation{"createExportConnectionRun", http.MethodPost, "connections/*/runs", false, []int{http.StatusAccepted, http.StatusSeeOther}, retryCreate}
	opGetRun           = operation{"getExportConnectionRun", http.MethodGet, "connections/*/runs/*", false, []int{http.StatusOK}, retryIdempotent}
	opListRuns         = operation{"getExportConnectionRuns", http.MethodGet, "connections/*/runs", false, []int{http.StatusOK}, retryIdempotent}
	opAuthorization    = operation{"getAuthorizationInformation", http.MethodGet, "authorizationinformation", false, []int{http.StatusOK}, retryIdempotent}
	opGetFile          = operation{"getFile", http.MethodGet, "files/*", true, []int{http.StatusOK}, retryIdempotent}
	opDownloadFile     = operation{"downloadFile", http.MethodGet, "files/*/download", true, []int{http.StatusFound}, retryIdempotent}
	// opDownloadContent is the blob request of a download (download_transfer.go):
	// not an API operation, named so in errors.
	opDownloadContent = operation{"downloadContent", http.MethodGet, "", false, []int{http.StatusOK, http.StatusPartialContent}, retryIdempotent}
)

// operations are the operations a request sent through API() is matched
// against, so that it is retried as the wrapper's own call would be.
var operations = []*operation{
	&opCreateConnection, &opGetConnection, &opDeleteConnection, &opListConnections,
	&opCreateRun, &opGetRun, &opListRuns, &opAuthorization, &opGetFile, &opDownloadFile,
	&opTopLevel, &opCreateFile, &opCompleteUpload, &opDeleteFile, // upload.go
}

// operationOf is the operation of a request that came through the
// pipeline's Do (from API(), or a generated client the wrapper calls): the
// contract's operation whose method and path it has, else one named by its
// method and path, retried as its method allows: POST and PATCH on 429 only
// (they may have taken effect), any other method also on 502, 503, 504 and
// connection failures.
func (c *Client) operationOf(req *http.Request) *operation {
	path := req.URL.EscapedPath()
	for _, op := range operations {
		base := c.base
		if op.storage {
			base = c.storage.url
		}
		if base == nil {
			continue // no Storage URL on the API's origin
		}
		if rel, ok := strings.CutPrefix(path, base.EscapedPath()+"/"); ok && op.method == req.Method && matchPath(op.path, rel) {
			return op
		}
	}
	rule := retryIdempotent
	if req.Method == http.MethodPost || req.Method == http.MethodPatch {
		rule = retryRateLimit
	}
	return &operation{name: req.Method + " " + path, method: req.Method, rule: rule}
}

// matchPath reports whether the relative path rel has the segments of
// template, where "*" matches one non-empty segment; the empty template is
// the base URL itself.
func matchPath(template, rel string) bool {
	if template == "" {
		return rel == ""
	}
	for rel != "" {
		t, tRest, tMore := strings.Cut(template, "/")
		r, rRest, rMore := strings.Cut(rel, "/")
		if tMore != rMore || r == "" || (t != "*" && t != r) {
			return false
		}
		if !tMore {
			return true
		}
		template, rel = tRest, rRest
	}
	return false
}

// call sends req, a request of op, through the client's pipeline (see
// received). err is the error of building req: it is returned, nothing sent.
func (c *Client) call(ctx context.Context, op *operation, req *http.Request, err error) (*exchange, error) {
	if err != nil {
		return nil, fmt.Errorf("%s: building the request: %w", op.name, err)
	}
	resp, err := c.pipe.send(ctx, op, req)
	return c.received(op, resp, err)
}

// received is the exchange of an answer the pipeline gave to a request of
// op, when its status is one the operation defines as success; any other
// status is an error (see unexpected).
func (c *Client) received(op *operation, resp *http.Response, err error) (*exchange, error) {
	if err != nil {
		return nil, err
	}
	x := resp.Body.(*responseBody).exchange()
	if !slices.Contains(op.success, x.status) {
		return nil, c.unexpected(x)
	}
	return x, nil
}

// get is the request the client makes to follow a Location or a paging
// link: a GET of u, a URL the client resolved and checked (see resolve),
// sent as it is, exact escaping included.
func get(u *url.URL) *http.Request {
	// An empty URL is not parsed at all: u goes in as it is.
	req, _ := http.NewRequest(http.MethodGet, "", nil)
	req.URL, req.Host = u, u.Host
	return req
}

// fetch is call for an answer whose body is an object with one member the
// operation promises: it returns that member decoded, and its JSON as sent.
// check, when not nil, vets the decoded value (see decodeMember).
func fetch[T any](ctx context.Context, c *Client, op *operation, req *http.Request, err error, member string, check func(*T) string) (*T, json.RawMessage, error) {
	x, err := c.call(ctx, op, req, err)
	if err != nil {
		return nil, nil, err
	}
	return decodeMember(c, x, member, check)
}
