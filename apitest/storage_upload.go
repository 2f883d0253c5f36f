package apitest

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest/internal/storageserver"
)

// The fake's model of uploads (iTwin Storage's "create file", a PUT of the
// content to a blob link, "complete file upload"):
//
//   - Every iTwin exists and has a root folder, made on first use (GET
//     /storage/?iTwinId= or Server.RootFolder); at most maxRootFolders are
//     kept, the oldest forgotten beyond (its id then answers 404
//     FolderNotFound). Any other folder id answers 404 FolderNotFound.
//   - POST /storage/folders/{id}/files answers 202 with an uploadUrl on the
//     blob origin (a write SAS: sp=cw, valid for an hour on the Clock) and a
//     completeUrl. At most maxPendingUploads files wait for their content at
//     once; beyond, the oldest is forgotten.
//   - The blob origin takes Put Blob (PUT with x-ms-blob-type: BlockBlob),
//     Put Block (comp=block&blockid=ID) and Put Block List (comp=blocklist);
//     like Azure it refuses a request that also carries Authorization (400)
//     and a Put Blob without x-ms-blob-type (400 MissingRequiredHeader).
//   - POST /storage/files/{id}/complete answers 200 with the file once
//     content was committed, 409 FileNotUploaded before. From then on the
//     file is served like one added with AddFile.
//   - Memory: the content of files being uploaded and of uploaded files
//     counts against Options.UploadBytes (DefaultUploadBytes); a PUT that
//     would go beyond it is refused with Azure's 413 RequestBodyTooLarge and
//     stores nothing. Deleting a file (DELETE /storage/files/{id}, or
//     RemoveFile) gives its bytes back.
//   - A run whose inputOptions.mappingFileId names no file the fake serves
//     (added, uploaded and completed, or a run's output) is accepted (202),
//     as the service checks its inputs while processing, and ends with
//     result Error and a task error MappingFileNotFound.

// DefaultUploadBytes is how many bytes of uploaded content a Server keeps
// when Options.UploadBytes is 0.
const DefaultUploadBytes = 64 << 20

const (
	// maxRootFolders is how many iTwins' root folders the fake remembers.
	maxRootFolders = 10000
	// maxPendingUploads is how many created files may wait for their content.
	maxPendingUploads = 1000
	// maxBlocks is the most uncommitted blocks a blob may have, as on Azure.
	maxBlocks = 100000
	// maxBlockIDBytes is the longest block id (decoded), as on Azure.
	maxBlockIDBytes = 64
	// maxCreateBody is the largest create-file body read: with
	// maxPendingUploads, it bounds the metadata of files being uploaded.
	maxCreateBody = 8 << 10
	// blockOverhead is what each uncommitted block costs beyond its bytes
	// and id, counted against the budget so that many tiny blocks cannot
	// hold more memory than it allows.
	blockOverhead = 64
)

// Azure's words for the refusals of uploads.
const (
	msgMissingHeader = "An HTTP header that's mandatory for this request is not specified."
	msgBadHeader     = "The value for one of the HTTP headers is not in the correct format."
	msgTooLarge      = "The request body is too large and exceeds the maximum permissible limit."
	msgBadBlock      = "The specified blob or block content is invalid."
	msgBadBlockList  = "The specified block list is invalid."
	msgBadQuery      = "The value for one of the HTTP query parameters is not in the correct format."
	msgNoLength      = "Content-Length HTTP header is required."
)

// Messages of the Storage API's refusals of uploads.
const (
	msgFolderNotFound = "Requested folder is not available."
	msgNotUploaded    = "The file's content was not uploaded."
)

// uploadState is what the Storage API keeps for uploads: root folders by
// iTwin, files waiting for their content, and the bytes held. It is guarded
// by files.mu.
type uploadState struct {
	roots     map[string]string // iTwin id -> root folder id
	rootOrder []string          // iTwin ids, oldest first
	folders   map[string]string // root folder id -> iTwin id
	pending   map[string]*pendingFile
	order     []string // pending file ids, oldest first
	bytes     int64    // content held: pending blobs and blocks, uploaded files
}

