package main

import (
	"errors"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/wrapper"
)

// requestFlags are the flags of run that map one to one onto the create-run
// body; a flag not given leaves its field out.
type requestFlags struct {
	exportType                             string
	ifcVersion, changeset, savedView       optString
	mappingFile, mappingURL                optString
	location, outputSAS, logsSAS, folderID optString
	replace, saveLogs                      optBool
}

// add registers the flags on fs.
func (r *requestFlags) add(fs *flags) {
	fs.StringVar(&r.exportType, "export-type", string(api.ExportTypeIFC), "`TYPE` of file to export to: IFC or PDF (exportType)")
	fs.Var(&r.ifcVersion, "ifc-version", "`VERSION` of IFC: IFC4.3, IFC2x3, 'IFC2x3 CV 2.0' or 'IFC4 RV 1.2' (ifcVersion)")
	fs.Var(&r.changeset, "changeset", "`ID` of the changeset to export; default the latest (inputOptions.changesetId)")
	fs.Var(&r.savedView, "saved-view", "`ID` of the saved view to export (inputOptions.savedViewId)")
	fs.Var(&r.mappingFile, "mapping-file", "`ID` of a user-defined mapping file in iTwin Storage, or the path of a local file, uploaded first to --folder or the root folder of the connection's iTwin (inputOptions.mappingFileId)")
	fs.Var(&r.mappingURL, "mapping-file-url", "SAS `URL` of a user-defined mapping file (inputOptions.mappingfileBlobUrl)")
	fs.Var(&r.location, "location", "`WHERE` the output goes: STORAGE or USER_BLOB_STORAGE (outputOptions.location)")
	fs.Var(&r.outputSAS, "output-sas-url", "SAS `URL` to upload the output to; needs --location USER_BLOB_STORAGE (outputOptions.outputSasUrl)")
	fs.Var(&r.logsSAS, "logs-sas-url", "SAS `URL` to upload the logs to; needs --save-logs and USER_BLOB_STORAGE (outputOptions.logsSasUrl)")
	fs.Var(&r.folderID, "folder", "`ID` of the iTwin Storage folder of the output (outputOptions.folderId)")
	fs.Var(&r.replace, "replace", "replace the older file of the same iModel (outputOptions.replaceOlderFile: true)")
	fs.Var(&r.saveLogs, "save-logs", "save the logs of the export (outputOptions.saveLogs: true)")
}

// request builds the create-run body and validates it; a validation error
// names the flags to fix.
func (r *requestFlags) request() (api.ExportConnectionRunCreate, error) {
	req := api.ExportConnectionRunCreate{ExportType: api.ExportType(r.exportType)}
	if r.ifcVersion.set {
		v := api.IFCVersion(r.ifcVersion.value)
		req.IFCVersion = &v
	}
	in := api.ExportRunInputOptions{
		ChangesetID:        r.changeset.ptr(),
		SavedViewID:        r.savedView.ptr(),
		MappingFileID:      r.mappingFile.ptr(),
		MappingfileBlobURL: r.mappingURL.ptr(),
	}
	if in != (api.ExportRunInputOptions{}) {
		req.InputOptions = &in
	}
	out := api.ExportRunOutputOptions{
		OutputSASURL:     r.outputSAS.ptr(),
		LogsSASURL:       r.logsSAS.ptr(),
		FolderID:         r.folderID.ptr(),
		ReplaceOlderFile: r.replace.ptr(),
		SaveLogs:         r.saveLogs.ptr(),
	}
	if r.location.set {
		v := api.Location(r.location.value)
		out.Location = &v
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
