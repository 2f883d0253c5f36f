package apitest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/itwin-export/itwin-export/apitest/internal/exportserver"
)

// contractRouter finds the operation of a request in openapi.yaml, as
// embedded in the generated server. The contract is loaded once, on first
// use, and only by servers that validate.
var contractRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := exportserver.GetSpec()
	if err != nil {
		return nil, fmt.Errorf("apitest: load the embedded openapi.yaml: %w", err)
	}
	// The fake serves the API under /export on its own host.
	doc.Servers = openapi3.Servers{{URL: basePath}}
	// Authentication is the fake's own business (see validationOptions);
	// without security requirements kin-openapi does not read every body
	// once more for them.
	doc.Security = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("apitest: route the embedded openapi.yaml: %w", err)
	}
	return router, nil
})

// validationOptions skip security: authentication is the fake's own business.
var validationOptions = &openapi3filter.Options{
	AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
	SkipSettingDefaults: true,
}

// capture is a ResponseWriter that holds the answer back: the status and
// body are sent only after they were validated, so that a violation is
// reported before the client sees the answer.
type capture struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return c.body.Write(b)
}

// validate checks requests and responses of the contract's operations against
// openapi.yaml and passes each violation to Options.OnContractViolation.
// Requests for routes the contract does not have are left alone. A request
// is validated only when the server did not refuse it with a 4xx answer, so
// the body of a refused request (say, an unauthenticated 1 MiB upload) is
// never held for validation.
func (s *Server) validate(next http.Handler) http.Handler {
	report := s.opts.OnContractViolation
	if report == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		router, err := contractRouter()
		if err != nil {
			report(err)
			next.ServeHTTP(w, r)
			return
		}
		route, pathParams, err := findRoute(router, r)
		if err != nil {
			next.ServeHTTP(w, r)
			return
		}
		serveValidated(next, w, r, route, pathParams, report)
	})
}

// serveValidated runs next on r with its answer held back, checks the
// exchange against route and only then sends the answer, so that every
// violation is reported before the client sees it.
func serveValidated(next http.Handler, w http.ResponseWriter, r *http.Request,
	route *routers.Route, pathParams map[string]string, report func(error)) {
	// Validate a copy of the request as it came, with the body the
	// handler read (kept as it passes, up to the largest body read).
	copied := r.Clone(r.Context())
	seen := teeBody(r)
	in := &openapi3filter.RequestValidationInput{
		Request:    copied,
		PathParams: pathParams,
		Route:      route,
		Options:    validationOptions,
	}

	c := &capture{header: w.Header()}
	next.ServeHTTP(c, r)
	c.WriteHeader(http.StatusOK) // a handler that wrote nothing answered 200

	if c.status < 400 || c.status >= 500 {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody+1)) // what the handler left
		copied.Body = io.NopCloser(bytes.NewReader(seen.Bytes()))
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
			report(fmt.Errorf("apitest: %s %s breaks the contract, yet the server answered %d: %w",
				r.Method, r.URL.Path, c.status, err))
		}
	}
	validateAnswer(r, in, c, report)
	w.WriteHeader(c.status)
	_, _ = w.Write(c.body.Bytes())
}

// teeBody makes r's body keep a copy of what is read from it, up to one byte
// over the largest body accepted, and returns that copy: the request is
// validated with the body the handler saw, without reading it twice.
func teeBody(r *http.Request) *limitedBuffer {
	seen := &limitedBuffer{limit: maxBody + 1}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(r.Body, seen), r.Body}
	}
	return seen
}

// validateAnswer checks the held-back answer c to r against the contract
// and reports a violation.
func validateAnswer(r *http.Request, in *openapi3filter.RequestValidationInput, c *capture, report func(error)) {
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 c.status,
		Header:                 c.header,
		Options:                validationOptions,
	}
	out.SetBodyBytes(c.body.Bytes())
	if err := openapi3filter.ValidateResponse(r.Context(), out); err != nil {
		report(fmt.Errorf("apitest: the %d answer to %s %s breaks the contract: %w",
			c.status, r.Method, r.URL.Path, err))
	}
}

// limitedBuffer keeps the first limit bytes written to it and drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	limit int
}

// Write keeps what fits and always reports all of p written, so that a
// TeeReader feeding it never fails.
func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.limit - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
