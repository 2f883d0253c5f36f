package apitest

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/itwin-export/itwin-export/api"
	"github.com/itwin-export/itwin-export/apitest/internal/exportserver"
)

// Messages of the reference pages.
const (
	msgHeaderNotFound     = "Header Authorization was not found in the request. Access denied."
	msgInvalidToken       = "The access token is not valid."
	msgInsufficient       = "The user has insufficient permissions for the requested operation."
	msgConnectionNotFound = "Requested Connection is not available."
	msgRunNotFound        = "Requested Run is not available."
	msgConflict           = "This request is already being processed for this iModel."
	msgInUse              = "Connection is already being processed."
	msgRateLimit          = "The client sent more requests than allowed by this API for the current tier of the client."
	msgCannotPerform      = "Cannot perform operation."
)

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// connectionNotFound answers 404 ConnectionNotFound, as the API does for a
// connection it does not have.
func connectionNotFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "ConnectionNotFound", msgConnectionNotFound)
}

// writeError answers with status and an error response of the API's schema.
func writeError(w http.ResponseWriter, status int, code, message string, details ...api.ErrorDetails) {
	e := api.Error{Code: code, Message: message}
	if len(details) > 0 {
		e.Details = &details
	}
	writeJSON(w, status, api.ErrorResponse{Error: e})
}

// detail builds one error detail; an empty target is left out.
func detail(code, message, target string) api.ErrorDetails {
	d := api.ErrorDetails{Code: code, Message: message}
	if target != "" {
		d.Target = &target
	}
	return d
}

// notFound answers requests for routes the API does not have.
func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "NotFound", "The requested resource does not exist.")
}

// invalidRequestCodes name the 422 error code of each operation, by the
// pattern its route was registered with.
var invalidRequestCodes = map[string]string{
	"GET " + basePath + "/connections":                             "InvalidExportConnectionsRequest",
	"POST " + basePath + "/connections":                            "InvalidExportConnectionRequest",
	"DELETE " + basePath + "/connections/{connectionId}":           "InvalidExportConnectionRequest",
	"GET " + basePath + "/connections/{connectionId}":              "InvalidExportConnectionRequest",
	"GET " + basePath + "/connections/{connectionId}/runs":         "InvalidConnectionRunsRequest",
	"POST " + basePath + "/connections/{connectionId}/runs":        "InvalidConnectionRunRequest",
	"GET " + basePath + "/connections/{connectionId}/runs/{runId}": "InvalidConnectionRunRequest",
	"GET " + basePath + "/authorizationinformation":                "InvalidAuthorizationInformationRequest",
}

// invalidRequest answers 422 with the operation's error code and details.
func invalidRequest(w http.ResponseWriter, r *http.Request, details ...api.ErrorDetails) {
	code, ok := invalidRequestCodes[r.Pattern]
	if !ok {
		code = "InvalidRequest"
	}
	writeError(w, http.StatusUnprocessableEntity, code, msgCannotPerform, details...)
}

// paramTarget is the target naming a parameter in an error detail; the
// reference writes redirectUrl as "$redirectUrl".
func paramTarget(name string) string {
	if name == "redirectUrl" {
		return "$redirectUrl"
	}
	return name
}

// paramError is the generated router's ErrorHandlerFunc: parameters that are
// missing or malformed answer 422.
func paramError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		required *exportserver.RequiredParamError
		format   *exportserver.InvalidParamFormatError
		tooMany  *exportserver.TooManyValuesForParamError
	)
	switch {
	case errors.As(err, &required):
		invalidRequest(w, r, detail("MissingRequiredParameter", required.ParamName+" was not provided.", paramTarget(required.ParamName)))
	case errors.As(err, &format):
		invalidRequest(w, r, detail("InvalidValue", "Provided "+format.ParamName+" value is not valid.", paramTarget(format.ParamName)))
	case errors.As(err, &tooMany):
		invalidRequest(w, r, detail("InvalidValue", tooMany.ParamName+" must be given once.", paramTarget(tooMany.ParamName)))
	default:
		invalidRequest(w, r, detail("InvalidValue", err.Error(), ""))
	}
}
