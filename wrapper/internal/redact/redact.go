// Package redact removes credentials from text before it reaches an error,
// a log record or a terminal: bearer and basic credentials, SAS signatures
// and other sensitive query parameters, JSON members named like tokens or
// secrets, and known secrets in every encoding they may take (verbatim,
// percent-encoded, JSON-escaped, base64). Every secret is replaced by
// Marker.
package redact

import (
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Marker replaces every secret the client removes from text.
const Marker = "REDACTED"

// MaxExcerpt is the most of a response body an error carries.
const MaxExcerpt = 512

// sensitiveNames are the names of query parameters and JSON members whose
// values are credentials: a SAS URL's signature, cloud storage signatures,
// OAuth2 tokens, codes, verifiers and secrets. It is the one list: the
// query-key set and every pattern below are built from it.
var sensitiveNames = []string{
	"sig", "signature", "x-amz-signature", "x-goog-signature", "x-amz-security-token",
	"token", "access_token", "refresh_token", "id_token",
	"code", "code_verifier", "client_secret", "client_assertion", "password",
}

// sensitiveKeys is sensitiveNames as a set, for query keys and JSON members.
var sensitiveKeys = func() map[string]bool {
	m := make(map[string]bool, len(sensitiveNames))
	for _, n := range sensitiveNames {
		m[n] = true
	}
	return m
}()

// plainInJSON are the sensitiveNames that are no secret as JSON members:
// "code" is OAuth's authorization code in a redirect URL's query, but in an
// API's JSON error ({"error":{"code":"InsufficientPermissions"}}) it is the
// error's name, which a reader needs.
var plainInJSON = map[string]bool{"code": true}

// sensitiveMember reports whether a JSON member named name holds a secret.
func sensitiveMember(name string) bool {
	name = strings.ToLower(name)
	return sensitiveKeys[name] && !plainInJSON[name]
}

// namesPattern is an alternation of sensitiveNames, longest first; json
// leaves out plainInJSON.
func namesPattern(json bool) string {
	var names []string
	for _, n := range sensitiveNames {
		if !json || !plainInJSON[n] {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	for i, n := range names {
		names[i] = regexp.QuoteMeta(n)
	}
	return "(?:" + strings.Join(names, "|") + ")"
}

var (
	// authPattern: the credentials of an Authorization header value, in
	// plain text or percent-encoded.
	authPattern = regexp.MustCompile(`(?i)\b(bearer|basic)(\s+|%20|\+)([A-Za-z0-9\-._~+/%]+=*)`)
	// queryPattern: a sensitive key and its value wherever it appears. The
	// key starts the text or follows a separator: raw, percent-encoded once
	// ("%26sig%3D") or twice ("%2526sig%253D"), or JSON-escaped ("\u0026").
	queryPattern = regexp.MustCompile(`(?i)(^|[^a-z0-9_-]|%26|%3F|%3B|%20|%2526|%253F|%253B|%2520|\\u0026|\\u003f)(` +
		namesPattern(false) + `)(=|%3D|%253D)([^&\s"'<>;,\\]*)`)
	// jsonPattern: a sensitive JSON member with a string value, in JSON
	// text or in JSON escaped inside a JSON string (\"sig\":\"...\").
	jsonPattern        = regexp.MustCompile(`(?i)("` + namesPattern(true) + `"\s*:\s*)"(?:[^"\\]|\\.)*"`)
	escapedJSONPattern = regexp.MustCompile(`(?i)(\\"` + namesPattern(true) + `\\"\s*:\s*)\\"(?:[^"\\]|\\[^"])*\\"`)
)

// URL returns raw with credentials removed: the values of sensitive
// query parameters (a SAS URL's sig, tokens, secrets) and a userinfo
// password. Text that does not parse as a URL is redacted as free text.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return Text(raw)
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), Marker)
		}
	}
	if u.RawQuery != "" {
		u.RawQuery = redactQuery(u.RawQuery)
	}
	return Text(u.String())
}

// redactQuery replaces the values of sensitive keys, keeping the rest of the
// query as it was written.
func redactQuery(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, found := strings.Cut(p, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			key = k
		}
		switch {
		case !found:
		case sensitiveKeys[strings.ToLower(key)]:
			parts[i] = k + "=" + Marker
		default:
			// A value may itself be a URL with a query (a redirect URL, a
			// SAS URL passed along): redact inside it too.
			v := p[len(k)+1:]
			inner, err := url.QueryUnescape(v)
			if err == nil && strings.ContainsAny(inner, "?=") {
				if clean := URL(inner); clean != inner {
					parts[i] = k + "=" + url.QueryEscape(clean)
				}
			}
		}
	}
	return strings.Join(parts, "&")
}

// Text removes credentials from free text such as a response body or a
// message: each of the given secrets in every encoding (see secretForms),
// then bearer and basic credentials, sensitive query parameters (SAS
// signatures) wherever they appear, and JSON members named like tokens or
// secrets.
func Text(s string, secrets ...string) string {
	return NewScrubber(secrets).Scrub(s)
}

// redactPatterns applies the patterns built from sensitiveNames.
func redactPatterns(s string) string {
	s = authPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := authPattern.FindStringSubmatch(m)
		if strings.EqualFold(sub[1], "basic") && !looksLikeCredential(sub[3]) {
			return m // the word "basic" in a sentence
		}
		return sub[1] + sub[2] + Marker
	})
	s = queryPattern.ReplaceAllString(s, "${1}${2}${3}"+Marker)
	s = jsonPattern.ReplaceAllString(s, `${1}"`+Marker+`"`)
	return escapedJSONPattern.ReplaceAllString(s, `${1}\"`+Marker+`\"`)
}

// looksLikeCredential reports whether the word after "Basic" is base64 of
// credentials rather than a word of prose: digits or base64 punctuation, or
// capitals inside the word.
func looksLikeCredential(w string) bool {
	if w == Marker || len(w) < 4 {
		return false
	}
	if strings.ContainsAny(w, "=+/%0123456789") {
		return true
	}
	return strings.ToLower(w[1:]) != w[1:]
}

// excerptWindow is how much of a body is redacted to make an excerpt: far
// more than the excerpt, so that redaction (which only shortens secrets to a
// marker) cannot pull a cut-off part of a secret into the first MaxExcerpt
// bytes, and little enough that a huge body costs nothing.
const excerptWindow = 64 << 10

// Excerpt returns a redacted prefix of body of at most MaxExcerpt bytes,
// cut on a character boundary.
func Excerpt(body []byte, secrets ...string) string {
	if len(body) > excerptWindow {
		body = body[:excerptWindow]
	}
	s := strings.TrimSpace(Text(strings.ToValidUTF8(string(body), "\uFFFD"), secrets...))
	if len(s) <= MaxExcerpt {
		return s
	}
	cut := MaxExcerpt
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
