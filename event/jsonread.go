package event

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of JSON values the decoder will skip over, so
// that hostile input cannot exhaust the stack.
const maxDepth = 512

// errSyntax is wrapped into every syntax error of the reader; callers see it
// through ErrMalformed.
var errSyntax = errors.New("syntax error")

// reader is a small, strict JSON scanner over a string. Strings without
// escapes are returned as substrings of the input, so decoding an event
// allocates one copy of the input for all of its string fields.
type reader struct {
	s   string
	pos int
}

func (r *reader) fail(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", errSyntax, r.pos, fmt.Sprintf(format, args...))
}

func (r *reader) ws() {
	for r.pos < len(r.s) {
		switch r.s[r.pos] {
		case ' ', '\t', '\n', '\r':
			r.pos++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end of input.
func (r *reader) peek() byte {
	r.ws()
	if r.pos >= len(r.s) {
		return 0
	}
	return r.s[r.pos]
}

func (r *reader) expect(c byte) error {
	if r.peek() != c {
		if r.pos >= len(r.s) {
			return r.fail("unexpected end of input, want %q", c)
		}
		return r.fail("unexpected %q, want %q", r.s[r.pos], c)
	}
	r.pos++
	return nil
}

// null consumes a JSON null if one is next and reports whether it did.
func (r *reader) null() bool {
	if r.peek() == 'n' && len(r.s)-r.pos >= 4 && r.s[r.pos:r.pos+4] == "null" {
		r.pos += 4
		return true
	}
	return false
}

// object calls field for every member of the object that comes next. field
// must consume the member's value.
func (r *reader) object(field func(key string) error) error {
	if err := r.openObject(); err != nil {
		return err
	}
	for first := true; ; {
		key, ok, err := r.member(&first)
		if err != nil || !ok {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
	}
}

// str reads a JSON string.
func (r *reader) str() (string, error) {
	switch r.peek() {
	case '"':
	case 0:
		return "", r.fail("unexpected end of input, expected string")
	default:
		return "", r.fail("expected string")
	}
	r.pos++
	start := r.pos
	nonASCII := false
	for i := start; i < len(r.s); i++ {
		c := r.s[i]
		if plainByte[c] {
			continue
		}
		switch {
		case c == '"':
			out := r.s[start:i]
			if nonASCII && !utf8.ValidString(out) {
				return r.strEscaped(start, start)
			}
			r.pos = i + 1
			return out, nil
		case c == '\\':
			if nonASCII && !utf8.ValidString(r.s[start:i]) {
				return r.strEscaped(start, start) // repair the invalid UTF-8 before the escape too
			}
			return r.strEscaped(start, i)
		case c < 0x20:
			r.pos = i
			return "", r.fail("control character in string")
		default:
			nonASCII = true
		}
	}
	r.pos = len(r.s)
	return "", r.fail("unterminated string")
}

// plainByte marks the bytes a string can hold as they are: printable ASCII
// other than the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// strEscaped finishes a string that needs unescaping (or repair of invalid
// UTF-8, which is replaced by U+FFFD as encoding/json does).
func (r *reader) strEscaped(start, i int) (string, error) {
	buf := make([]byte, 0, i-start+16)
	buf = append(buf, r.s[start:i]...)
	for i < len(r.s) {
		c := r.s[i]
		switch {
		case c == '"':
			r.pos = i + 1
			return string(buf), nil
		case c < 0x20:
			r.pos = i
			return "", r.fail("control character in string")
		case c == '\\':
			if i+1 >= len(r.s) {
				r.pos = i
				return "", r.fail("unterminated escape")
			}
			e := r.s[i+1]
			i += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				rn, ok := hex4(r.s, i)
				if !ok {
					r.pos = i
					return "", r.fail("bad \\u escape")
				}
				i += 4
				if utf16.IsSurrogate(rn) {
					rn2, ok2 := rune(0), false
					if i+6 <= len(r.s) && r.s[i] == '\\' && r.s[i+1] == 'u' {
						rn2, ok2 = hex4(r.s, i+2)
					}
					if dec := utf16.DecodeRune(rn, rn2); ok2 && dec != utf8.RuneError {
						i += 6
						rn = dec
					} else {
						rn = utf8.RuneError
					}
				}
				buf = utf8.AppendRune(buf, rn)
			default:
				r.pos = i - 1
				return "", r.fail("bad escape \\%c", e)
			}
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			rn, size := utf8.DecodeRuneInString(r.s[i:])
			if rn == utf8.RuneError && size == 1 {
				buf = append(buf, "\uFFFD"...)
			} else {
				buf = append(buf, r.s[i:i+size]...)
			}
			i += size
		}
	}
	r.pos = len(r.s)
	return "", r.fail("unterminated string")
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var v rune
	for _, c := range []byte(s[i : i+4]) {
		v <<= 4
		switch {
		case '0' <= c && c <= '9':
			v |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			v |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			v |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

// number returns the text of the JSON number that comes next, checked
// against the JSON grammar.
func (r *reader) number() (string, error) {
	r.ws()
	start := r.pos
	i := r.pos
	s := r.s
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return "", r.fail("expected number")
	}
	if i < len(s) && s[i] == '.' {
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			r.pos = i
			return "", r.fail("expected digit after decimal point")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			r.pos = i
			return "", r.fail("expected digit in exponent")
		}
	}
	r.pos = i
	return s[start:i], nil
}

// int reads a JSON number that must be an integer in int64 range.
func (r *reader) int() (int64, error) {
	n, err := r.number()
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseInt(n, 10, 64)
	if perr != nil {
		return 0, r.fail("want an integer, got %.40s", n)
	}
	return v, nil
}

// uint reads a JSON number that must be a non-negative integer.
func (r *reader) uint() (uint64, error) {
	n, err := r.number()
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseUint(n, 10, 64)
	if perr != nil {
		return 0, r.fail("want a non-negative integer, got %.40s", n)
	}
	return v, nil
}

func (r *reader) bool() (bool, error) {
	r.ws()
	switch {
	case len(r.s)-r.pos >= 4 && r.s[r.pos:r.pos+4] == "true":
		r.pos += 4
		return true, nil
	case len(r.s)-r.pos >= 5 && r.s[r.pos:r.pos+5] == "false":
		r.pos += 5
		return false, nil
	}
	return false, r.fail("expected true or false")
}

// skip consumes any JSON value and returns its text.
func (r *reader) skip() (string, error) {
	r.ws()
	start := r.pos
	if err := r.skipValue(0); err != nil {
		return "", err
	}
	return r.s[start:r.pos], nil
}

func (r *reader) skipValue(depth int) error {
	if depth > maxDepth {
		return r.fail("nesting deeper than %d", maxDepth)
	}
	switch c := r.peek(); {
	case c == '{':
		return r.object(func(string) error { return r.skipValue(depth + 1) })
	case c == '[':
		r.pos++
		if r.peek() == ']' {
			r.pos++
			return nil
		}
		for {
			if err := r.skipValue(depth + 1); err != nil {
				return err
			}
			switch r.peek() {
			case ',':
				r.pos++
			case ']':
				r.pos++
				return nil
			default:
				return r.fail("expected ',' or ']' in array")
			}
		}
	case c == '"':
		_, err := r.str()
		return err
	case c == 't' || c == 'f':
		_, err := r.bool()
		return err
	case c == 'n':
		if r.null() {
			return nil
		}
		return r.fail("expected null")
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := r.number()
		return err
	case c == 0:
		return r.fail("unexpected end of input")
	default:
		return r.fail("unexpected %q", c)
	}
}

// end checks that nothing but white space follows.
func (r *reader) end() error {
	if r.peek() != 0 {
		return r.fail("unexpected data after value")
	}
	return nil
}

// openObject consumes the '{' that starts an object; member then walks it.
func (r *reader) openObject() error { return r.expect('{') }

// member reads the key of the next member of an object opened with
// openObject, leaving the value to the caller. ok is false at the closing
// brace. first must point to true before the first call.
func (r *reader) member(first *bool) (key string, ok bool, err error) {
	c := r.peek()
	switch {
	case c == '}':
		r.pos++
		return "", false, nil
	case *first:
		*first = false
	case c == ',':
		r.pos++
	default:
		return "", false, r.fail("expected ',' or '}' in object")
	}
	if key, err = r.str(); err != nil {
		return "", false, err
	}
	if err = r.expect(':'); err != nil {
		return "", false, err
	}
	return key, true, nil
}
