package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// minSecret is the shortest secret hunted for: shorter ones would match
// ordinary text.
const minSecret = 4

// minBase64Core is the shortest run of base64 characters hunted for when a
// secret is encoded inside a longer base64 text.
const minBase64Core = 8

// secretForms returns secret in every encoding it may take in text that
// reaches an error or a log: verbatim; percent-encoded once or twice, as a
// query or a path, with upper- or lower-case hex; JSON-escaped (with or
// without HTML escaping, with "/" escaped or not); base64 in the standard
// and URL alphabets, padded or not, and the part of its encoding that
// stays the same wherever it sits inside a longer base64 text.
func secretForms(secret string) []string {
	if len(secret) < minSecret || strings.Contains(Marker, secret) {
		return nil
	}
	set := map[string]bool{}
	add := func(s string) {
		if len(s) >= minSecret && !strings.Contains(Marker, s) {
			set[s] = true
		}
	}
	for _, p := range percentForms(secret) {
		add(p)
		add(lowerHex(p))
	}
	for _, j := range jsonForms(secret) {
		add(j)
	}
	for _, b := range base64Forms(secret) {
		add(b)
		add(url.QueryEscape(b))
	}
	forms := make([]string, 0, len(set))
	for f := range set {
		forms = append(forms, f)
	}
	// Longest first: a form that contains another is replaced whole.
	sort.Slice(forms, func(i, j int) bool {
		if len(forms[i]) != len(forms[j]) {
			return len(forms[i]) > len(forms[j])
		}
		return forms[i] < forms[j]
	})
	return forms
}

// percentForms: secret verbatim and percent-encoded once and twice.
func percentForms(secret string) []string {
	once := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	forms := once
	for _, o := range once[1:] {
		forms = append(forms, url.QueryEscape(o), url.PathEscape(o))
	}
	return forms
}

// lowerHex writes the hex digits of every %XX of s in lower case, as some
// encoders do.
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] != '%' {
			continue
		}
		for _, j := range []int{i + 1, i + 2} {
			if 'A' <= b[j] && b[j] <= 'F' {
				b[j] += 'a' - 'A'
			}
		}
	}
	return string(b)
}

// jsonForms: secret as it appears inside a JSON string.
func jsonForms(secret string) []string {
	html, _ := json.Marshal(secret)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(secret)
	plain := strings.TrimSpace(b.String())
	var forms []string
	for _, q := range []string{string(html), plain} {
		q = q[1 : len(q)-1]
		forms = append(forms, q, strings.ReplaceAll(q, "/", `\/`))
	}
	return forms
}

// base64Forms: the whole encodings, and for each of the three byte offsets
// the secret can start at inside a longer encoded text, the characters that
// depend on the secret's bytes alone.
func base64Forms(secret string) []string {
	var forms []string
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		forms = append(forms, enc.EncodeToString([]byte(secret)))
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for k := 1; k <= 2; k++ {
			padded := append(make([]byte, k), secret...)
			e := enc.EncodeToString(padded)
			start, end := (8*k+5)/6, 8*len(padded)/6
			if end-start >= minBase64Core {
				forms = append(forms, e[start:end])
			}
		}
		if e := enc.EncodeToString([]byte(secret)); len(e) > minBase64Core {
			forms = append(forms, e[:8*len(secret)/6]) // offset 0, without the last partial character
		}
	}
	return forms
}

// Scrubber removes a set of known secrets, in every encoding, and the
// credentials the patterns find. It is safe for concurrent use.
type Scrubber struct {
	forms    []string
	replacer *strings.Replacer
}

// NewScrubber prepares the forms of secrets; secrets may be empty.
func NewScrubber(secrets []string) *Scrubber {
	var forms []string
	for _, s := range secrets {
		forms = append(forms, secretForms(s)...)
	}
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	s := &Scrubber{forms: forms}
	if len(forms) > 0 {
		pairs := make([]string, 0, 2*len(forms))
		for _, f := range forms {
			pairs = append(pairs, f, Marker)
		}
		s.replacer = strings.NewReplacer(pairs...)
	}
	return s
}

// Scrub returns text without the known secrets and pattern credentials.
func (s *Scrubber) Scrub(text string) string {
	if s.replacer != nil {
		// Replacing can join the text around a secret into another copy of
		// it: repeat a few times, and give up the whole text if that is
		// not enough.
		for pass := 0; ; pass++ {
			next := s.replacer.Replace(text)
			if next == text {
				break
			}
			if pass == 8 {
				return Marker
			}
			text = next
		}
	}
	return redactPatterns(text)
}

// Redact is Scrub for text of any kind: JSON text is scrubbed string by
// string (see scrubJSON) and stays valid JSON; other text as Scrub does.
func (s *Scrubber) Redact(text string) string {
	if json.Valid([]byte(text)) {
		return s.scrubJSON(text)
	}
	return s.Scrub(text)
}

// scrubJSON redacts each string of a valid JSON text on its own, decoded:
// a secret in any escaping is found, the value of a sensitive member is
// replaced whole, and the result is valid JSON again.
func (s *Scrubber) scrubJSON(text string) string {
	var b strings.Builder
	key := ""
	for i := 0; i < len(text); {
		c := text[i]
		if c != '"' {
			if c == '{' || c == '}' {
				key = "" // a member of another object
			}
			b.WriteByte(c)
			i++
			continue
		}
		end := stringEnd(text, i)
		lit := text[i:end]
		i = end
		var v string
		if json.Unmarshal([]byte(lit), &v) != nil {
			b.WriteString(lit)
			continue
		}
		isKey := strings.HasPrefix(strings.TrimLeft(text[i:], " \t\r\n"), ":")
		clean := s.Scrub(v)
		if !isKey && sensitiveMember(key) {
			clean = Marker
		}
		if isKey {
			key = v
		}
		if clean == v {
			b.WriteString(lit)
			continue
		}
		q, _ := json.Marshal(clean)
		b.Write(q)
	}
	return b.String()
}

// stringEnd returns the index just past the JSON string literal starting at
// text[start] (a quote).
func stringEnd(text string, start int) int {
	for i := start + 1; i < len(text); i++ {
		switch text[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(text)
}
