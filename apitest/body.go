package apitest

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/itwin-export/itwin-export/api"
)

// maxBody is the largest request body the server reads.
const maxBody = 1 << 20

// kind is the JSON type of a property.
type kind int

const (
	kindString kind = iota
	kindBool
	kindObject
	kindStringArray
)

// property describes one property of a request body object, as openapi.yaml
// does: the body checks follow the contract by hand so that every problem
// gets its own error detail with a target naming the property.
type property struct {
	name     string
	kind     kind
	required bool
	nonEmpty bool       // minLength 1 for strings, minItems 1 for arrays
	enum     []string   // allowed values of a string
	props    []property // properties of an object; no others are allowed
}

// runCreateBody is export-connection-run-create of the contract.
var runCreateBody = []property{
	{name: "exportType", kind: kindString, required: true, enum: []string{
		string(api.ExportTypeIFC), string(api.ExportTypePDF)}},
	{name: "ifcVersion", kind: kindString, enum: []string{
		string(api.IFCVersionIFC43), string(api.IFCVersionIFC2X3),
		string(api.IFCVersionIFC2X3CV20), string(api.IFCVersionIFC4RV12)}},
	{name: "inputOptions", kind: kindObject, props: []property{
		{name: "changesetId", kind: kindString},
		{name: "mappingFileId", kind: kindString},
		{name: "savedViewId", kind: kindString},
		{name: "mappingfileBlobUrl", kind: kindString},
		{name: "modelIds", kind: kindStringArray, nonEmpty: true},
	}},
	{name: "outputOptions", kind: kindObject, props: []property{
		{name: "location", kind: kindString, enum: []string{
			string(api.LocationUSERBLOBSTORAGE), string(api.LocationSTORAGE)}},
		{name: "outputSasUrl", kind: kindString},
		{name: "logsSasUrl", kind: kindString},
		{name: "folderId", kind: kindString},
		{name: "replaceOlderFile", kind: kindBool},
		{name: "saveLogs", kind: kindBool},
	}},
}

// connectionCreateBody is export-connection-create of the contract.
var connectionCreateBody = []property{
	{name: "iModelId", kind: kindString, required: true, nonEmpty: true},
	{name: "displayName", kind: kindString},
	{name: "authenticationType", kind: kindString, enum: []string{
		string(api.AuthenticationTypeUser), string(api.AuthenticationTypeService)}},
}

// msgContentType is the detail of a body not sent as JSON.
const msgContentType = "Request body must be sent with Content-Type application/json."

// isJSON reports whether a Content-Type value names the contract's only
// request media type, application/json (parameters such as charset allowed).
func isJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	return err == nil && mediaType == "application/json"
}

// readBody reads a request body of at most maxBody bytes and checks it
// against props. It returns the body and one detail per problem found. A
// body the contract does not declare (a Content-Type other than
// application/json, or a body without one) is refused before it is read.
func readBody(r *http.Request, props []property) ([]byte, []api.ErrorDetails) {
	contentType := r.Header.Get("Content-Type")
	if contentType != "" && !isJSON(contentType) {
		return nil, []api.ErrorDetails{detail("InvalidRequestBody", msgContentType, "")}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	switch {
	case contentType == "" && len(body) > 0:
		return nil, []api.ErrorDetails{detail("InvalidRequestBody", msgContentType, "")}
	case err != nil:
		return nil, []api.ErrorDetails{detail("InvalidRequestBody", "Request body could not be read.", "")}
	case len(body) > maxBody:
		return nil, []api.ErrorDetails{detail("InvalidRequestBody", "Request body is larger than 1 MiB.", "")}
	case !json.Valid(body):
		return nil, []api.ErrorDetails{detail("InvalidRequestBody", "Request body is not valid JSON.", "")}
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return nil, []api.ErrorDetails{detail("InvalidRequestBody", "Request body must be a JSON object.", "")}
	}
	return body, checkObject(obj, "", props)
}

// checkObject checks the properties of an object whose path is prefix
// ("" for the body itself): declared properties in their order first, then
// undeclared ones by name.
func checkObject(obj map[string]json.RawMessage, prefix string, props []property) []api.ErrorDetails {
	var details []api.ErrorDetails
	for _, p := range props {
		raw, ok := obj[p.name]
		target := prefix + p.name
		if !ok {
			if p.required {
				details = append(details, detail("MissingRequiredParameter", target+" was not provided.", target))
			}
			continue
		}
		details = append(details, checkValue(raw, target, p)...)
	}
	var unknown []string
	for name := range obj {
		if !slices.ContainsFunc(props, func(p property) bool { return p.name == name }) {
			unknown = append(unknown, name)
		}
	}
	slices.Sort(unknown)
	for _, name := range unknown {
		details = append(details, detail("UnknownProperty", prefix+name+" is not a known property.", prefix+name))
	}
	return details
}

// checkValue checks one property's value.
func checkValue(raw json.RawMessage, target string, p property) []api.ErrorDetails {
	switch p.kind {
	case kindBool:
		var b bool
		if !isNull(raw) && json.Unmarshal(raw, &b) == nil {
			return nil
		}
		return []api.ErrorDetails{detail("InvalidValue", target+" must be a boolean.", target)}
	case kindObject:
		var obj map[string]json.RawMessage
		if isNull(raw) || json.Unmarshal(raw, &obj) != nil {
			return []api.ErrorDetails{detail("InvalidValue", target+" must be an object.", target)}
		}
		return checkObject(obj, target+".", p.props)
	case kindStringArray:
		var items []json.RawMessage
		if isNull(raw) || json.Unmarshal(raw, &items) != nil {
			return []api.ErrorDetails{detail("InvalidValue", target+" must be an array of strings.", target)}
		}
		if p.nonEmpty && len(items) == 0 {
			return []api.ErrorDetails{detail("InvalidValue", target+" must not be empty.", target)}
		}
		var details []api.ErrorDetails
		for i, item := range items {
			details = append(details, checkValue(item, target+"["+strconv.Itoa(i)+"]", property{kind: kindString})...)
		}
		return details
	default:
		var s string
		if isNull(raw) || json.Unmarshal(raw, &s) != nil {
			return []api.ErrorDetails{detail("InvalidValue", target+" must be a string.", target)}
		}
		if p.nonEmpty && s == "" {
			return []api.ErrorDetails{detail("InvalidValue", target+" must not be empty.", target)}
		}
		if p.enum != nil && !slices.Contains(p.enum, s) {
			return []api.ErrorDetails{detail("InvalidValue",
				"Provided "+target+" value is not valid; expected one of "+strings.Join(p.enum, ", ")+".", target)}
		}
		return nil
	}
}

// isNull reports whether raw is the JSON null, which no property allows.
func isNull(raw json.RawMessage) bool { return string(raw) == "null" }
