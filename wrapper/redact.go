package wrapper

import (
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"
)

// redacted replaces every secret the client removes from text.
const redacted = "REDACTED"

// maxExcerpt is the most of a response body an error carries.
const maxExcerpt = 512

// sensitiveQueryKeys are query parameters whose values are credentials: the
// signature of a SAS URL and the usual names of tokens and secrets.
var sensitiveQueryKeys = map[string]bool{
	"sig": true, "signature": true, "token": true, "access_token": true,
	"refresh_token": true, "id_token": true, "code": true, "client_secret": true,
	"password": true, "x-amz-signature": true, "x-goog-signature": true,
}

var (
	bearerPattern = regexp.MustCompile(`(?i)\b(bearer)(\s+|%20|\+)[A-Za-z0-9\-._~+/%]+=*`)
	// A key starts the text or follows a separator: raw, percent-encoded (a
	// URL inside a query: "%26sig%3D...") or JSON-escaped ("\u0026sig=").
	queryPattern = regexp.MustCompile(`(?i)(^|[^a-z0-9_]|%26|%3F|%3B|%20|\\u0026|\\u003f)(sig|signature|token|access_token|refresh_token|id_token|client_secret|password|x-amz-signature|x-goog-signature)(=|%3D)([^&\s"'<>;,\\]*)`)
	jsonPattern  = regexp.MustCompile(`(?i)("(?:access_token|refresh_token|id_token|client_secret|password|token|sig)"\s*:\s*)"(?:[^"\\]|\\.)*"`)
)

// RedactURL returns raw with credentials removed: the values of sensitive
// query parameters (a SAS URL's sig, tokens, secrets) and a userinfo
// password. Text that does not parse as a URL is redacted as free text.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return RedactText(raw)
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redacted)
		}
	}
	if u.RawQuery != "" {
		u.RawQuery = redactQuery(u.RawQuery)
	}
	return RedactText(u.String())
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
		case sensitiveQueryKeys[strings.ToLower(key)]:
			parts[i] = k + "=" + redacted
		default:
			// A value may itself be a URL with a query (a redirect URL, a
			// SAS URL passed along): redact inside it too.
			v := p[len(k)+1:]
			inner, err := url.QueryUnescape(v)
			if err == nil && strings.ContainsAny(inner, "?=") {
				if clean := RedactURL(inner); clean != inner {
					parts[i] = k + "=" + url.QueryEscape(clean)
				}
			}
		}
	}
	return strings.Join(parts, "&")
}

// RedactText removes credentials from free text such as a response body or a
// message: bearer tokens, sensitive query parameters (SAS signatures) wherever
// they appear, JSON fields named like tokens or secrets, and each of the given
// secrets verbatim.
func RedactText(s string, secrets ...string) string {
	for _, secret := range secrets {
		if len(secret) < 4 || strings.Contains(redacted, secret) {
			continue // too short to hunt for, or hidden in the marker itself
		}
		// Replacing can join the text around a secret into another copy of
		// it: repeat a few times, and give up the whole text if that is
		// not enough.
		for pass := 0; strings.Contains(s, secret); pass++ {
			if pass == 8 {
				return redacted
			}
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	s = bearerPattern.ReplaceAllString(s, "${1} "+redacted)
	s = queryPattern.ReplaceAllString(s, "${1}${2}${3}"+redacted)
	s = jsonPattern.ReplaceAllString(s, `${1}"`+redacted+`"`)
	return s
}

// excerptWindow is how much of a body is redacted to make an excerpt: far
// more than the excerpt, so that redaction (which only shortens secrets to a
// marker) cannot pull a cut-off part of a secret into the first maxExcerpt
// bytes, and little enough that a huge body costs nothing.
const excerptWindow = 64 << 10

// excerpt returns a redacted prefix of body of at most maxExcerpt bytes,
// cut on a character boundary.
func excerpt(body []byte, secrets ...string) string {
	if len(body) > excerptWindow {
		body = body[:excerptWindow]
	}
	s := strings.TrimSpace(RedactText(strings.ToValidUTF8(string(body), "\uFFFD"), secrets...))
	if len(s) <= maxExcerpt {
		return s
	}
	cut := maxExcerpt
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
