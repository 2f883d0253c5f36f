package wrapper

import "net/http"

// rateLimit is the pipeline's stage that waits out a client-wide pause and
// takes a slot of the request budget, before every attempt: both are the
// client's Limiter's (limiter.go).
func (c *Client) rateLimit(m *message) (*http.Response, error) {
	if err := c.limiter.Wait(m.ctx); err != nil {
		return nil, err
	}
	return m.next()
}
