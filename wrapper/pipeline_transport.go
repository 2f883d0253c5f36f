package wrapper

import (
	"cmp"
	"net/http"
)

// transport is the pipeline's last stage: the http.Client that never
// follows a redirect.
func (c *Client) transport(m *message) (*http.Response, error) {
	return c.http.Do(m.req)
}

// noRedirectClient is an http.Client on the Transport and Timeout of hc (or
// http.DefaultTransport), which never follows a redirect: a 303 names an
// active run the caller must see, and a redirect would carry the request to
// a URL nobody vetted.
func noRedirectClient(hc *http.Client) *http.Client {
	c := &http.Client{
		Transport:     http.DefaultTransport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if hc != nil {
		c.Transport = cmp.Or[http.RoundTripper](hc.Transport, c.Transport)
		c.Timeout = hc.Timeout
	}
	return c
}
