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
	return func(yield func(api.ExportConnection, error) bool) {
		if err := validateIDs("iModelID", iModelID); err != nil {
			yield(api.ExportConnection{}, err)
			return
		}
		first, err := api.NewGetExportConnectionsRequest(c.baseURL+"/", &api.GetExportConnectionsParams{ImodelID: iModelID})
		if err != nil {
			yield(api.ExportConnection{}, err)
			return
		}
		for page, err := range c.pages(ctx, "getExportConnections", first.URL) {
			if err != nil {
				yield(api.ExportConnection{}, err)
				return
			}
			var body struct {
				Connections *[]api.ExportConnection `json:"connections"`
				Links       *api.PagingLinks        `json:"_links"`
			}
			if err := c.decode(page.x, &body, func() string {
				if body.Connections == nil {
					return `no "connections" array`
				}
				return ""
			}); err != nil {
				yield(api.ExportConnection{}, err)
				return
			}
			page.next(body.Links)
			for _, conn := range *body.Connections {
				if !yield(conn, nil) {
					return
				}
			}
		}
	}
}

// page is one page of a collection; next records the link to the following
// page.
type page struct {
	x    *exchange
	link string
}

func (p *page) next(links *api.PagingLinks) {
	if links != nil && links.Next != nil {
		p.link = links.Next.Href
	}
}

// pages GETs first, then every _links.next the caller records, each resolved
// against the page that named it and checked like a Location. A link that
// repeats a page already fetched ends the listing with an error instead of
// looping.
func (c *Client) pages(ctx context.Context, op string, first *url.URL) iter.Seq2[*page, error] {
	return func(yield func(*page, error) bool) {
		seen := map[string]bool{}
		u := first
		for u != nil {
			if seen[u.String()] {
				yield(nil, &ResponseError{Operation: op, Method: http.MethodGet, URL: RedactURL(u.String()),
					StatusCode: http.StatusOK, Reason: "_links.next repeats a page already listed", kind: ErrMalformedResponse})
				return
			}
			seen[u.String()] = true
			x, err := c.do(ctx, request{op: op, method: http.MethodGet, url: u, rule: retryIdempotent})
			if err != nil {
				yield(nil, err)
				return
			}
			if x.status != http.StatusOK {
				yield(nil, c.unexpected(x))
				return
			}
			p := &page{x: x}
			if !yield(p, nil) {
				return
			}
			u = nil
			if p.link != "" {
				if u, err = c.resolve(x.url, p.link); err != nil {
					yield(nil, err)
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
