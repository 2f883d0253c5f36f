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
//   - Classified errors: *APIError matches ErrUnauthorized, ErrForbidden,
//     ErrNotFound, ErrConflict, ErrInvalidRequest, ErrRateLimited or ErrServer
//     with errors.Is; *TokenError (the identity service's answer),
//     *LocationError, *ResponseError, *TransportError, *ValidationError and
//     *RunError cover the rest.
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
// A Client is safe for concurrent use. Package apitest provides an in-memory
// Export service to test code that uses this package.
package wrapper
