// Package urlcheck resolves and checks the URLs a client is given: the base
// URL it is configured with, and the Location headers and paging links the
// API answers with. It keeps one form of a base URL (canonical: see Base)
// and turns every other URL into the URL a client would call, or refuses it
// with a Problem that says why.
//
// A URL resolved by Resolve and one built under the base compare equal as
// text: both are canonical (scheme and host in lower case, no default port,
// no dot segments).
package urlcheck

import (
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/itwin-export/itwin-export/wrapper/internal/redact"
)

// Kind classifies a refused URL.
type Kind int

const (
	// Missing: there is no URL, or it does not parse, or its
	// percent-encoding is invalid.
	Missing Kind = iota + 1
	// Foreign: the URL is on another scheme, host or port, carries user
	// information, or is outside the base path.
	Foreign
	// Insecure: a link is neither https nor plain http to a loopback
	// address.
	Insecure
)

// Problem is a refused URL. Its URL is the text as given or resolved, not
// redacted: the caller redacts it before it reaches an error or a log.
type Problem struct {
	Kind   Kind
	URL    string // empty when there was no URL
	Reason string
}

// Error returns the reason, without the URL (which may carry a secret).
func (p *Problem) Error() string { return p.Reason }

// Base checks a base URL and returns its canonical form: scheme and host in
// lower case, no default port, no trailing slash. When the URL is unusable,
// problem says why.
func Base(raw string) (base *url.URL, problem string) {
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

// SameOrigin reports whether u has base's scheme, host and port, compared
// as RFC 3986 section 6.2.3 says: scheme and host in any case, an empty port
// the same as the scheme's default. A URL with userinfo is never on base's
// origin.
func SameOrigin(u, base *url.URL) bool {
	if u.User != nil {
		return false
	}
	if u.Scheme == base.Scheme && u.Host == base.Host {
		return true // the same text: no need to take the hosts apart
	}
	return strings.EqualFold(u.Scheme, base.Scheme) &&
		strings.EqualFold(u.Hostname(), base.Hostname()) && effectivePort(u) == effectivePort(base)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return defaultPort(u.Scheme)
}

// IsLoopback reports whether host is localhost or a loopback address.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Resolve turns a Location or link href, as the answer to the request for
// reqURL gave it, into the URL a client of base would call: resolved
// against reqURL (RFC 3986 section 5.2), then checked and made canonical by
// UnderBase.
//
// A plain absolute path, as the API's Locations are, needs no resolution
// beyond reqURL's scheme and authority (section 5.2.2) and no parsing: it is
// the URL's path as it is. Any other reference is parsed and resolved by
// net/url. Both give the same URL (FuzzResolve_AsNetURL).
func Resolve(base, reqURL *url.URL, ref string) (*url.URL, *Problem) {
	if plainAbsolutePath(ref) {
		return UnderBase(base, &url.URL{Scheme: reqURL.Scheme, User: reqURL.User, Host: reqURL.Host, Path: ref})
	}
	if strings.TrimSpace(ref) == "" {
		return nil, &Problem{Kind: Missing, Reason: "the answer has no Location"}
	}
	rel, err := url.Parse(ref)
	if err != nil {
		return nil, &Problem{Kind: Missing, URL: ref, Reason: "does not parse as a URL"}
	}
	return UnderBase(base, reqURL.ResolveReference(rel))
}

// plainAbsolutePath reports whether ref is an absolute-path reference (RFC
// 3986 section 4.2: it starts with one "/", so it has no scheme and no
// authority) that net/url would parse into a URL with ref as its Path and
// nothing else: letters, digits and -_~$&+,;=:@/ only, which it writes
// without escaping (no query, fragment, percent-encoding or space), and no
// dot, so no dot segment to remove.
func plainAbsolutePath(ref string) bool {
	if !strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "//") {
		return false
	}
	for i := 0; i < len(ref); i++ {
		if !plainPathByte[ref[i]] {
			return false
		}
	}
	return true
}

