package wrapper

import (
	"net"
	"net/url"
	"strings"
)

// URLs. The client keeps one form of the base URL (Client.base, canonical:
// see canonicalBase) and gets every other URL one of two ways: the generated
// request builders make an operation's URL under the base; resolve turns a
// Location or paging link into a URL the client will call. Both give
// canonical URLs, so a URL read back from the API and one built by the
// client compare equal as text.

// canonicalBase checks a base URL and returns its canonical form: scheme and
// host in lower case, no default port, no trailing slash.
func canonicalBase(raw string) (*url.URL, string) {
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	switch {
	case err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "":
		return nil, "must be an absolute http(s) URL"
	case base.User != nil || base.RawQuery != "" || base.ForceQuery || base.Fragment != "":
		return nil, "must have no userinfo, query or fragment"
	}
	base.Host = canonicalHost(base)
	return base, ""
}

// canonicalHost is u's host in lower case, its port left out when it is the
// scheme's default (or empty, which means the default).
func canonicalHost(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || port == defaultPort(u.Scheme) {
		if strings.Contains(host, ":") { // IPv6
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}

func defaultPort(scheme string) string {
	if strings.EqualFold(scheme, "http") {
		return "80"
	}
	return "443"
}

// sameOrigin reports whether u has the API's scheme, host and port, compared
// as RFC 3986 section 6.2.3 says: scheme and host in any case, an empty port
// the same as the scheme's default. A URL with userinfo is never the API's.
func (c *Client) sameOrigin(u *url.URL) bool {
	return u.User == nil && strings.EqualFold(u.Scheme, c.base.Scheme) &&
		strings.EqualFold(u.Hostname(), c.base.Hostname()) && effectivePort(u) == effectivePort(c.base)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return defaultPort(u.Scheme)
}

// resolve turns a Location or link href, as the answer to the request for
// reqURL gave it, into the URL the client would call: resolved against
// reqURL (RFC 3986 section 5.2), then checked to be on the API's origin and
// under its base path (see onAPI).
func (c *Client) resolve(reqURL *url.URL, ref string) (*url.URL, error) {
	if strings.TrimSpace(ref) == "" {
		return nil, &LocationError{Reason: "the answer has no Location", kind: ErrMissingLocation}
	}
	rel, err := url.Parse(ref)
	if err != nil {
		return nil, &LocationError{Location: c.redactURL(ref), Reason: "does not parse as a URL", kind: ErrMissingLocation}
	}
	return c.onAPI(reqURL.ResolveReference(rel))
}

// onAPI checks that u is on the API's origin and under its base path, and
// makes it canonical, in place: the base's scheme and host, and a path with
// its dot segments removed, percent-encoded ones ("%2e%2e") included, since
// a server may decode them (RFC 3986 sections 5.2.4 and 6.2.2.2). The check
// is made on that path, which is the one the client then sends.
func (c *Client) onAPI(u *url.URL) (*url.URL, error) {
	if !c.sameOrigin(u) {
		return nil, &LocationError{Location: c.redactURL(u.String()), Reason: "not the API's scheme, host and port; refused before any request", kind: ErrForeignLocation}
	}
	escaped, basePath := u.EscapedPath(), c.base.EscapedPath()
	if clean := removeDotSegments(escaped); clean != escaped {
		path, err := url.PathUnescape(clean)
		if err != nil {
			return nil, &LocationError{Location: c.redactURL(u.String()), Reason: "has an invalid percent-encoding", kind: ErrMissingLocation}
		}
		escaped, u.Path, u.RawPath = clean, path, clean
	}
	if len(escaped) <= len(basePath) || escaped[len(basePath)] != '/' || !strings.HasPrefix(escaped, basePath) {
		return nil, &LocationError{Location: c.redactURL(u.String()), Reason: "not under the API's base path " + basePath, kind: ErrForeignLocation}
	}
	u.Scheme, u.Host, u.OmitHost = c.base.Scheme, c.base.Host, false
	return u, nil
}

// removeDotSegments removes the "." and ".." segments of an escaped absolute
// path (RFC 3986 section 5.2.4), counting "%2e" as a dot in any case.
func removeDotSegments(p string) string {
	if !strings.Contains(p, ".") && !strings.Contains(p, "%2") {
		return p // nothing that could be a dot segment
	}
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch dots(s) {
		case 1:
			if last {
				out = append(out, "")
			}
		case 2:
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return strings.Join(out, "/")
}

// dots is 1 for a "." segment, 2 for "..", either percent-encoded, else 0.
func dots(seg string) int {
	seg = strings.ReplaceAll(strings.ToLower(seg), "%2e", ".")
	switch seg {
	case ".":
		return 1
	case "..":
		return 2
	}
	return 0
}
