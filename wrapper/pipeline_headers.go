package wrapper

import "net/http"

// acceptHeader is the media type the API recommends; the client sends it on
// every request.
const acceptHeader = "application/vnd.bentley.itwin-platform.v1+json"

// acceptValue is the Accept header of every request that sets none.
var acceptValue = []string{acceptHeader}

// setHeaders is the pipeline's first stage: the Accept and User-Agent
// headers. Canonical keys and ready-made values, written directly:
// Header.Set would canonicalize the keys and allocate new values on every
// request.
func (c *Client) setHeaders(m *message) (*http.Response, error) {
	h := m.req.Header
	if _, ok := h["Accept"]; !ok {
		h["Accept"] = acceptValue
	}
	h["User-Agent"] = c.userAgent
	return m.next()
}
