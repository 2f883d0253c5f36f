package apitest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/itwin-export/itwin-export/api"
)

// connection is an export connection as the server keeps it.
type connection struct {
	id          string
	displayName *string
	iModelID    string
	iTwinID     string
	authType    api.AuthenticationType
	runs        []*run // oldest first
}

// run is a run as the server keeps it: its state follows from the time since
// it was created, so nothing needs to move it along.
type run struct {
	id, jobID, taskID, fileID string
	created                   time.Time
	outcome                   Outcome
	ifcVersion                string // as the create body named it, "" when absent
	userBlob                  bool   // the output went to the caller's blob container
	mappingFileID             string // inputOptions.mappingFileId, "" when absent
}

// runStates are the states a run goes through, one per step.
var runStates = []api.ExecutionState{
	api.ExecutionStateNotStarted,
	api.ExecutionStateQueued,
	api.ExecutionStateWaitingToExecute,
	api.ExecutionStateExecuting,
	api.ExecutionStateFinalizing,
	api.ExecutionStateCompleted,
}

// endTime is when a run created at created completes.
func endTime(created time.Time, step time.Duration) time.Time {
	return created.Add(time.Duration(len(runStates)-1) * step)
}

// activeAt reports whether the run is still active (not Completed) at now.
func (r *run) activeAt(now time.Time, step time.Duration) bool {
	return now.Before(endTime(r.created, step))
}

// newID returns n random bytes in hex.
func newID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newGUID returns a random GUID-like id (version 4 UUID).
func newGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// iTwinOf is the iTwin an iModel belongs to: a GUID derived from the
// iModel's id, so that every connection of one iModel names the same iTwin
// (an iModel belongs to one iTwin) and nothing has to be remembered.
func iTwinOf(iModelID string) string {
	b := sha256.Sum256([]byte("apitest iTwin of iModel\x00" + iModelID))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// addConnectionLocked stores a new connection made from c; s.mu is held.
func (s *Server) addConnectionLocked(c api.ExportConnectionCreate) *connection {
	conn := &connection{
		id:          newGUID(),
		displayName: c.DisplayName,
		iModelID:    c.IModelID,
		iTwinID:     iTwinOf(c.IModelID),
		authType:    api.AuthenticationTypeUser,
	}
	if c.AuthenticationType != nil {
		conn.authType = *c.AuthenticationType
	}
	s.connections[conn.id] = conn
	s.order = append(s.order, conn.id)
	s.connBytes += conn.size()
	s.trimConnectionsLocked()
	return conn
}

// lastRun returns the connection's newest run, or nil.
func (c *connection) lastRun() *run {
	if len(c.runs) == 0 {
		return nil
	}
	return c.runs[len(c.runs)-1]
}

// lastIModelRunLocked returns the run created last for the iModel, by any
// of its connections, and that connection; nil when there is none. The API
// keeps one active run per iModel. s.mu is held.
func (s *Server) lastIModelRunLocked(iModelID string) (*run, *connection) {
	var last *run
	var owner *connection
	for _, id := range s.order {
		c := s.connections[id]
		if c.iModelID != iModelID {
			continue
		}
		if r := c.lastRun(); r != nil && (last == nil || r.created.After(last.created)) {
			last, owner = r, c
		}
	}
	return last, owner
}

// findRun returns the connection's run with the id, or nil.
func (c *connection) findRun(id string) *run {
	for _, r := range c.runs {
		if r.id == id {
			return r
		}
	}
	return nil
}

// runPath is the escaped path of a run on the server.
func runPath(connectionID, runID string) string {
	return basePath + "/connections/" + url.PathEscape(connectionID) + "/runs/" + url.PathEscape(runID)
}

// render returns the connection as the API shows it. origin is the scheme and
// host the lastRun link starts with; without it the link is left out.
func (c *connection) render(origin string) api.ExportConnection {
	links := &api.ExportConnectionLinks{
		IModel: &api.Link{Href: "https://api.bentley.com/imodels/" + url.PathEscape(c.iModelID)},
		ITwin:  &api.Link{Href: "https://api.bentley.com/itwins/" + url.PathEscape(c.iTwinID)},
	}
	if last := c.lastRun(); last != nil && origin != "" {
		links.LastRun = &api.Link{Href: origin + runPath(c.id, last.id)}
	}
	return api.ExportConnection{
		ID:                 c.id,
		DisplayName:        deref(c.displayName),
		IModelID:           c.iModelID,
		ITwinID:            c.iTwinID,
		AuthenticationType: c.authType,
		Links:              links,
	}
}

// taskError is the task error of the reference example.
func taskError() *api.TaskError {
	return &api.TaskError{
		ErrorCode:      ptr("TAE_BRW_1000"),
		Message:        ptr("Failed to orchestrate file processing."),
		Details:        ptr("Error exit code received from bridge wrapper. Details from wrapper: ''."),
		BridgeExitCode: ptr(int64(-7002)),
		System:         ptr("Exporter"),
		Phase:          ptr("export_file"),
		Category:       ptr("other"),
		DescriptionKey: ptr("FailedToExport"),
		Description:    ptr("Failed to export your file."),
		KbArticleLink:  ptr(""),
		CanUserFix:     ptr(false),
	}
}

// render returns the run of connection connectionID as the API shows it at now.
func (r *run) render(connectionID string, now time.Time, step time.Duration) api.ExportRun {
	i := 0
	if elapsed := now.Sub(r.created); elapsed > 0 {
		i = min(int(elapsed/step), len(runStates)-1)
	}
	state := runStates[i]
	start := r.created.UTC()
	var end *time.Time
	result := api.ExecutionResultUndetermined
	taskResult := api.ExecutionResultUndetermined
	task := api.ExportTask{
		ID:            r.taskID,
		StartDateTime: &start,
		RetryAttempts: ptr(int32(0)),
		State:         state,
	}
	if state == api.ExecutionStateCompleted {
		end = ptr(endTime(r.created, step).UTC())
		task.EndDateTime = end
		switch r.outcome {
		case OutcomePartialSuccess:
			// As in the reference example: the task made its file and
			// reports an error; the run and job are PartialSuccess.
			result, taskResult = api.ExecutionResultPartialSuccess, api.ExecutionResultSuccess
			task.ExportOutputFileID = r.fileID
			task.Error = taskError()
		case OutcomeError:
			result, taskResult = api.ExecutionResultError, api.ExecutionResultError
			task.Error = taskError()
		case outcomeUserNotAuthorized:
			result, taskResult = api.ExecutionResultError, api.ExecutionResultError
			task.Error = userNotAuthorizedError()
		case outcomeMappingFileNotFound:
			result, taskResult = api.ExecutionResultError, api.ExecutionResultError
			task.Error = mappingFileNotFoundError(r.mappingFileID)
		default:
			result, taskResult = api.ExecutionResultSuccess, api.ExecutionResultSuccess
			task.ExportOutputFileID = r.fileID
		}
	}
	if r.userBlob {
		task.ExportOutputFileID = "" // the file went to the caller's container
	}
	task.Result = taskResult
	job := api.ExportJob{
		ID:            r.jobID,
		StartDateTime: &start,
		EndDateTime:   end,
		State:         state,
		Result:        result,
		Tasks:         []api.ExportTask{task},
	}
	return api.ExportRun{
		ID:            r.id,
		ConnectionID:  connectionID,
		StartDateTime: &start,
		EndDateTime:   end,
		State:         state,
		Result:        result,
		Jobs:          []api.ExportJob{job},
	}
}

// ptr returns a pointer to a copy of v.
func ptr[T any](v T) *T { return &v }

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
