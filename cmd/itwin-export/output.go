package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/itchyny/gojq"
)

// Caps on what one piece of server text may take on the screen: a hostile
// or broken server must not flood the terminal (a 5 MB Location).
const (
	maxValue = 2048     // one value: an id, a message, a Location
	maxLine  = 16 << 10 // one line made of several values: an error line
)

// redactor removes the caller's credentials from text, in every encoding,
// and SAS signatures; its output of JSON text is still JSON. The client
// (wrapper.Client) is the redactor once it is built: it knows the secrets.
type redactor interface {
	Redact(text string) string
}

// outputFilter is the one path of server text to the streams: control
// characters and terminal escape sequences out, credentials redacted,
// each value capped.
type outputFilter struct {
	r redactor // nil until the credentials are known
	// jq is the --jq expression writeJSON applies; nil: none.
	jq *gojq.Code
}

// use makes r the redactor of everything printed from now on.
func (f *outputFilter) use(r redactor) { f.r = r }

// redact applies the redactor, if any.
func (f *outputFilter) redact(s string) string {
	if f.r == nil {
		return s
	}
	return f.r.Redact(s)
}

// text makes one value safe to print: sanitized, redacted, capped.
func (f *outputFilter) text(s string) string { return f.clean(s, false, maxValue) }

// jsonText is text for a string inside JSON output, where tabs and line
// breaks are escaped by the encoding and so are kept.
func (f *outputFilter) jsonText(s string) string { return f.clean(s, true, maxValue) }

// line makes a line of several values safe to print, as text does, with
// the larger cap of a line.
func (f *outputFilter) line(s string) string { return f.clean(s, false, maxLine) }

// Of a value longer than cleanWindow only the first cleanWindow bytes are
// cleaned (the rest would be cut anyway, and cleaning megabytes takes
// seconds), and of those the last tailGuard bytes are never shown: a secret
// cut in two by the window is not recognised there. tailGuard exceeds any
// token in any encoding.
const (
	cleanWindow = 64 << 10
	tailGuard   = 16 << 10
)

// clean sanitizes and redacts s, then caps it at limit bytes.
func (f *outputFilter) clean(s string, keepSpace bool, limit int) string {
	if len(s) <= cleanWindow {
		return capText(f.redact(sanitizeKeep(s, keepSpace)), limit)
	}
	head := f.redact(sanitizeKeep(s[:cleanWindow], keepSpace))
	head = head[:runeStart(head, min(limit, max(len(head)-tailGuard, 0)))]
	return fmt.Sprintf("%s…(cut: %d bytes in all)", head, len(s))
}

// escapes are terminal escape sequences: OSC (up to BEL or ST, or the end),
// CSI (7-bit and 8-bit) and the other two-byte ESC sequences.
var escapes = regexp.MustCompile("\x1b\\][^\x07\x1b]*(?:\x07|\x1b\\\\)?" +
	"|(?:\x1b\\[|\u009b)[0-?]*[ -/]*[@-~]?" +
	"|\x1b[ -~]?")

// sanitize removes terminal escape sequences, control characters (C0, DEL,
// C1) and bidirectional overrides; tabs and line breaks become spaces so
// that the words around them stay apart. Invalid UTF-8 is replaced.
func sanitize(s string) string { return sanitizeKeep(s, false) }

// sanitizeKeep is sanitize, keeping tabs and line breaks when keepSpace.
func sanitizeKeep(s string, keepSpace bool) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = escapes.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		switch {
		case (r == '\t' || r == '\n' || r == '\r') && keepSpace:
			return r
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return -1
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			return -1
		}
		return r
	}, s)
}

// capText cuts s to at most limit bytes (on a character boundary) and says
// how much was cut.
func capText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := runeStart(s, limit)
	return fmt.Sprintf("%s…(%d bytes cut)", s[:cut], len(s)-cut)
}

// runeStart is the largest i <= n at which a character of s starts.
func runeStart(s string, n int) int {
	for n > 0 && n < len(s) && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// json rewrites a JSON value with every string (keys included) passed
// through text, keeping the order of members and every number as written.
// The result is valid JSON, indented.
func (f *outputFilter) json(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var (
		b     bytes.Buffer
		stack []int // per open object or array: tokens written so far, objects negative
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			b.WriteRune(rune(d))
			continue
		}
		if n := len(stack); n > 0 {
			b.WriteString(separator(stack[n-1]))
			if stack[n-1] < 0 {
				stack[n-1]--
			} else {
				stack[n-1]++
			}
		}
		switch t := tok.(type) {
		case json.Delim:
			b.WriteRune(rune(t))
			open := 1
			if t == '{' {
				open = -1
			}
			stack = append(stack, open)
		case string:
			appendJSONString(&b, f.jsonText(t))
		case json.Number:
			b.WriteString(t.String())
		default: // bool or nil
			v, _ := json.Marshal(t)
			b.Write(v)
		}
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// separator is what comes before the next token of an open value that has
// count tokens so far (count starts at -1 in an object, 1 in an array).
func separator(count int) string {
	switch {
	case count == -1 || count == 1:
		return ""
	case count < 0 && (-count)%2 == 0:
		return ":" // after a key
	}
	return ","
}

// appendJSONString writes s as a JSON string, without HTML escaping.
func appendJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}

// writeJSON writes v to w as indented JSON through the filter.
func (f *outputFilter) writeJSON(w io.Writer, v any) error {
	raw, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if raw, err = json.Marshal(v); err != nil {
			return err
		}
	}
	out, err := f.json(raw)
	if err != nil {
		return err
	}
	if f.jq != nil {
		return writeJQ(w, f.jq, out)
	}
	_, err = w.Write(out)
	return err
}

// fields writes one tab-separated line of server values.
func (f *outputFilter) fields(w io.Writer, values ...string) {
	for i, v := range values {
		values[i] = f.text(v)
	}
	fmt.Fprintln(w, strings.Join(values, "\t"))
}

// filterWriter passes each line written through the filter's redaction:
// the --verbose log, whose lines the logger already quotes.
type filterWriter struct {
	f *outputFilter
	w io.Writer
}

// Write redacts p line by line; it reports len(p) written when w took all.
func (fw filterWriter) Write(p []byte) (int, error) {
	lines := strings.SplitAfter(string(p), "\n")
	var b strings.Builder
	for _, l := range lines {
		body := strings.TrimSuffix(l, "\n")
		b.WriteString(fw.f.line(body))
		if len(body) < len(l) {
			b.WriteByte('\n')
		}
	}
	if _, err := io.WriteString(fw.w, b.String()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// verboseLogger is the logger of --verbose: every HTTP exchange on stderr,
// through the output filter.
func (a *app) verboseLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(filterWriter{&a.out, a.stderr}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
