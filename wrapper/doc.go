// Package wrapper is the Export API client to import: one safe call for the
// main job, and every other operation of the API with classified errors.
//
// Start with New and Client.Export (create a run and wait for it), or
// CreateRun and WaitRun separately:
//
//	tokens, err := wrapper.ClientCredentials(id, secret, "")
//	client, err := wrapper.New(wrapper.Options{TokenSource: tokens})
//	ref, err := client.CreateRun(ctx, connectionID, api.ExportConnectionRunCreate{ExportType: api.ExportTypeIFC})
//	run, err := client.WaitRun(ctx, ref, wrapper.WaitOptions{})
//
// What it adds to the generated package api:
//
//   - Location following. A create answers 202 (a new run) or 303 (a run was
//     already active): the redirect is never followed, and both come back as a
//     RunRef. A Location, or a paging link, is resolved against the request
//     URL (RFC 3986) into canonical form; one on another scheme, host or
//     port, or outside the base path once dot segments (percent-encoded ones
//     too) are removed, is refused before any request.
//
//   - Bounded. Each exchange has limits of its own, so that no call hangs
//     even without a context deadline: time to the response headers, time
//     without a body byte, time for the whole body (Options). A listing
//     stops after Options.MaxPages pages. Bodies are read up to a size.
//
//   - Resuming. A RunRef is its Location URL: save RunRef.Location, and
//     ParseRunRef rebuilds it in another process. As a TextMarshaler, a
//     RunRef in a JSON document or a database column is that URL.
//
//   - Retries, bounded and honest (RetryPolicy). GETs retry 429, 502, 503, 504
//     and connection failures; the create POST retries only 409 and 429. A
//     Retry-After beyond the cap returns at once, carrying the wait; a 429
//     pauses every request of the client until its Retry-After has passed.
//
//   - Classified errors: a class to match with errors.Is, a type to read
//     with errors.As, for every failure (see "Which error, when" below).
//
//   - Local validation (ValidateRunRequest): a request the API would refuse
//     is not sent.
//
//   - Credentials stay home: the token goes only to the API's origin, never
//     over plain http except to loopback; the client secret only to the
//     token URL, never after a redirect; and tokens, client secrets
//     (Options.Secrets) and SAS signatures are scrubbed, in any encoding,
//     from every error and log line. Client.Redact does the same for text
//     you print yourself, such as a raw run.
//
//   - The API's own words: GetRunRaw and Progress.RawRun give the run object
//     exactly as the API sent it, for tools that pass it on.
//
//   - The IFC file on disk: DownloadRunOutputs (or DownloadFile,
//     DownloadFileInto) gets a run's output from iTwin Storage. The 302 to
//     the blob store is never followed automatically; the blob URL is fetched
//     with no credential of the client, over https only, streamed into a
//     temporary file that is renamed into place once its size matches the
//     metadata, resumed with Range after a cut. RunOutputs lists a run's
//     file ids; none means the output went to your own blob container.
//
//   - A custom mapping file in Storage: UploadFile creates a file in a
//     folder (RootFolder names an iTwin's root folder), PUTs its content to
//     the returned blob link with no credential (blocks above 256 MiB), and
//     completes the upload; its id is the run's inputOptions.mappingFileId.
//     A failed upload deletes the file it created.
//
//   - Many exports at once: ExportMany runs a request for many connections, a
//     bounded number at a time; Options.Budget spends a rate-limit tier
//     evenly across everything the client sends. Options.Limiter shares the
//     budget and the 429 pause beyond one client: a LocalLimiter between the
//     clients of a process, package redisbudget (a module of its own)
//     between processes, through Redis.
//
//   - People, not only services: StartLogin signs a person in through the
//     browser (authorization code with PKCE, loopback redirect), SessionStore
//     keeps the session in a 0600 file, SessionTokenSource refreshes it; and
//     AuthorizeUser makes sure the service holds the person's authorization
//     before runs of User connections.
//
//   - On the generated client, not beside it: every request, the wrapper's
//     own and those of Client.API() (the generated api.ClientWithResponses
//     with the client's policies), goes through one api.HttpRequestDoer
//     whose stages are listed in order in pipeline.go: headers, retries by
//     operation, the rate budget and pause, the token (to the API's origin
//     only), the per-exchange limits and a redacted log record, a transport
//     that never follows a redirect. An operation added to openapi.yaml is
//     callable through API() right after `make generate`; CheckResponse
//     classifies its answers as the wrapper's own calls are.
//
// # Which error, when
//
// An error of a call is one of these types, or wraps one, or is the cause
// of its context's end; each type matches its sentinels with errors.Is.
// (New's refusals of options that cannot work are plain text but for those
// named below.) All are declared in errors.go, signing in's in
// login_errors.go. No text carries a token, a secret or a SAS signature.
//
//	*APIError                 an error status (400 up) from the API, Storage or the blob store,
//	                          from any call: ErrUnauthorized 401, ErrForbidden 403, ErrNotFound 404,
//	                          ErrConflict 409, ErrInvalidRequest 400 and 422, ErrRateLimited 429,
//	                          ErrServer 5xx; retried statuses once the retries are spent
//	*UnusableResponseError    a status below 400 the call cannot use: ErrUnexpectedStatus (a status
//	  (was ResponseError)     the operation does not define, such as 200 to CreateRun or a 302);
//	                          ErrMalformedResponse (a body that is not the contract's JSON or too
//	                          large, a listing past MaxPages, a blob of the wrong size)
//	*LocationError            a Location or link that is not followed, nothing sent to it:
//	                          ErrMissingLocation (a 202, 303 or 302 without a usable Location),
//	                          ErrForeignLocation (another origin, or outside the base path: any
//	                          Location, paging link or RunRef), ErrInsecureLink (a blob link of a
//	                          download or upload that is not https)
//	*TransportError           no answer: refused, reset, cut mid-body, an exchange limit passed
//	                          (Options); GETs after their retries, CreateRun at once
//	*TokenError               the identity service answered a call's token request without one:
//	                          ErrUnauthorized (credentials refused), ErrRateLimited, ErrServer
//	*ValidationError          nothing sent: ErrValidation (ValidateRunRequest, CreateRun, Export,
//	                          an empty id, New with a blank StaticToken, CheckEndpointURL)
//	*RunRefParseError         ParseRunRef, RunRef.UnmarshalText: ErrValidation, ErrMissingLocation
//	*RunError                 WaitRun, Export: a run ended with a result other than Success,
//	                          PartialSuccess included: ErrRunFailed
//	*UploadError              UploadFile failed after creating the file (deleted unless Cleanup
//	                          says otherwise); unwraps to the cause
//	ErrInsecureToken          New: a base URL over plain http to a host that is not loopback
//	ErrFileExists             DownloadFile, DownloadRunOutputs: the destination exists, and
//	                          DownloadOptions.Overwrite is not set
//	ErrChecksumMismatch       a download's MD5 differs from the blob store's (also
//	                          ErrMalformedResponse); no file is left
//	*LoginError               Login.Wait: ErrLoginFailed (an error or foreign state from the
//	                          browser, or the code refused)
//	*AuthorizationRequiredError  CheckUserAuthorization, AuthorizeUser: ErrAuthorizationRequired
//	*SessionExpiredError      SessionSource: the refresh token refused; ErrUnauthorized
//	ErrNoSession              SessionStore.Load: nobody signed in (also fs.ErrNotExist)
//	*SessionLoadError         SessionStore.Load: a session file that cannot be used
//	*SessionLockError         SessionSource: another process held the session's lock too long
//
// A Client is safe for concurrent use. Package apitest provides an in-memory
// Export service to test code that uses this package.
package wrapper
