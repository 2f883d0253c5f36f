package apitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest/internal/exportserver"
)

// service implements the generated server interface on a Server's state.
// An operation of the contract it does not model yet is answered 501
// NotImplemented by the embedded Unimplemented.
type service struct {
	exportserver.Unimplemented
	s *Server
}

var _ exportserver.ServerInterface = service{}

// mayUse answers 403 and returns false when the request's token may not use
// the connection.
func (h service) mayUse(w http.ResponseWriter, r *http.Request, connectionID string) bool {
	if h.s.opts.MayUse == nil || h.s.opts.MayUse(tokenOf(r), connectionID) {
		return true
	}
	writeError(w, http.StatusForbidden, "InsufficientPermissions", msgInsufficient)
	return false
}

// page reads $top and $skip, answering 422 and returning ok false when they
// are out of range. $top defaults to 100 and is capped at 1000.
func page(w http.ResponseWriter, r *http.Request, top, skip *int32) (skipN, size int, ok bool) {
	size = 100
	if top != nil {
		if *top < 1 {
			invalidRequest(w, r, detail("InvalidValue", "Provided $top value is not valid; it must be at least 1.", "$top"))
			return 0, 0, false
		}
		size = min(int(*top), 1000)
	}
	if skip != nil {
		if *skip < 0 {
			invalidRequest(w, r, detail("InvalidValue", "Provided $skip value is not valid; it must not be negative.", "$skip"))
			return 0, 0, false
		}
		skipN = int(*skip)
	}
	return skipN, size, true
}

// paginate returns the page of items that skips skip and holds at most size,
// never nil.
func paginate[T any](items []T, skip, size int) []T {
	return append([]T{}, items[min(skip, len(items)):min(skip+size, len(items))]...)
}

// pagingLinks builds the self, prev and next links of a page. base is the
// absolute URL of the collection with its query so far ("...?imodelId=x&"
// or "...?").
func pagingLinks(base string, skip, size, total int) *api.PagingLinks {
	link := func(skip int) *api.Link {
		return &api.Link{Href: fmt.Sprintf("%s$skip=%d&$top=%d", base, skip, size)}
	}
	links := &api.PagingLinks{Self: link(skip)}
	if skip > 0 {
		links.Prev = link(max(skip-size, 0))
	}
	if skip+size < total {
		links.Next = link(skip + size)
	}
	return links
}

// CreateExportConnection creates a connection: 201 with it, 422 for a body
// that breaks the contract.
func (h service) CreateExportConnection(w http.ResponseWriter, r *http.Request) {
	body, details := readBody(r, connectionCreateBody)
	if len(details) > 0 {
		invalidRequest(w, r, details...)
		return
	}
	var create api.ExportConnectionCreate
	_ = json.Unmarshal(body, &create) // readBody has checked it
	h.s.mu.Lock()
	c := h.s.addConnectionLocked(create).render(h.s.origin)
	h.s.mu.Unlock()
	writeJSON(w, http.StatusCreated, api.ExportConnectionResponse{Connection: c})
}

// GetExportConnections lists the connections of an iModel that the token may
// use, a page at a time.
func (h service) GetExportConnections(w http.ResponseWriter, r *http.Request, params api.GetExportConnectionsParams) {
	if params.ImodelID == "" {
		invalidRequest(w, r, detail("MissingRequiredParameter", "imodelId was not provided.", "imodelId"))
		return
	}
	h.s.mu.Lock()
	var matching []api.ExportConnection
	for _, id := range h.s.order {
		if c := h.s.connections[id]; c.iModelID == params.ImodelID {
			matching = append(matching, c.render(h.s.origin))
		}
	}
	h.s.mu.Unlock()
	var all []api.ExportConnection // MayUse is called without the lock held
	for _, c := range matching {
		if h.s.opts.MayUse == nil || h.s.opts.MayUse(tokenOf(r), c.ID) {
			all = append(all, c)
		}
	}
	skip, size, ok := page(w, r, params.Top, params.Skip)
	if !ok {
		return
	}
	base := h.s.origin + basePath + "/connections?imodelId=" + url.QueryEscape(params.ImodelID) + "&"
	writeJSON(w, http.StatusOK, api.ExportConnectionsResponse{
		Connections: paginate(all, skip, size),
		Links:       pagingLinks(base, skip, size, len(all)),
	})
}