// pendingFile is a created file whose upload is not complete.
type pendingFile struct {
	id, folderID, displayName, description string
	created                                time.Time
	blob                                   [][]byte          // committed content; nil: none yet
	blobSize                               int64             // bytes in blob
	blocks                                 map[string][]byte // uncommitted blocks by id
	blockBytes                             int64
	idLength                               int // length of the block ids, once one was put
}

// held is what the pending file counts against the budget.
func (p *pendingFile) held() int64 { return p.blobSize + p.blockBytes }

// uploadBudget is the server's byte budget for uploads.
func (s *Server) uploadBudget() int64 {
	if s.opts.UploadBytes == 0 {
		return DefaultUploadBytes
	}
	return max(s.opts.UploadBytes, 0)
}

// RootFolder returns the id of the root folder of an iTwin's Storage, the
// folder where files are created at the top level.
func (s *Server) RootFolder(iTwinID string) string {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	return s.rootFolderLocked(iTwinID)
}

// rootFolderLocked returns (making it on first use) the root folder of an
// iTwin; files.mu is held.
func (s *Server) rootFolderLocked(iTwinID string) string {
	u := &s.files.uploads
	if id, ok := u.roots[iTwinID]; ok {
		return id
	}
	if u.roots == nil {
		u.roots, u.folders = map[string]string{}, map[string]string{}
	}
	if len(u.rootOrder) >= maxRootFolders {
		oldest := u.rootOrder[0]
		u.rootOrder = u.rootOrder[1:]
		delete(u.folders, u.roots[oldest])
		delete(u.roots, oldest)
	}
	id := newID(16)
	u.roots[iTwinID], u.folders[id] = id, iTwinID
	u.rootOrder = append(u.rootOrder, iTwinID)
	return id
}

// UploadedBytes returns how many bytes of uploaded content the server holds
// (files being uploaded and uploaded files), which Options.UploadBytes
// bounds.
func (s *Server) UploadedBytes() int64 {
	s.files.mu.Lock()
	defer s.files.mu.Unlock()
	return s.files.uploads.bytes
}

// GetTopLevelFoldersAndFiles answers the root of an iTwin's Storage: the
// uploaded files of its root folder, and _links.folder naming that folder.
func (h storageService) GetTopLevelFoldersAndFiles(w http.ResponseWriter, r *http.Request, params api.GetTopLevelFoldersAndFilesParams) {
	skip, size, ok := page(w, r, params.Top, params.Skip)
	if !ok {
		return
	}
	s := h.s
	s.files.mu.Lock()
	root := s.rootFolderLocked(params.ITwinID)
	var items []api.StorageItem
	for _, f := range s.files.added {
		if f.folderID == root {
			items = append(items, f.item())
		}
	}
	s.files.mu.Unlock()
	slices.SortFunc(items, func(a, b api.StorageItem) int { return strings.Compare(a.DisplayName, b.DisplayName) })
	base := s.origin + storagePath + "/?iTwinId=" + url.QueryEscape(params.ITwinID)
	paging := pagingLinks(base, skip, size, len(items))
	links := api.StorageItemsLinks{Self: paging.Self, Prev: paging.Prev, Next: paging.Next,
		Folder: &api.Link{Href: s.origin + storagePath + "/folders/" + url.PathEscape(root)}}
	writeJSON(w, http.StatusOK, api.StorageItemsResponse{Items: orEmpty(paginate(items, skip, size)), Links: links})
}

// orEmpty is items, or an empty list (never JSON null).
func orEmpty[T any](items []T) []T {
	if items == nil {
		return []T{}
	}
	return items
}

// item is the file as a listing shows it.
func (f *storedFile) item() api.StorageItem {
	rendered := f.render()
	return api.StorageItem{Type: api.StorageItemTypeFile, ID: rendered.ID, DisplayName: rendered.DisplayName,
		Description: rendered.Description, Path: rendered.Path, Size: &rendered.Size,
		LastModifiedByDisplayName: rendered.LastModifiedByDisplayName, CreatedDateTime: rendered.CreatedDateTime,
		LastModifiedDateTime: rendered.LastModifiedDateTime, ParentFolderID: rendered.ParentFolderID}
}

