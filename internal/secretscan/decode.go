package secretscan

import (
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
)

// maxDecodings bounds the texts Decodings returns, whatever the input.
const maxDecodings = 50000

// base64Run is a run of characters that could be base64 in either
// alphabet, long enough to hide a credential.
var base64Run = regexp.MustCompile(`[A-Za-z0-9+/_-]{6,}`)

// Decodings returns text and every text it decodes to, three levels deep:
// percent-decoded (with and without "+" as a space), JSON-unescaped, and
// each run of base64 characters decoded from each of its first four
// positions in both alphabets. A credential hidden by any encoding, or by
// a chain of them, is a substring of one of the results. It is written
// without the project's code so that it can find what that code misses.
func Decodings(text string) []string {
	seen := map[string]bool{text: true}
	out := []string{text}
	level := []string{text}
	for depth := 0; depth < 3 && len(level) > 0; depth++ {
		var next []string
		for _, t := range level {
			for _, d := range decodeOnce(t) {
				if !seen[d] && len(seen) < maxDecodings {
					seen[d] = true
					out = append(out, d)
					next = append(next, d)
				}
			}
		}
		level = next
	}
	return out
}

// decodeOnce is every one-step decoding of t.
func decodeOnce(t string) []string {
	out := []string{percentDecode(t, false), percentDecode(t, true), jsonUnescape(t)}
	for _, run := range base64Run.FindAllString(t, -1) {
		out = append(out, base64Decodings(run)...)
	}
	return out
}

// percentDecode decodes every valid %XX, leaving anything else as it is.
func percentDecode(s string, plusIsSpace bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			v, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b.WriteByte(byte(v))
			i += 2
		case s[i] == '+' && plusIsSpace:
			b.WriteByte(' ')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// jsonUnescape undoes the escapes of a JSON string wherever they appear.
func jsonUnescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+4 < len(s) {
				if v, err := strconv.ParseUint(s[i+1:i+5], 16, 32); err == nil {
					b.WriteString(string(rune(v)))
					i += 4
					continue
				}
			}
			b.WriteString(`\u`)
		default: // \" \\ \/ and anything else: the character itself
			b.WriteByte(c)
		}
	}
	return b.String()
}

// base64Decodings decodes run from each of its first four positions, in
// the standard and URL alphabets, as far as whole characters go; results
// that are not text are kept too (a secret is a substring of the bytes).
func base64Decodings(run string) []string {
	var out []string
	std := strings.NewReplacer("-", "+", "_", "/").Replace(run)
	for off := 0; off < 4 && off < len(std); off++ {
		s := std[off:]
		if len(s)%4 == 1 {
			s = s[:len(s)-1]
		}
		if d, err := base64.RawStdEncoding.DecodeString(s); err == nil && len(d) >= 4 {
			out = append(out, string(d))
		}
	}
	return out
}
