package wrapper

import (
	"net/url"

	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
	"github.com/itwin-export/itwin-export/wrapper/internal/urlcheck"
)

// URLs. The client keeps one form of the base URL (Client.base, canonical:
// see urlcheck.Base) and gets every other URL one of two ways: the generated
// request builders make an operation's URL under the base; resolve turns a
// Location or paging link into a URL the client will call. Both give
// canonical URLs, so a URL read back from the API and one built by the
// client compare equal as text. The checks are package urlcheck's; here a
// refusal becomes a *LocationError with its URL redacted.

// resolve turns a Location or link href, as the answer to the request for
// reqURL gave it, into the URL the client would call: resolved against
// reqURL (RFC 3986 section 5.2), then checked to be on the API's origin and
// under its base path (see onAPI).
func (c *Client) resolve(reqURL *url.URL, ref string) (*url.URL, error) {
	u, p := urlcheck.Resolve(c.base, reqURL, ref)
	if p != nil {
		return nil, locationError(p, c.redactURL)
	}
	return u, nil
}

// onAPI checks that u is on the API's origin and under its base path, and
// makes it canonical, in place (see urlcheck.UnderBase).
func (c *Client) onAPI(u *url.URL) (*url.URL, error) {
	u, p := urlcheck.UnderBase(c.base, u)
	if p != nil {
		return nil, locationError(p, c.redactURL)
	}
	return u, nil
}

// blobURL resolves and checks a download or upload link: absolute, no
// userinfo, https, or plain http to a loopback address only. It is refused
// before any connection otherwise.
func blobURL(reqURL *url.URL, loc string) (*url.URL, error) {
	u, p := urlcheck.Link(reqURL, loc)
	if p != nil {
		return nil, locationError(p, redact.URL)
	}
	return u, nil
}

// locationKinds are the sentinels of urlcheck's kinds of refusal.
var locationKinds = map[urlcheck.Kind]error{
	urlcheck.Missing:  ErrMissingLocation,
	urlcheck.Foreign:  ErrForeignLocation,
	urlcheck.Insecure: ErrInsecureLink,
}

// locationError is the *LocationError of a refused URL, the URL redacted
// by redactURL.
func locationError(p *urlcheck.Problem, redactURL func(string) string) *LocationError {
	e := &LocationError{Reason: p.Reason, kind: locationKinds[p.Kind]}
	if p.URL != "" {
		e.Location = redactURL(p.URL)
	}
	return e
}
