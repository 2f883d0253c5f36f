package wrapper

import (
	"context"
	"iter"
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
	r, err := api.NewCreateExportConnectionRequest(c.server, req)
	conn, _, err := fetch[api.ExportConnection](ctx, c, &opCreateConnection, r, err, "connection", nil)
	return conn, err
}

// GetConnection gets one export connection.
func (c *Client) GetConnection(ctx context.Context, connectionID string) (*api.ExportConnection, error) {
	if err := validateIDs("connectionID", connectionID); err != nil {
		return nil, err
	}
	r, err := api.NewGetExportConnectionRequest(c.server, connectionID)
	conn, _, err := fetch[api.ExportConnection](ctx, c, &opGetConnection, r, err, "connection", nil)
	return conn, err
}

// DeleteConnection deletes an export connection. A connection with an active
// run answers 409 (errors.Is ErrConflict). Only 429 is retried, so that a
// retry never turns a success into a 404.
func (c *Client) DeleteConnection(ctx context.Context, connectionID string) error {
	if err := validateIDs("connectionID", connectionID); err != nil {
		return err
	}
	r, err := api.NewDeleteExportConnectionRequest(c.server, connectionID)
	_, err = c.call(ctx, &opDeleteConnection, r, err)
	return err
}

// Connections lists the export connections of an iModel, following
// _links.next across pages (whatever page size the API chooses). Iteration
// stops at the first error, which is yielded.
func (c *Client) Connections(ctx context.Context, iModelID string) iter.Seq2[api.ExportConnection, error] {
	if err := validateIDs("iModelID", iModelID); err != nil {
		return failed[api.ExportConnection](err)
	}
	first, err := api.NewGetExportConnectionsRequest(c.server, &api.GetExportConnectionsParams{ImodelID: iModelID})
	return listAll[api.ExportConnection](ctx, c, &opListConnections, first, err, "connections")
}

// AuthorizationInformation tells whether the service holds a refresh token
// for the calling user, which runs of User connections need. When
// IsUserAuthorized is false, send the user to Links.AuthorizationURL; the
// service sends them back to redirectURL, which must be an absolute URL.
func (c *Client) AuthorizationInformation(ctx context.Context, redirectURL string) (*api.AuthorizationInformation, error) {
	if u, err := url.Parse(redirectURL); err != nil || !u.IsAbs() || u.Host == "" {
		return nil, &ValidationError{Problems: []Problem{{Field: "redirectUrl", Message: "must be an absolute URL"}}}
	}
	r, err := api.NewGetAuthorizationInformationRequest(c.server, &api.GetAuthorizationInformationParams{RedirectURL: redirectURL})
	info, _, err := fetch[api.AuthorizationInformation](ctx, c, &opAuthorization, r, err, "authorizationInformation", nil)
	return info, err
}
