package wrapper

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
)

// operation is what the client knows of one API operation: its name in the
// contract, its method, the statuses that mean success and which answers
// are retried.
type operation struct {
	name    string
	method  string
	success []int
	rule    retryRule
}

// The operations of the contract the client calls.
var (
	opCreateConnection = operation{"createExportConnection", http.MethodPost, []int{http.StatusCreated}, retryRateLimit}
	opGetConnection    = operation{"getExportConnection", http.MethodGet, []int{http.StatusOK}, retryIdempotent}
	opDeleteConnection = operation{"deleteExportConnection", http.MethodDelete, []int{http.StatusNoContent}, retryRateLimit}
	opListConnections  = operation{"getExportConnections", http.MethodGet, []int{http.StatusOK}, retryIdempotent}
	opCreateRun        = operation{"createExportConnectionRun", http.MethodPost, []int{http.StatusAccepted, http.StatusSeeOther}, retryCreate}
	opGetRun           = operation{"getExportConnectionRun", http.MethodGet, []int{http.StatusOK}, retryIdempotent}
	opListRuns         = operation{"getExportConnectionRuns", http.MethodGet, []int{http.StatusOK}, retryIdempotent}
	opAuthorization    = operation{"getAuthorizationInformation", http.MethodGet, []int{http.StatusOK}, retryIdempotent}
	opGetFile          = operation{"getFile", http.MethodGet, []int{http.StatusOK}, retryIdempotent}
	opDownloadFile     = operation{"downloadFile", http.MethodGet, []int{http.StatusFound}, retryIdempotent}
	// opDownloadContent is the blob request of a download (download_transfer.go):
	// not an API operation, named so in errors.
	opDownloadContent = operation{"downloadContent", http.MethodGet, []int{http.StatusOK, http.StatusPartialContent}, retryIdempotent}
)

// request is what one call sends: an operation, its URL (built by endpoint
// or checked by resolve) and an optional JSON body.
type request struct {
	op     operation
	url    *url.URL
	body   []byte
	accept []string // the Accept header's value; nil means acceptHeader
}

// newRequest is the request of op to u, with body (when not nil) as JSON.
func newRequest(op operation, u *url.URL, body any) (request, error) {
	r := request{op: op, url: u}
	if body != nil {
		var err error
		if r.body, err = json.Marshal(body); err != nil {
			return request{}, fmt.Errorf("%s: encoding the body: %w", op.name, err)
		}
	}
	return r, nil
}

// call sends r (retrying as its operation allows) and returns the exchange
// when its status is one the operation defines as success; any other status
// is an error (see unexpected).
func (c *Client) call(ctx context.Context, r request) (*exchange, error) {
	x, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(r.op.success, x.status) {
		return nil, c.unexpected(x)
	}
	return x, nil
}

// fetch is call for an answer whose body is an object with one member the
// operation promises: it returns that member decoded, and its JSON as sent.
// check, when not nil, vets the decoded value (see decodeMember).
func fetch[T any](ctx context.Context, c *Client, r request, member string, check func(*T) string) (*T, json.RawMessage, error) {
	x, err := c.call(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	return decodeMember(c, x, member, check)
}