// DeleteExportConnection deletes a connection: 204, or 409 while it has an
// active run.
func (h service) DeleteExportConnection(w http.ResponseWriter, r *http.Request, connectionID api.ConnectionID) {
	if !h.mayUse(w, r, connectionID) {
		return
	}
	s := h.s
	s.mu.Lock()
	c := s.connections[connectionID]
	if c == nil {
		s.mu.Unlock()
		connectionNotFound(w)
		return
	}
	if last := c.lastRun(); last != nil && last.activeAt(s.opts.Clock.Now(), s.opts.StepDuration) {
		s.mu.Unlock()
		writeError(w, http.StatusConflict, "ConnectionAlreadyInUse", msgInUse)
		return
	}
	s.forgetConnectionLocked(connectionID)
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// GetExportConnection answers one connection.
func (h service) GetExportConnection(w http.ResponseWriter, r *http.Request, connectionID api.ConnectionID) {
	if !h.mayUse(w, r, connectionID) {
		return
	}
	h.s.mu.Lock()
	c := h.s.connections[connectionID]
	var conn api.ExportConnection
	if c != nil {
		conn = c.render(h.s.origin)
	}
	h.s.mu.Unlock()
	if c == nil {
		connectionNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, api.ExportConnectionResponse{Connection: conn})
}

// GetExportConnectionRuns lists the runs of a connection, oldest first, a
// page at a time.
func (h service) GetExportConnectionRuns(w http.ResponseWriter, r *http.Request, connectionID api.ConnectionID, params api.GetExportConnectionRunsParams) {
	if !h.mayUse(w, r, connectionID) {
		return
	}
	s := h.s
	s.mu.Lock()
	c := s.connections[connectionID]
	var all []api.ExportRun
	if c != nil {
		now := s.opts.Clock.Now()
		for _, run := range c.runs {
			all = append(all, run.render(c.id, now, s.opts.StepDuration))
		}
	}
	s.mu.Unlock()
	if c == nil {
		connectionNotFound(w)
		return
	}
	skip, size, ok := page(w, r, params.Top, params.Skip)
	if !ok {
		return
	}
	base := h.s.origin + basePath + "/connections/" + url.PathEscape(connectionID) + "/runs?"
	writeJSON(w, http.StatusOK, api.ExportRunsResponse{
		Runs:  paginate(all, skip, size),
		Links: pagingLinks(base, skip, size, len(all)),
	})
}

// CreateExportConnectionRun starts a run: 202 with its Location; 303 to the
// iModel's active run when there is one, whichever of the iModel's
// connections created it; 409 within the processing window of the iModel's
// last accepted create; 422 for a body that breaks the contract.
func (h service) CreateExportConnectionRun(w http.ResponseWriter, r *http.Request, connectionID api.ConnectionID) {
	if !h.mayUse(w, r, connectionID) {
		return
	}
	body, details := readBody(r, runCreateBody)
	if len(details) > 0 {
		invalidRequest(w, r, details...)
		return
	}
	s := h.s
	// Looked up before s.mu is taken: findFile takes it after the files' lock.
	mappingFile := mappingFileOf(body)
	mappingMissing := mappingFile != "" && s.findFile(mappingFile) == nil
	s.mu.Lock()
	c := s.connections[connectionID]
	if c == nil {
		s.mu.Unlock()
		connectionNotFound(w)
		return
	}
	now := s.opts.Clock.Now()
	last, owner := s.lastIModelRunLocked(c.iModelID)
	switch {
	case last != nil && now.Sub(last.created) < s.opts.ProcessingWindow:
		s.mu.Unlock()
		writeError(w, http.StatusConflict, "ConflictWithAnotherIModelRequest", msgConflict)
		return
	case last != nil && last.activeAt(now, s.opts.StepDuration):
		s.mu.Unlock()
		h.redirect(w, r, http.StatusSeeOther, owner.id, last.id)
		return
	}
	outcome, ok := s.outcomes[connectionID]
	if !ok {
		outcome = s.opts.DefaultOutcome
	}
	outcome = s.runOutcome(r, c.authType, outcome)
	if mappingMissing && outcome != outcomeUserNotAuthorized {
		outcome = outcomeMappingFileNotFound
	}
	run := &run{id: newID(16), jobID: newID(16), taskID: newID(16), fileID: newGUID(), created: now, outcome: outcome, mappingFileID: mappingFile}
	run.ifcVersion, run.userBlob = ifcOptions(body)
	s.addRunLocked(c, run)
	s.mu.Unlock()
	h.redirect(w, r, http.StatusAccepted, connectionID, run.id)
}

// redirect answers status with the Location of a run and no body.
func (h service) redirect(w http.ResponseWriter, r *http.Request, status int, connectionID, runID string) {
	location := runPath(connectionID, runID)
	if h.s.opts.AbsoluteLocation {
		location = h.s.origin + location
	}
	w.Header().Set("Location", location)
	w.WriteHeader(status)
}

// GetExportConnectionRun answers one run of a connection.
func (h service) GetExportConnectionRun(w http.ResponseWriter, r *http.Request, connectionID api.ConnectionID, runID string) {
	if !h.mayUse(w, r, connectionID) {
		return
	}
	s := h.s
	s.mu.Lock()
	c := s.connections[connectionID]
	var found *run
	var out api.ExportRun
	if c != nil {
		if found = c.findRun(runID); found != nil {
			out = found.render(c.id, s.opts.Clock.Now(), s.opts.StepDuration)
		}
	}
	s.mu.Unlock()
	switch {
	case c == nil:
		connectionNotFound(w)
	case found == nil:
		writeError(w, http.StatusNotFound, "RunNotFound", msgRunNotFound)
	default:
		writeJSON(w, http.StatusOK, api.ExportRunResponse{Run: out})
	}
}

// GetAuthorizationInformation tells whether the user is authorized and where
// to authorize.
func (h service) GetAuthorizationInformation(w http.ResponseWriter, r *http.Request, params api.GetAuthorizationInformationParams) {
	u, err := url.Parse(params.RedirectURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		invalidRequest(w, r, detail("InvalidValue", "redirectUrl must be a valid URL.", "$redirectUrl"))
		return
	}
	authorized := h.s.userAuthorized(r)
	writeJSON(w, http.StatusOK, api.AuthorizationInformationResponse{
		AuthorizationInformation: api.AuthorizationInformation{
			IsUserAuthorized: &authorized,
			Links: &api.AuthorizationInformationLinks{AuthorizationURL: &api.Link{
				Href: h.s.authorizationURL(r, params.RedirectURL),
			}},
		},
	})
}
