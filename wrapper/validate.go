package wrapper

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/itwin-export/itwin-export/api"
)

// ValidateRunRequest checks a create-run body before it is sent, by the rules
// of the reference page: exportType set and known; ifcVersion known and only
// with IFC; modelIds not empty; location known; outputSasUrl required with
// USER_BLOB_STORAGE and only then; logsSasUrl only with saveLogs and
// USER_BLOB_STORAGE; every URL absolute https; with USER_BLOB_STORAGE, each
// SAS link signed (sig), not expired (se) and, when it names its permissions
// (sp), allowing write (w) or create (c), since such a link would fail only
// after the whole export (a link whose sp and se come from a stored access
// policy, si, passes); no id empty. It returns a
// *ValidationError listing every problem, or nil. Problems never quote a
// URL's query, which for a SAS URL is its signature.
func ValidateRunRequest(req api.ExportConnectionRunCreate) error {
	var v validator
	switch {
	case req.ExportType == "":
		v.add("exportType", "is required")
	case !req.ExportType.Valid():
		v.add("exportType", "%q is not one of IFC, PDF", req.ExportType)
	}
	if req.IFCVersion != nil {
		switch {
		case !req.IFCVersion.Valid():
			v.add("ifcVersion", "%q is not one of IFC4.3, IFC2x3, IFC2x3 CV 2.0, IFC4 RV 1.2", *req.IFCVersion)
		case req.ExportType != api.ExportTypeIFC:
			v.add("ifcVersion", "is allowed only with exportType IFC")
		}
	}
	if in := req.InputOptions; in != nil {
		v.id("inputOptions.changesetId", in.ChangesetID)
		v.id("inputOptions.mappingFileId", in.MappingFileID)
		v.id("inputOptions.savedViewId", in.SavedViewID)
		v.httpsURL("inputOptions.mappingfileBlobUrl", in.MappingfileBlobURL)
		if in.ModelIDs != nil {
			if len(*in.ModelIDs) == 0 {
				v.add("inputOptions.modelIds", "must not be empty: leave it out to export every model")
			}
			for i, id := range *in.ModelIDs {
				if strings.TrimSpace(id) == "" {
					v.add(fmt.Sprintf("inputOptions.modelIds[%d]", i), "must not be empty")
				}
			}
		}
	}
	if out := req.OutputOptions; out != nil {
		blob := false
		if out.Location != nil {
			if !out.Location.Valid() {
				v.add("outputOptions.location", "%q is not one of STORAGE, USER_BLOB_STORAGE", *out.Location)
			}
			blob = *out.Location == api.LocationUSERBLOBSTORAGE
		}
		switch {
		case blob && out.OutputSASURL == nil:
			v.add("outputOptions.outputSasUrl", "is required with location USER_BLOB_STORAGE")
		case !blob && out.OutputSASURL != nil:
			v.add("outputOptions.outputSasUrl", "is allowed only with location USER_BLOB_STORAGE")
		}
		v.httpsURL("outputOptions.outputSasUrl", out.OutputSASURL)
		if out.LogsSASURL != nil {
			if out.SaveLogs == nil || !*out.SaveLogs {
				v.add("outputOptions.logsSasUrl", "is allowed only with saveLogs true")
			}
			if !blob {
				v.add("outputOptions.logsSasUrl", "is allowed only with location USER_BLOB_STORAGE")
			}
		}
		v.httpsURL("outputOptions.logsSasUrl", out.LogsSASURL)
		if blob {
			now := time.Now()
			v.sasLink("outputOptions.outputSasUrl", out.OutputSASURL, now)
			v.sasLink("outputOptions.logsSasUrl", out.LogsSASURL, now)
		}
		v.id("outputOptions.folderId", out.FolderID)
	}
	return v.err()
}

// ValidateConnectionRequest checks a create-connection body: iModelId set,
// authenticationType known when given.
func ValidateConnectionRequest(req api.ExportConnectionCreate) error {
	var v validator
	if strings.TrimSpace(req.IModelID) == "" {
		v.add("iModelId", "is required")
	}
	if req.AuthenticationType != nil && !req.AuthenticationType.Valid() {
		v.add("authenticationType", "%q is not one of User, Service", *req.AuthenticationType)
	}
	return v.err()
}

// validator collects problems.
type validator struct{ problems []Problem }

func (v *validator) add(field, format string, args ...any) {
	v.problems = append(v.problems, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

// id checks an optional id: when set it must not be blank.
func (v *validator) id(field string, s *string) {
	if s != nil && strings.TrimSpace(*s) == "" {
		v.add(field, "must not be empty when given")
	}
}

// pathID checks an id that goes into a URL path segment. Any character is
// percent-encoded inside its segment, except that "." and ".." would be
// removed by URL resolution and so change the path: they are refused.
func (v *validator) pathID(field, s string) {
	switch strings.TrimSpace(s) {
	case "":
		v.add(field, "is required")
	case ".", "..":
		v.add(field, "%q cannot be a path segment", s)
	}
}

// httpsURL checks an optional URL: absolute https with a host. The message
// never repeats the URL: its query may be a SAS signature.
func (v *validator) httpsURL(field string, s *string) {
	if s == nil {
		return
	}
	u, err := url.Parse(*s)
	switch {
	case err != nil:
		v.add(field, "is not a URL")
	case u.Scheme != "https" || u.Host == "":
		v.add(field, "must be an absolute https URL")
	case u.User != nil:
		v.add(field, "must not carry user information")
	}
}

// validateIDs checks ids bound for path segments.
func validateIDs(pairs ...string) error {
	var v validator
	for i := 0; i+1 < len(pairs); i += 2 {
		v.pathID(pairs[i], pairs[i+1])
	}
	return v.err()
}
