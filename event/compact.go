package event

import (
	"encoding/json"
	"unicode/utf8"
)

// appendCompact appends the JSON value held in s to b in its compact form:
// the white space between tokens (spaces, tabs, CR and LF) is removed, and
// each byte of invalid UTF-8 inside a string becomes the escape \ufffd.
// Everything else — the spelling of numbers, escapes, the order of members,
// duplicate keys — is kept byte for byte, so the value means exactly what
// it meant before. It fails, wrapping errSyntax, unless s is exactly one
// JSON value.
//
// This is the form in which raw payloads (event.Raw) are decoded and
// encoded, so that every encoded event is valid JSON on one line.
func appendCompact(b []byte, s string) ([]byte, error) {
	r := reader{s: s}
	if err := r.skipValue(0); err != nil {
		return b, err
	}
	if err := r.end(); err != nil {
		return b, err
	}
	start := 0
	for i := 0; i < len(s); {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\r':
			b = append(b, s[start:i]...)
			i++
			start = i
		case '"':
			b = append(b, s[start:i]...)
			i = appendCompactString(&b, s, i)
			start = i
		default:
			i++
		}
	}
	return append(b, s[start:]...), nil
}

// appendCompactString appends the string that starts with the quote at
// s[i], already checked by the reader, replacing invalid UTF-8 with \ufffd.
// It returns the index after the closing quote.
func appendCompactString(b *[]byte, s string, i int) int {
	start := i
	for i++; ; {
		c := s[i]
		switch {
		case c == '"':
			*b = append(*b, s[start:i+1]...)
			return i + 1
		case c == '\\':
			i += 2 // an escape: \uXXXX goes on as plain ASCII
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				*b = append(*b, s[start:i]...)
				*b = append(*b, `\ufffd`...)
				start = i + 1
			}
			i += size
		}
	}
}

// compactValid reports whether data is one JSON value already in compact
// form (as appendCompact writes it), without allocating: the common case,
// which then needs no copy.
func compactValid(data []byte) bool {
	if !utf8.Valid(data) || !json.Valid(data) {
		return false
	}
	inString := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return true
}
