// Package apitest is an in-memory iTwin Platform Export API behind a real
// HTTP listener, modelled on net/http/httptest: the fake that this project's
// tests, its CLI demo (`itwin-export demo`, `itwin-export fake-server`) and
// your own tests run against, with no account and no network.
//
// Start with NewServer, which listens on a loopback port at once; point your
// client at Server.URL (it ends in /export, like https://api.bentley.com/export)
// and call Close when done:
//
//	s := apitest.NewServer(apitest.Options{OnContractViolation: func(err error) { t.Error(err) }})
//	defer s.Close()
//	conn := s.AddConnection(api.ExportConnectionCreate{IModelID: "my-imodel"})
//	// POST s.URL + "/connections/" + conn.ID + "/runs" with a bearer token ...
//
// The server implements every operation of openapi.yaml as the reference
// pages describe them: connections (create, list with paging links, get,
// delete), runs (create answering 202, 303 to the iModel's active run or
// 409 while a create for the iModel is being processed: one active run per
// iModel, whichever of its connections started it; list; get) and
// authorization information. Any
// non-empty bearer token is accepted unless Options.ValidToken says otherwise.
//
// Time is the server's Clock. A run moves NotStarted, Queued,
// WaitingToExecute, Executing, Finalizing, Completed, one state per
// Options.StepDuration; with a ManualClock a test steps it exactly. How runs
// end is an Outcome: Options.DefaultOutcome, or SetOutcome per connection.
//
// For testing a client's error handling: Options.RateLimit answers 429 with
// Retry-After, Options.MayUse answers 403, and InjectFault makes chosen
// requests answer a status (with a JSON, HTML or empty body), hang, or drop
// the connection. Requests returns the requests received most recently (a
// bounded window, see Options.RecordRequests), and ConnectionsAccepted counts
// TCP connections, to check connection reuse.
//
// The server is safe to leave running for days and to expose to careless
// clients on loopback: what it keeps is bounded (the request record, the
// connections and runs it keeps, its rate-limit windows), its listener cuts
// off clients that stall (Options.ReadTimeout and its siblings), a request
// body must be application/json as the contract says, and every absolute
// link it hands out names its own listener, whatever Host a request names.
//
// The Storage API is served beside it, under /storage: a successful run's
// task names its output in exportOutputFileId, a small but real IFC file
// (ISO-10303-21, FILE_SCHEMA after the run's ifcVersion) named like the
// iModel; GET /storage/files/{id} gives its metadata and
// /storage/files/{id}/download answers 302 with a signed link to a second
// loopback origin (BlobURL). That origin authenticates by the link's
// signature alone, refuses any request carrying an Authorization header
// with 400, as Azure Blob Storage does, answers Range with 206, and records
// what it received (BlobRequests). AddFile and AddPatternFile store files of
// your own; InjectBlobFault cuts, stalls, slows, lengthens or expires
// transfers. Uploads work as on iTwin Storage (see storage_upload.go for
// the model): a root folder per iTwin (RootFolder), POST
// /storage/folders/{id}/files answers an upload link on the blob origin
// taking Put Blob, Put Block and Put Block List, and POST
// /storage/files/{id}/complete makes the file; Options.UploadBytes bounds
// what uploads hold. A run whose mappingFileId names no file it serves
// ends with result Error.
//
// Beside the API, on the same origin, is an OAuth2 authorization server
// (OAuthURLs): AuthorizePath redirects straight back with a code and the
// state, as a consenting user would; TokenPath grants client_credentials,
// authorization_code (checking the PKCE S256 verifier) and refresh_token
// (rotating refresh tokens), with Options.OAuth.TokenLifetime to make tokens
// expire soon. The authorizationUrl of the authorization information is a
// page of the fake: a user is authorized once they visited it, and with
// Options.OAuth.RequireUserAuthorization runs of User connections of users
// who have not complete with Error (the fake's model).
//
// For other languages' clients: Options.Control (fake-server --control)
// serves a control API under ControlPrefix (/_fake/), documented in
// conformance/control-api.yaml: a script queues answers (as faults), creates
// connections with completed or active runs and sets the clock's pace; the
// requests received, by the API's origin and by a second "foreign" origin
// that a conformant client never contacts, can be read back and verified.
// Without Options.Control that path answers 404.
//
// With Options.OnContractViolation set, every exchange is validated against
// openapi.yaml with kin-openapi, so a test catches both a client that breaks
// the contract and a fake that drifts from it.
//
// The package imports the generated server in internal/exportserver, so only
// programs that import apitest link server and spec-parsing code.
package apitest