// CreateFile creates a file's metadata in a folder: 202 with its upload and
// complete links; 404 FolderNotFound; 422 InvalidCreateFileRequest.
func (h storageService) CreateFile(w http.ResponseWriter, r *http.Request, folderID api.FolderID) {
	s := h.s
	var body api.StorageFileCreate
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxCreateBody+1))
	switch {
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, "InvalidCreateFileRequest", "Cannot create file.", detail("InvalidRequestBody", "Request body could not be read.", ""))
		return
	case len(raw) > maxCreateBody:
		writeError(w, http.StatusUnprocessableEntity, "InvalidCreateFileRequest", "Cannot create file.", detail("InvalidRequestBody", "Request body is too large.", ""))
		return
	case json.Unmarshal(raw, &body) != nil:
		writeError(w, http.StatusUnprocessableEntity, "InvalidCreateFileRequest", "Cannot create file.", detail("InvalidRequestBody", "Request body is not a JSON object.", ""))
		return
	case strings.TrimSpace(body.DisplayName) == "":
		writeError(w, http.StatusUnprocessableEntity, "InvalidCreateFileRequest", "Cannot create file.", detail("MissingRequiredProperty", "displayName is missing.", "displayName"))
		return
	}
	s.files.mu.Lock()
	u := &s.files.uploads
	if _, ok := u.folders[folderID]; !ok {
		s.files.mu.Unlock()
		writeError(w, http.StatusNotFound, "FolderNotFound", msgFolderNotFound)
		return
	}
	p := &pendingFile{id: newGUID(), folderID: folderID, displayName: body.DisplayName, created: s.opts.Clock.Now().UTC()}
	if body.Description != nil {
		p.description = *body.Description
	}
	if u.pending == nil {
		u.pending = map[string]*pendingFile{}
	}
	if len(u.order) >= maxPendingUploads {
		s.forgetPendingLocked(u.order[0])
	}
	u.pending[p.id] = p
	u.order = append(u.order, p.id)
	s.files.mu.Unlock()

	link, err := s.blob.uploadLink(p, s.opts.Clock.Now())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "ServiceUnavailable", err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, api.StorageFileUpload{Links: api.StorageFileUploadLinks{
		UploadURL:   api.Link{Href: link},
		CompleteURL: api.Link{Href: s.origin + storagePath + "/files/" + url.PathEscape(p.id) + "/complete"},
	}})
}

// forgetPendingLocked drops a pending file and gives its bytes back;
// files.mu is held.
func (s *Server) forgetPendingLocked(id string) {
	u := &s.files.uploads
	if p, ok := u.pending[id]; ok {
		u.bytes -= p.held()
		delete(u.pending, id)
	}
	if i := slices.Index(u.order, id); i >= 0 {
		u.order = slices.Delete(u.order, i, i+1)
	}
}

// CompleteFileUpload makes a pending file whose content was committed a
// stored file: 200 with it; 409 FileNotUploaded before its content; 404
// FileNotFound. Completing a completed file answers it again.
func (h storageService) CompleteFileUpload(w http.ResponseWriter, _ *http.Request, fileID api.FileID) {
	s := h.s
	s.files.mu.Lock()
	p := s.files.uploads.pending[fileID]
	switch {
	case p == nil:
		f := s.files.added[fileID]
		s.files.mu.Unlock()
		if f == nil || !f.uploaded {
			writeError(w, http.StatusNotFound, "FileNotFound", msgFileNotFound)
			return
		}
		writeJSON(w, http.StatusOK, api.StorageFileResponse{File: f.render()})
		return
	case p.blob == nil:
		s.files.mu.Unlock()
		writeError(w, http.StatusConflict, "FileNotUploaded", msgNotUploaded)
		return
	}
	// The blob's bytes stay counted: they now belong to the stored file.
	held := p.blobSize
	s.files.uploads.bytes -= p.blockBytes
	p.blockBytes, p.blocks = 0, nil
	delete(s.files.uploads.pending, fileID)
	if i := slices.Index(s.files.uploads.order, fileID); i >= 0 {
		s.files.uploads.order = slices.Delete(s.files.uploads.order, i, i+1)
	}
	f := &storedFile{id: p.id, displayName: p.displayName, description: p.description, path: "/" + p.displayName,
		folderID: p.folderID, created: p.created, size: p.blobSize, content: chunksSource(p.blob), uploaded: true, held: held}
	if s.files.added == nil {
		s.files.added = map[string]*storedFile{}
	}
	s.files.added[f.id] = f
	s.files.mu.Unlock()
	writeJSON(w, http.StatusOK, api.StorageFileResponse{File: f.render()})
}

