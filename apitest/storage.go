package apitest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest/internal/storageserver"
)

// storagePath is where the Storage API lives on the server, beside the
// Export API, as on api.bentley.com.
const storagePath = "/storage"

// msgFileNotFound is the message of a 404 FileNotFound.
const msgFileNotFound = "Requested file is not available."

// storedFile is a file the Storage API serves: its metadata and a way to
// read its content. Content is made on demand (a run's IFC file) or read
// from what a test added, so the server holds no copy per download.
type storedFile struct {
	id, displayName, path string
	description, folderID string // set for uploaded files
	created               time.Time
	size                  int64
	content               contentSource
	uploaded              bool  // made by an upload (storage_upload.go)
	held                  int64 // bytes it counts against Options.UploadBytes
}

// files are the files added with AddFile and AddPatternFile, by id. Files
// that runs produce are not kept here: they are made from their run when
// asked for, so they live exactly as long as the run does.
type files struct {
	mu      sync.Mutex
	added   map[string]*storedFile
	uploads uploadState // folders and uploads (storage_upload.go)
}

// AddFile stores a file with the given display name and content in the
// Storage API and returns its id. The server keeps content (not a copy):
// do not change it afterwards. Remove it with RemoveFile when done.
func (s *Server) AddFile(displayName string, content []byte) string {
	return s.addFile(displayName, bytesSource(content))
}

// AddPatternFile stores a file of size bytes whose content is PatternByte(i)
// at each offset i, made as it is read: a file of any size costs no memory.
// It returns the file's id.
func (s *Server) AddPatternFile(displayName string, size int64) string {
	return s.addFile(displayName, patternSource(size))
}

// PatternByte is the byte at offset i of a file added with AddPatternFile.
func PatternByte(i int64) byte { return byte(i*7 + i>>11) }

// RemoveFile forgets a file added with AddFile or AddPatternFile.
func (s *Server) RemoveFile(id string) {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	s.removeFileLocked(id)
}

// removeFileLocked forgets an added or uploaded file and gives its bytes
// back; files.mu is held.
func (s *Server) removeFileLocked(id string) {
	if f, ok := s.files.added[id]; ok {
		s.files.uploads.bytes -= f.held
		delete(s.files.added, id)
	}
}

func (s *Server) addFile(displayName string, c contentSource) string {
	f := &storedFile{id: newGUID(), displayName: displayName, path: "/" + displayName,
		created: s.opts.Clock.Now().UTC(), size: c.size(), content: c}
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	if s.files.added == nil {
		s.files.added = map[string]*storedFile{}
	}
	s.files.added[f.id] = f
	return f.id
}

// findFile returns the file with the id: one added by a test, or the output
// of a completed run that put it in Storage. Nil when there is none.
func (s *Server) findFile(id string) *storedFile {
	s.files.mu.Lock()
	f := s.files.added[id]
	s.files.mu.Unlock()
	if f != nil {
		return f
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	for _, connID := range s.order {
		c := s.connections[connID]
		for _, r := range c.runs {
			if r.fileID == id && r.producesFile() && !r.activeAt(now, s.opts.StepDuration) {
				return r.outputFile(c.iModelID, endTime(r.created, s.opts.StepDuration))
			}
		}
	}
	return nil
}

// mountStorage routes the Storage operations, under /storage, on mux.
func (s *Server) mountStorage(mux *http.ServeMux) {
	storageserver.HandlerWithOptions(storageService{s: s}, storageserver.StdHTTPServerOptions{
		BaseURL:          storagePath,
		BaseRouter:       mux,
		ErrorHandlerFunc: storageParamError,
	})
}

// storageService implements the generated Storage server interface. An
// operation it does not model yet is answered 501 NotImplemented by the
// embedded Unimplemented.
type storageService struct {
	storageserver.Unimplemented
	s *Server
}

var _ storageserver.ServerInterface = storageService{}

// GetFile answers a file's metadata, or 404 FileNotFound.
func (h storageService) GetFile(w http.ResponseWriter, _ *http.Request, fileID api.FileID) {
	f := h.s.findFile(fileID)
	if f == nil {
		writeError(w, http.StatusNotFound, "FileNotFound", msgFileNotFound)
		return
	}
	writeJSON(w, http.StatusOK, api.StorageFileResponse{File: f.render()})
}

// DownloadFile answers 302 with a signed link to the file's content on the
// blob origin, or 404 FileNotFound.
func (h storageService) DownloadFile(w http.ResponseWriter, _ *http.Request, fileID api.FileID) {
	f := h.s.findFile(fileID)
	if f == nil {
		writeError(w, http.StatusNotFound, "FileNotFound", msgFileNotFound)
		return
	}
	link, err := h.s.blob.link(f, h.s.opts.Clock.Now())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", err.Error())
		return
	}
	w.Header().Set("Location", link)
	w.WriteHeader(http.StatusFound)
}

// render is the file as the Storage API shows it.
func (f *storedFile) render() api.StorageFile {
	created := f.created
	var parent *string
	if f.folderID != "" {
		parent = ptr(f.folderID)
	}
	return api.StorageFile{
		ID:                        f.id,
		DisplayName:               f.displayName,
		Description:               ptr(f.description),
		ParentFolderID:            parent,
		Path:                      ptr(f.path),
		Size:                      f.size,
		LastModifiedByDisplayName: ptr("itwin-export fake"),
		CreatedDateTime:           &created,
		LastModifiedDateTime:      &created,
	}
}

// storageContractRouter finds the Storage operation of a request in the
// part of openapi.yaml that the Storage server embeds, served under /storage.
var storageContractRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := storageserver.GetSpec()
	if err != nil {
		return nil, err
	}
	doc.Servers = openapi3.Servers{{URL: storagePath}}
	for _, item := range doc.Paths.Map() {
		item.Servers = nil // the router reads the document's servers only
	}
	return legacy.NewRouter(doc)
})

// findRoute finds the operation of a request in the contract: an Export
// operation under /export (router) or a Storage one under /storage.
func findRoute(router routers.Router, r *http.Request) (*routers.Route, map[string]string, error) {
	route, params, err := router.FindRoute(r)
	if err == nil {
		return route, params, nil
	}
	storage, serr := storageContractRouter()
	if serr != nil {
		return nil, nil, errors.Join(err, serr)
	}
	return storage.FindRoute(r)
}

// ifcOptions reads what a run's output depends on from a create-run body
// that passed validation: the IFC version, and whether the output goes to
// the caller's own blob container instead of Storage.
func ifcOptions(body []byte) (ifcVersion string, userBlob bool) {
	var req api.ExportConnectionRunCreate
	if json.Unmarshal(body, &req) != nil {
		return "", false
	}
	if req.IFCVersion != nil {
		ifcVersion = string(*req.IFCVersion)
	}
	if out := req.OutputOptions; out != nil && out.Location != nil {
		userBlob = *out.Location == api.LocationUSERBLOBSTORAGE
	}
	return ifcVersion, userBlob
}

// escapedName is a display name as a blob path segment.
func escapedName(name string) string { return url.PathEscape(name) }