// plainPathByte holds the bytes of a plain absolute path (see
// plainAbsolutePath).
var plainPathByte = func() (plain [256]bool) {
	for c := range plain {
		plain[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_~$&+,;=:@/", byte(c)) >= 0
	}
	return plain
}()

// UnderBase checks that u is on base's origin and under its path, and
// makes it canonical, in place: base's scheme and host, and a path with its
// dot segments removed, percent-encoded ones ("%2e%2e") included, since a
// server may decode them (RFC 3986 sections 5.2.4 and 6.2.2.2). The check
// is made on that path, which is the one a client then sends.
func UnderBase(base, u *url.URL) (*url.URL, *Problem) {
	if !SameOrigin(u, base) {
		return nil, &Problem{Kind: Foreign, URL: u.String(), Reason: "not the API's scheme, host and port; refused before any request"}
	}
	escaped, basePath := u.EscapedPath(), base.EscapedPath()
	if clean := removeDotSegments(escaped); clean != escaped {
		path, err := url.PathUnescape(clean)
		if err != nil {
			return nil, &Problem{Kind: Missing, URL: u.String(), Reason: "has an invalid percent-encoding"}
		}
		escaped, u.Path, u.RawPath = clean, path, clean
	}
	if len(escaped) <= len(basePath) || escaped[len(basePath)] != '/' || !strings.HasPrefix(escaped, basePath) {
		return nil, &Problem{Kind: Foreign, URL: u.String(), Reason: "not under the API's base path " + basePath}
	}
	u.Scheme, u.Host, u.OmitHost = base.Scheme, base.Host, false
	return u, nil
}

// Link resolves and checks a link to content outside the API, such as a
// download Location: absolute once resolved against reqURL, no userinfo,
// https, or plain http to a loopback address only.
func Link(reqURL *url.URL, loc string) (*url.URL, *Problem) {
	if strings.TrimSpace(loc) == "" {
		return nil, &Problem{Kind: Missing, Reason: "the download answer has no Location"}
	}
	ref, err := url.Parse(loc)
	if err != nil {
		return nil, &Problem{Kind: Missing, URL: loc, Reason: "does not parse as a URL"}
	}
	u := reqURL.ResolveReference(ref)
	switch {
	case u.User != nil:
		return nil, &Problem{Kind: Foreign, URL: u.String(), Reason: "carries user information"}
	case strings.EqualFold(u.Scheme, "https"):
	case strings.EqualFold(u.Scheme, "http") && IsLoopback(u.Hostname()):
	default:
		return nil, &Problem{Kind: Insecure, URL: u.String(),
			Reason: "a file's content is fetched over https only (plain http to a loopback address); refused before any request"}
	}
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

// RunIDs reads the ids of a run URL from the last four segments of its
// escaped path, read from the end: .../connections/{id}/runs/{runId},
// segment by segment, so that an id with an encoded "/" stays one id. A run
// URL has no userinfo, query or fragment. When the ids cannot be read,
// problem says why.
func RunIDs(u *url.URL) (connectionID, runID, problem string) {
	const notARun = "does not name a run (/connections/{id}/runs/{runId})"
	if u.User != nil {
		return "", "", "carries user information"
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", "", "has a query or fragment; a run URL has neither"
	}
	p := u.EscapedPath()
	var segs [4]string
	for i := 3; i >= 0; i-- {
		cut := strings.LastIndexByte(p, '/')
		if cut < 0 {
			return "", "", notARun
		}
		segs[i], p = p[cut+1:], p[:cut]
	}
	if segs[0] != "connections" || segs[2] != "runs" {
		return "", "", notARun
	}
	conn, err1 := url.PathUnescape(segs[1])
	run, err2 := url.PathUnescape(segs[3])
	if err1 != nil || err2 != nil || conn == "" || run == "" || conn == "." || conn == ".." || run == "." || run == ".." {
		return "", "", "has an empty or invalid id"
	}
	return conn, run, ""
}

// IDUnder reads the id out of a link to one item of a collection under
// base, {base}/{collection}/{id}[/{suffix}], resolved against reqURL; false
// when the link is anything else (another origin or path).
func IDUnder(base, reqURL *url.URL, href, collection, suffix string) (string, bool) {
	ref, err := url.Parse(href)
	if err != nil {
		return "", false
	}
	u := reqURL.ResolveReference(ref)
	if !SameOrigin(u, base) {
		return "", false
	}
	rest, ok := strings.CutPrefix(u.EscapedPath(), base.EscapedPath()+"/"+collection+"/")
	if !ok {
		return "", false
	}
	if suffix != "" {
		if rest, ok = strings.CutSuffix(rest, "/"+suffix); !ok {
			return "", false
		}
	}
	id, err := url.PathUnescape(rest)
	if err != nil || id == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return id, true
}

// Endpoint checks a token or authorization endpoint before anything is sent
// to it: an absolute https URL with a host, or http only to a loopback
// address (for local fakes), and no user information. problem says what is
// wrong, quoting the URL redacted; it is empty when nothing is.
func Endpoint(raw string) (problem string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return fmt.Sprintf("%q does not parse as a URL", redact.Text(raw))
	case !u.IsAbs() || u.Host == "":
		return fmt.Sprintf("%q is not an absolute URL (https://host/path)", redact.Text(raw))
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Sprintf("%q: scheme %q is not https", redact.URL(raw), u.Scheme)
	case u.User != nil:
		return fmt.Sprintf("%q carries user information; credentials go in the request, not the URL", redact.URL(raw))
	case u.Scheme == "http" && !IsLoopback(u.Hostname()):
		return fmt.Sprintf("%q: plain http is allowed only to a loopback address; use https", redact.URL(raw))
	}
	return ""
}
