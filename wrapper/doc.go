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
//     RunRef. A relative Location is resolved against the request URL; one on
//     another scheme, host or port is refused before any request.
//
//   - Resuming. A RunRef is its Location URL: save RunRef.Location, and
//     ParseRunRef rebuilds it in another process.
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
//   - Many exports at once: ExportMany runs a request for many connections, a
//     bounded number at a time; Options.Budget spends a rate-limit tier
//     evenly across everything the client sends.
//
// A Client is safe for concurrent use. Package apitest provides an in-memory
// Export service to test code that uses this package.
package wrapper
