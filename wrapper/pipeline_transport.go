package wrapper

import (
	"context"
	"fmt"
	"net/http"
)

// transport is the pipeline's last stage: one exchange through
// Options.HTTPClient's Transport. A RoundTripper never follows a redirect:
// a 303 names an active run the caller must see, and a redirect would carry
// the request to a URL nobody vetted.
func (c *Client) transport(m *message) (*http.Response, error) {
	resp, err := c.roundTripper.RoundTrip(m.req)
	switch {
	case err != nil:
		return nil, err
	case resp == nil || resp.Body == nil:
		// The RoundTripper contract promises both; http.Client checks it too.
		return nil, fmt.Errorf("http: RoundTripper implementation (%T) returned no response or no body", c.roundTripper)
	}
	return resp, nil
}

// clientTimeout is the context of one exchange bounded by
// Options.HTTPClient's Timeout, as http.Client bounds it: ended, with an
// error matching context.DeadlineExceeded, when the answer's body is not
// read within it. Without a Timeout it is ctx itself.
func (c *Client) clientTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeoutCause(ctx, c.timeout, fmt.Errorf("exchange not complete within Options.HTTPClient.Timeout (%s): %w", c.timeout, context.DeadlineExceeded))
}
