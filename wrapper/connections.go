package wrapper

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"

	"github.com/itwin-export/itwin-export/api"
)

// CreateConnection creates an export connection for an iModel. The request
// is validated locally first. Only 429 is retried: a create is not
// idempotent.
func (c *Client) CreateConnection(ctx context.Context, req api.ExportConnectionCreate) (*api.ExportConnection, error) {
	if err := ValidateConnectionRequest(req); err != nil {
		return nil, err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("createExportConnection: encoding the body: %w", err)
	}
	built, err := api.NewCreateExportConnectionRequestWithBody(c.baseURL+"/", nil, "application/json", nil)
	if err != nil {
		return nil, fmt.Errorf("createExportConnection: %w", err)
	}
	x, err := c.do(ctx, request{op: "createExportConnection", method: http.MethodPost, url: built.URL, body: body, rule: retryRateLimit})
	if err != nil {
		return nil, err
	}
	if x.status != http.StatusCreated {
		return nil, c.unexpected(x)
	}
	return c.decodeConnection(x)
}

// GetConnection gets one export connection.
func (c *Client) GetConnection(ctx context.Context, connectionID string) (*api.ExportConnection, error) {
	if err := validateIDs("connectionID", connectionID); err != nil {
		return nil, err
	}
	built, err := api.NewGetExportConnectionRequest(c.baseURL+"/", connectionID, nil)
	if err != nil {
		return nil, fmt.Errorf("getExportConnection: %w", err)
	}
	x, err := c.do(ctx, request{op: "getExportConnection", method: http.MethodGet, url: built.URL, rule: retryIdempotent})
	if err != nil {
		return nil, err
	}
	if x.status != http.StatusOK {
		return nil, c.unexpected(x)
	}
	return c.decodeConnection(x)
}

func (c *Client) decodeConnection(x *exchange) (*api.ExportConnection, error) {
	var body struct {
		Connection *api.ExportConnection `json:"connection"`
	}
	if err := c.decode(x, &body, func() string {
		if body.Connection == nil {
			return `no "connection" object`
		}
		return ""
	}); err != nil {
		return nil, err
	}
	return body.Connection, nil
}

// DeleteConnection deletes an export connection. A connection with an active
// run answers 409 (errors.Is ErrConflict). Only 429 is retried, so that a
// retry never turns a success into a 404.
func (c *Client) DeleteConnection(ctx context.Context, connectionID string) error {
	if err := validateIDs("connectionID", connectionID); err != nil {
		return err
	}
	built, err := api.NewDeleteExportConnectionRequest(c.baseURL+"/", connectionID, nil)
	if err != nil {
		return fmt.Errorf("deleteExportConnection: %w", err)
	}
	x, err := c.do(ctx, request{op: "deleteExportConnection", method: http.MethodDelete, url: built.URL, rule: retryRateLimit})
	if err != nil {
		return err
	}
	if x.status != http.StatusNoContent {
		return c.unexpected(x)
	}
	return nil
}

// Connections lists the export connections of an iModel, following
// _links.next across pages (whatever page size the API chooses). Iteration
// stops at the first error, which is yielded.
func (c *Client) Connections(ctx context.Context, iModelID string) iter.Seq2[api.ExportConnection, error] {
	if err := validateIDs("iModelID", iModelID); err != nil {
		return failed[api.ExportConnection](err)
	}
	first, err := api.NewGetExportConnectionsRequest(c.baseURL+"/", &api.GetExportConnectionsParams{ImodelID: iModelID})
	if err != nil {
		return failed[api.ExportConnection](err)
	}
	return listAll[api.ExportConnection](ctx, c, "getExportConnections", first.URL, "connections")
}

// failed is a listing that yields only err.
func failed[T any](err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		yield(zero, err)
	}
}

// listAll yields the items of a collection: the array named member of each
// page, following _links.next. Each link is resolved against the page that
// named it and checked like a Location; a link that repeats a page already
// fetched ends the listing with an error instead of looping.
func listAll[T any](ctx context.Context, c *Client, op string, first *url.URL, member string) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		seen := map[string]bool{}
		for u := first; u != nil; {
			if seen[u.String()] {
				yield(zero, &ResponseError{Operation: op, Method: http.MethodGet, URL: c.redactURL(u.String()),
					StatusCode: http.StatusOK, Reason: "_links.next repeats a page already listed", kind: ErrMalformedResponse})
				return
			}
			seen[u.String()] = true
			x, err := c.do(ctx, request{op: op, method: http.MethodGet, url: u, rule: retryIdempotent})
			if err != nil {
				yield(zero, err)
				return
			}
			if x.status != http.StatusOK {
				yield(zero, c.unexpected(x))
				return
			}
			var page struct {
				Items *[]T
				Links *api.PagingLinks `json:"_links"`
			}
			var raw map[string]json.RawMessage
			if err := c.decode(x, &raw, func() string {
				items, ok := raw[member]
				if !ok {
					return fmt.Sprintf("no %q array", member)
				}
				if err := json.Unmarshal(items, &page.Items); err != nil || page.Items == nil {
					return fmt.Sprintf("%q is not an array of items", member)
				}
				if links, ok := raw["_links"]; ok && json.Unmarshal(links, &page.Links) != nil {
					return `"_links" is not a links object`
				}
				return ""
			}); err != nil {
				yield(zero, err)
				return
			}
			for _, item := range *page.Items {
				if !yield(item, nil) {
					return
				}
			}
			u = nil
			if page.Links != nil && page.Links.Next != nil {
				if u, err = c.resolve(x.url, page.Links.Next.Href); err != nil {
					yield(zero, err)
					return
				}
			}
		}
	}
}

// AuthorizationInformation tells whether the service holds a refresh token
// for the calling user, which runs of User connections need. When
// IsUserAuthorized is false, send the user to Links.AuthorizationURL; the
// service sends them back to redirectURL, which must be an absolute URL.
func (c *Client) AuthorizationInformation(ctx context.Context, redirectURL string) (*api.AuthorizationInformation, error) {
	if u, err := url.Parse(redirectURL); err != nil || !u.IsAbs() || u.Host == "" {
		return nil, &ValidationError{Problems: []Problem{{Field: "redirectUrl", Message: "must be an absolute URL"}}}
	}
	built, err := api.NewGetAuthorizationInformationRequest(c.baseURL+"/", &api.GetAuthorizationInformationParams{RedirectURL: redirectURL})
	if err != nil {
		return nil, fmt.Errorf("getAuthorizationInformation: %w", err)
	}
	x, err := c.do(ctx, request{op: "getAuthorizationInformation", method: http.MethodGet, url: built.URL, rule: retryIdempotent})
	if err != nil {
		return nil, err
	}
	if x.status != http.StatusOK {
		return nil, c.unexpected(x)
	}
	var body struct {
		Info *api.AuthorizationInformation `json:"authorizationInformation"`
	}
	if err := c.decode(x, &body, func() string {
		if body.Info == nil {
			return `no "authorizationInformation" object`
		}
		return ""
	}); err != nil {
		return nil, err
	}
	return body.Info, nil
}