// DeleteFile deletes a file added by a test, uploaded, or being uploaded:
// 204, its bytes given back; 404 FileNotFound. A run's output file is made
// from its run and stays while the run does: deleting it answers 204 and
// changes nothing.
func (h storageService) DeleteFile(w http.ResponseWriter, _ *http.Request, fileID api.FileID) {
	s := h.s
	s.files.mu.Lock()
	_, pending := s.files.uploads.pending[fileID]
	_, added := s.files.added[fileID]
	switch {
	case pending:
		s.forgetPendingLocked(fileID)
	case added:
		s.removeFileLocked(fileID)
	}
	s.files.mu.Unlock()
	if !pending && !added && s.findFile(fileID) == nil {
		writeError(w, http.StatusNotFound, "FileNotFound", msgFileNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// chunksSource is content held as the pieces it was uploaded in (the
// blocks of a block list), read without joining them.
type chunksSource [][]byte

func (c chunksSource) size() int64 {
	var n int64
	for _, b := range c {
		n += int64(len(b))
	}
	return n
}

func (c chunksSource) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	n := 0
	for _, b := range c {
		if off >= int64(len(b)) {
			off -= int64(len(b))
			continue
		}
		m := copy(p[n:], b[off:])
		n += m
		off = 0
		if n == len(p) {
			return n, nil
		}
	}
	return n, io.EOF
}

// uploadPath is the escaped path of a pending file's blob on the blob
// origin.
func uploadPath(p *pendingFile) string {
	return "/uploads/" + url.PathEscape(p.id) + "/" + escapedName(p.displayName)
}

// uploadLink returns a write SAS URL of the pending file's blob, valid for
// sasLifetime from now.
func (b *blobOrigin) uploadLink(p *pendingFile, now time.Time) (string, error) {
	return b.signedURL(uploadPath(p), "cw", now)
}

// serveUpload answers a PUT to an upload link: Put Blob, Put Block or Put
// Block List. The signature was checked.
func (b *blobOrigin) serveUpload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		blobError(w, http.StatusMethodNotAllowed, "UnsupportedHttpVerb", "The resource doesn't support specified Http Verb.", "")
		return
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/uploads/"), "/")
	s := b.s
	s.files.mu.Lock()
	p := s.files.uploads.pending[id]
	s.files.mu.Unlock()
	if p == nil || r.URL.EscapedPath() != uploadPath(p) {
		blobError(w, http.StatusNotFound, "BlobNotFound", msgBlobMissing, "")
		return
	}
	if r.ContentLength < 0 {
		blobError(w, http.StatusLengthRequired, "MissingContentLength", msgNoLength, "")
		return
	}
	q := r.URL.Query()
	switch q.Get("comp") {
	case "":
		if bt := r.Header.Get("x-ms-blob-type"); bt != "BlockBlob" {
			if bt == "" {
				blobError(w, http.StatusBadRequest, "MissingRequiredHeader", msgMissingHeader, "")
			} else {
				blobError(w, http.StatusBadRequest, "InvalidHeaderValue", msgBadHeader, "")
			}
			return
		}
		body, ok := b.readUpload(w, r)
		if !ok {
			return
		}
		b.commit(w, id, func(p *pendingFile) (bool, string) {
			p.blob, p.blobSize = [][]byte{body}, int64(len(body))
			return true, ""
		}, int64(len(body)))
	case "block":
		b.putBlock(w, r, id, q.Get("blockid"))
	case "blocklist":
		b.putBlockList(w, r, id)
	default:
		blobError(w, http.StatusBadRequest, "InvalidQueryParameterValue", msgBadQuery, "")
	}
}

// readUpload reads a PUT's body when the budget has room for it: a body
// that would take the server beyond Options.UploadBytes is refused with 413
// before it is read.
func (b *blobOrigin) readUpload(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	s := b.s
	s.files.mu.Lock()
	room := s.uploadBudget() - s.files.uploads.bytes
	s.files.mu.Unlock()
	if r.ContentLength > room {
		blobError(w, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", msgTooLarge, "")
		return nil, false
	}
	body := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, body); err != nil {
		blobError(w, http.StatusBadRequest, "InvalidInput", "One of the request inputs is not valid.", "")
		return nil, false
	}
	return body, true
}

// commit applies change to the pending file under the lock when the
// budget still has room for grow more bytes (a body read since readUpload
// looked), and answers 201.
func (b *blobOrigin) commit(w http.ResponseWriter, id string, change func(*pendingFile) (bool, string), grow int64) {
	s := b.s
	s.files.mu.Lock()
	p := s.files.uploads.pending[id]
	if p == nil {
		s.files.mu.Unlock()
		blobError(w, http.StatusNotFound, "BlobNotFound", msgBlobMissing, "")
		return
	}
	before := p.held()
	if s.files.uploads.bytes+grow > s.uploadBudget() {
		s.files.mu.Unlock()
		blobError(w, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", msgTooLarge, "")
		return
	}
	ok, code := change(p)
	if ok {
		s.files.uploads.bytes += p.held() - before
	}
	s.files.mu.Unlock()
	if !ok {
		msg := msgBadBlock
		if code == "InvalidBlockList" {
			msg = msgBadBlockList
		}
		blobError(w, http.StatusBadRequest, code, msg, "")
		return
	}
	w.Header().Set("ETag", `"0x`+strings.ToUpper(newID(8))+`"`)
	w.Header().Set("Last-Modified", s.opts.Clock.Now().UTC().Format(http.TimeFormat))
	w.Header().Set("x-ms-request-server-encrypted", "true")
	w.WriteHeader(http.StatusCreated)
}

// putBlock stores an uncommitted block: its id base64, at most 64 bytes
// decoded, all ids of a blob of one length.
func (b *blobOrigin) putBlock(w http.ResponseWriter, r *http.Request, id, blockID string) {
	decoded, err := base64.StdEncoding.DecodeString(blockID)
	if err != nil || len(decoded) == 0 || len(decoded) > maxBlockIDBytes {
		blobError(w, http.StatusBadRequest, "InvalidQueryParameterValue", msgBadQuery, "")
		return
	}
	body, ok := b.readUpload(w, r)
	if !ok {
		return
	}
	b.commit(w, id, func(p *pendingFile) (bool, string) {
		if p.idLength != 0 && p.idLength != len(blockID) {
			return false, "InvalidBlobOrBlock"
		}
		old, replaced := p.blocks[blockID]
		if !replaced && len(p.blocks) >= maxBlocks {
			return false, "InvalidBlobOrBlock"
		}
		if p.blocks == nil {
			p.blocks = map[string][]byte{}
		}
		p.idLength = len(blockID)
		p.blocks[blockID] = body
		p.blockBytes += blockCost(blockID, body)
		if replaced {
			p.blockBytes -= blockCost(blockID, old)
		}
		return true, ""
	}, blockCost(blockID, body))
}

// blockCost is what an uncommitted block counts against the budget.
func blockCost(id string, body []byte) int64 {
	return int64(len(body)+len(id)) + blockOverhead
}

// blockEntry is one id of a Put Block List body: <Latest>, <Uncommitted>
// (or <Committed>, which a new blob has none of).
type blockEntry struct {
	XMLName xml.Name
	ID      string `xml:",chardata"`
}

// putBlockList commits the blob from its uncommitted blocks in the order
// listed (Latest or Uncommitted entries): the blob is replaced, the blocks
// are spent. A block the blob does not have makes the list invalid.
func (b *blobOrigin) putBlockList(w http.ResponseWriter, r *http.Request, id string) {
	ids, ok := readBlockList(r)
	if !ok {
		blobError(w, http.StatusBadRequest, "InvalidXmlDocument", "XML specified is not syntactically valid.", "")
		return
	}
	b.commit(w, id, func(p *pendingFile) (bool, string) {
		chunks := make([][]byte, 0, len(ids))
		var size int64
		for _, bid := range ids {
			block, ok := p.blocks[bid]
			if !ok {
				return false, "InvalidBlockList"
			}
			chunks = append(chunks, block)
			size += int64(len(block))
		}
		p.blob, p.blobSize = chunks, size
		p.blocks, p.blockBytes, p.idLength = nil, 0, 0
		return true, ""
	}, 0)
}

// maxBlockListBody is the largest Put Block List body read: 100000 ids of
// 88 characters in their elements, with room to spare.
const maxBlockListBody = 16 << 20

// readBlockList reads the ids of a Put Block List body.
func readBlockList(r *http.Request) ([]string, bool) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxBlockListBody+1))
	if err != nil || len(raw) > maxBlockListBody {
		return nil, false
	}
	var list struct {
		Entries []blockEntry `xml:",any"`
	}
	if xml.Unmarshal(raw, &list) != nil {
		return nil, false
	}
	ids := make([]string, 0, len(list.Entries))
	for _, e := range list.Entries {
		switch e.XMLName.Local {
		case "Latest", "Uncommitted":
			ids = append(ids, strings.TrimSpace(e.ID))
		default:
			return nil, false
		}
	}
	return ids, true
}

