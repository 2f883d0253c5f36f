package main

import (
	"errors"

	"github.com/spf13/pflag"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// requestFlags are the flags of run that map one to one onto the create-run
// body; a flag not given leaves its field out.
type requestFlags struct {
	exportType, ifcVersion, changeset, savedView string
	mappingFile, mappingURL                      string
	location, outputSAS, logsSAS, folderID       string
	replace, saveLogs                            bool
	given                                        *pflag.FlagSet // which were given
}

// add registers the flags on fs.
func (r *requestFlags) add(fs *flags) {
	fs.StringVar(&r.exportType, "export-type", string(api.ExportTypeIFC), "`TYPE` of file to export to: IFC or PDF (exportType)")
	fs.StringVar(&r.ifcVersion, "ifc-version", "", "`VERSION` of IFC: IFC4.3, IFC2x3, 'IFC2x3 CV 2.0' or 'IFC4 RV 1.2' (ifcVersion)")
	fs.StringVar(&r.changeset, "changeset", "", "`ID` of the changeset to export; default the latest (inputOptions.changesetId)")
	fs.StringVar(&r.savedView, "saved-view", "", "`ID` of the saved view to export (inputOptions.savedViewId)")
	fs.StringVar(&r.mappingFile, "mapping-file", "", "`ID` of a user-defined mapping file in iTwin Storage, or the path of a local file, uploaded first to --folder or the root folder of the connection's iTwin (inputOptions.mappingFileId)")
	fs.StringVar(&r.mappingURL, "mapping-file-url", "", "SAS `URL` of a user-defined mapping file (inputOptions.mappingfileBlobUrl)")
	fs.StringVar(&r.location, "location", "", "`WHERE` the output goes: STORAGE or USER_BLOB_STORAGE (outputOptions.location)")
	fs.StringVar(&r.outputSAS, "output-sas-url", "", "SAS `URL` to upload the output to; needs --location USER_BLOB_STORAGE (outputOptions.outputSasUrl)")
	fs.StringVar(&r.logsSAS, "logs-sas-url", "", "SAS `URL` to upload the logs to; needs --save-logs and USER_BLOB_STORAGE (outputOptions.logsSasUrl)")
	fs.StringVar(&r.folderID, "folder", "", "`ID` of the iTwin Storage folder of the output (outputOptions.folderId)")
	fs.BoolVar(&r.replace, "replace", false, "replace the older file of the same iModel (outputOptions.replaceOlderFile: true)")
	fs.BoolVar(&r.saveLogs, "save-logs", false, "save the logs of the export (outputOptions.saveLogs: true)")
	r.given = fs.FlagSet
}

// request builds the create-run body and validates it; a validation error
// names the flags to fix.
func (r *requestFlags) request() (api.ExportConnectionRunCreate, error) {
	req := api.ExportConnectionRunCreate{ExportType: api.ExportType(r.exportType),
		IFCVersion: given(r.given, "ifc-version", api.IFCVersion(r.ifcVersion))}
	in := api.ExportRunInputOptions{
		ChangesetID:        given(r.given, "changeset", r.changeset),
		SavedViewID:        given(r.given, "saved-view", r.savedView),
		MappingFileID:      given(r.given, "mapping-file", r.mappingFile),
		MappingfileBlobURL: given(r.given, "mapping-file-url", r.mappingURL),
	}
	if in != (api.ExportRunInputOptions{}) {
		req.InputOptions = &in
	}
	out := api.ExportRunOutputOptions{
		Location:         given(r.given, "location", api.Location(r.location)),
		OutputSASURL:     given(r.given, "output-sas-url", r.outputSAS),
		LogsSASURL:       given(r.given, "logs-sas-url", r.logsSAS),
		FolderID:         given(r.given, "folder", r.folderID),
		ReplaceOlderFile: given(r.given, "replace", r.replace),
		SaveLogs:         given(r.given, "save-logs", r.saveLogs),
	}
	if out != (api.ExportRunOutputOptions{}) {
		req.OutputOptions = &out
	}
	return req, withFlagNames(wrapper.ValidateRunRequest(req))
}

// runFlagFields maps body fields onto the flags that set them, so that a
// validation problem names the flag to fix.
var runFlagFields = map[string]string{
	"exportType":                      "--export-type",
	"ifcVersion":                      "--ifc-version",
	"inputOptions.changesetId":        "--changeset",
	"inputOptions.savedViewId":        "--saved-view",
	"inputOptions.mappingFileId":      "--mapping-file",
	"inputOptions.mappingfileBlobUrl": "--mapping-file-url",
	"outputOptions.location":          "--location",
	"outputOptions.outputSasUrl":      "--output-sas-url",
	"outputOptions.logsSasUrl":        "--logs-sas-url",
	"outputOptions.folderId":          "--folder",
	"outputOptions.replaceOlderFile":  "--replace",
	"outputOptions.saveLogs":          "--save-logs",
	"connectionID":                    "--connection",
	"iModelID":                        "--imodel",
	"iModelId":                        "--imodel",
	"authenticationType":              "--auth",
	"redirectUrl":                     "--redirect-url",
}

// withFlagNames returns a validation error whose fields also name their
// flag; other errors (and nil) are returned as they are.
func withFlagNames(err error) error {
	var v *wrapper.ValidationError
	if !errors.As(err, &v) {
		return err
	}
	out := &wrapper.ValidationError{}
	for _, p := range v.Problems {
		if f := runFlagFields[p.Field]; f != "" {
			p.Field += " (" + f + ")"
		}
		out.Problems = append(out.Problems, p)
	}
	return out
}
