package wrapper

import (
	"net/url"
	"strings"
	"time"
)

// sasExpiryLayouts are the ISO 8601 forms Azure Storage accepts for a SAS's
// se (signed expiry).
var sasExpiryLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"}

// sasLink checks an optional USER_BLOB_STORAGE link (outputSasUrl,
// logsSasUrl) for what would make the export fail only at upload time,
// after the whole run: no signature (sig), an expiry (se) already past, or
// permissions (sp) that allow neither write (w) nor create (c). A link whose
// permissions and expiry come from a stored access policy (si without sp
// and se) is not second-guessed. Messages name the parameter, never its
// signature. A link that is not an https URL is left to httpsURL.
func (v *validator) sasLink(field string, s *string, now time.Time) {
	if s == nil {
		return
	}
	u, err := url.Parse(*s)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return
	}
	q, _ := url.ParseQuery(u.RawQuery) // what parses is what Azure reads; the rest is not a SAS parameter
	if !hasValue(q["sig"]) {
		v.add(field, "has no signature (sig): the service could not write the export there")
	}
	for _, se := range q["se"] {
		if at, ok := parseSASTime(se); ok && !at.After(now) {
			v.add(field, "expired at %s (se): make a new link", at.UTC().Format(time.RFC3339))
		}
	}
	for _, sp := range q["sp"] {
		if !strings.ContainsAny(sp, "wc") {
			v.add(field, "grants %q (sp), neither write (w) nor create (c): the service could not write the export there", sp)
		}
	}
}

// hasValue reports whether one of values is not blank.
func hasValue(values []string) bool {
	for _, s := range values {
		if strings.TrimSpace(s) != "" {
			return true
		}
	}
	return false
}

// parseSASTime reads a SAS time in one of the forms Azure accepts.
func parseSASTime(s string) (time.Time, bool) {
	for _, layout := range sasExpiryLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