// isUpload reports whether a blob origin path is an upload link's.
func isUpload(path string) bool { return strings.HasPrefix(path, "/uploads/") }

// storageInvalidCodes name the 422 error code of the Storage operations
// that answer one, by the pattern their route was registered with.
var storageInvalidCodes = map[string]string{
	"GET " + storagePath + "/{$}":                       "InvalidItemsRequest",
	"POST " + storagePath + "/folders/{folderId}/files": "InvalidCreateFileRequest",
}

// storageParamError is the Storage router's ErrorHandlerFunc: parameters
// that are missing or malformed answer 422, as paramError does for the
// Export API's.
func storageParamError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		required *storageserver.RequiredParamError
		format   *storageserver.InvalidParamFormatError
	)
	d := detail("InvalidValue", err.Error(), "")
	switch {
	case errors.As(err, &required):
		d = detail("MissingRequiredParameter", required.ParamName+" was not provided.", required.ParamName)
	case errors.As(err, &format):
		d = detail("InvalidValue", "Provided "+format.ParamName+" value is not valid.", format.ParamName)
	}
	code, ok := storageInvalidCodes[r.Pattern]
	if !ok {
		code = "InvalidRequest"
	}
	writeError(w, http.StatusUnprocessableEntity, code, msgCannotPerform, d)
}

// mappingFileOf reads inputOptions.mappingFileId from a create-run body
// that passed validation; "" when absent.
func mappingFileOf(body []byte) string {
	var req api.ExportConnectionRunCreate
	if json.Unmarshal(body, &req) != nil || req.InputOptions == nil || req.InputOptions.MappingFileID == nil {
		return ""
	}
	return *req.InputOptions.MappingFileID
}

// outcomeMappingFileNotFound ends a run whose mappingFileId names no file
// the fake's Storage serves.
const outcomeMappingFileNotFound Outcome = -2

// mappingFileNotFoundError is the task error of such a run. Its wording is
// the fake's: the reference pages do not show the real service's.
func mappingFileNotFoundError(id string) *api.TaskError {
	return &api.TaskError{
		ErrorCode:      ptr("MappingFileNotFound"),
		Message:        ptr("The mapping file " + strconv.Quote(id) + " is not an uploaded file of iTwin Storage."),
		Description:    ptr("The custom mapping file (inputOptions.mappingFileId) was not found: upload it and complete the upload, then run again."),
		DescriptionKey: ptr("MappingFileNotFound"),
		System:         ptr("Exporter"),
		Phase:          ptr("input_validation"),
		Category:       ptr("input"),
		CanUserFix:     ptr(true),
	}
}
