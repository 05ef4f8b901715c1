package printer

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sluice-events/sluice/event"
)

// maxValue is the longest string value Text prints in a key=value line;
// longer ones are cut, saying how many bytes were left out.
const maxValue = 512

// appendValue appends s, quoted if it is empty or holds a space, a quote, an
// equals sign or a character that is not printable.
func appendValue(b []byte, s string) []byte {
	if needsQuote(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

func needsQuote(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r <= ' ' || r == '"' || r == '=' || r == '\\' || r == 0x7f || r == utf8.RuneError ||
			!strconv.IsPrint(r) {
			return true
		}
	}
	return false
}

// appendSafe appends s with every control character that a terminal could
// act on made visible: C0 controls other than newline and tab, and DEL, as
// \xHH (so ESC, which starts every escape sequence, is \x1b); C1 controls
// (U+0080 to U+009F) as \uHHHH; bytes that are not UTF-8 as \xHH, since
// a terminal not in UTF-8 mode reads 0x9b as CSI. Text that comes from a
// model, a provider or a decoded event goes through it, so that it cannot
// set the window title, clear the screen or write the clipboard; the
// printer's own color sequences do not.
func appendSafe[S ~string | ~[]byte](b []byte, s S) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			i++
			continue
		}
		if c < 0x80 {
			b = append(b, s[start:i]...)
			b = appendHex(append(b, `\x`...), uint32(c), 2)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = appendHex(append(b, `\x`...), uint32(c), 2)
		case r <= 0x9f:
			b = append(b, s[start:i]...)
			b = appendHex(append(b, `\u`...), uint32(r), 4)
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return append(b, s[start:]...)
}

// appendHex appends v as n lowercase hexadecimal digits.
func appendHex(b []byte, v uint32, n int) []byte {
	const digits = "0123456789abcdef"
	for shift := 4 * (n - 1); shift >= 0; shift -= 4 {
		b = append(b, digits[v>>shift&0xf])
	}
	return b
}

// appendPair appends key=value, the value quoted if needed.
func appendPair(b []byte, key, value string) []byte {
	b = appendSafe(b, key)
	b = append(b, '=')
	return appendValue(b, value)
}

// truncate cuts s to at most maxValue bytes (see Cut).
func truncate(s string) string { return Cut(s, maxValue) }

// Cut returns s if it has at most max bytes, else its first max bytes or
// fewer, cut on a character boundary, followed by a note of how many bytes
// were left out: "…(+1234 bytes)".
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(+" + strconv.Itoa(len(s)-cut) + " bytes)"
}

func sortedKeys(m map[string]string) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// formatDuration rounds d to a precision a person reads at a glance.
func formatDuration(d time.Duration) string {
	switch a := d.Abs(); {
	case a >= time.Second:
		d = d.Round(time.Millisecond)
	case a >= time.Millisecond:
		d = d.Round(time.Microsecond)
	}
	return d.String()
}

// formatCost formats a cost in US dollars: "$0.0123", with more digits when
// four decimals would round a non-zero cost to nothing.
func formatCost(c float64) string {
	s := strconv.FormatFloat(c, 'f', 4, 64)
	if c != 0 && strings.Trim(s, "-0.") == "" {
		s = strings.TrimRight(strconv.FormatFloat(c, 'f', 10, 64), "0")
	}
	if strings.HasPrefix(s, "-") {
		return "-$" + s[1:]
	}
	return "$" + s
}

// appendUsage appends " input=N cached=N … output=N reasoning=N total=N"
// for the non-zero counts of u.
func appendUsage(b []byte, u event.Usage) []byte {
	for _, f := range [...]struct {
		k string
		v int64
	}{
		{"input", u.InputTokens}, {"cached", u.CachedTokens},
		{"cache_read", u.CacheReadTokens}, {"cache_write", u.CacheCreationTokens},
		{"output", u.OutputTokens}, {"reasoning", u.ReasoningTokens},
		{"total", u.TotalTokens},
	} {
		if f.v != 0 {
			b = append(b, ' ')
			b = append(b, f.k...)
			b = append(b, '=')
			b = strconv.AppendInt(b, f.v, 10)
		}
	}
	if u.Cumulative {
		b = append(b, " (totals so far)"...)
	}
	return b
}

// appendError appends "code: message (kind, retryable)".
func appendError(b []byte, e event.Error) []byte {
	b = appendSafe(b, e.Error())
	if e.Kind != "" || e.Retryable {
		b = append(b, " ("...)
		b = appendSafe(b, e.Kind)
		if e.Retryable {
			if e.Kind != "" {
				b = append(b, ", "...)
			}
			b = append(b, "retryable"...)
		}
		b = append(b, ')')
	}
	return b
}

// jsonIndent is the indentation of JSON printed under a line.
const jsonIndent = "  "

// appendIndentedJSON appends raw as indented JSON, each line indented under
// the line before; JSON that does not parse is appended as it is.
func appendIndentedJSON(b []byte, raw []byte) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return b
	}
	var out bytes.Buffer
	b = append(b, jsonIndent...)
	if err := json.Indent(&out, raw, jsonIndent, jsonIndent); err == nil {
		b = appendSafe(b, out.Bytes())
	} else {
		b = appendSafe(b, bytes.ReplaceAll(raw, []byte("\n"), []byte("\n"+jsonIndent)))
	}
	return append(b, '\n')
}

// appendPayloadFields appends " key=value" for each top-level field of the
// payload's JSON, in wire order, and reports whether it carries a non-empty
// "error". A payload that is not a JSON object is appended whole.
func appendPayloadFields(b []byte, p event.Payload) ([]byte, bool) {
	var raw []byte
	switch p := p.(type) {
	case nil:
		return b, false
	case event.Raw:
		raw = p.Data
	default:
		j, err := json.Marshal(p)
		if err != nil {
			b = append(b, " !payload="...)
			return appendValue(b, err.Error()), false
		}
		raw = j
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return b, false
	}
	if raw[0] != '{' {
		return appendCompact(append(b, ' '), raw), false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return appendCompact(append(b, ' '), raw), false
	}
	hasErr := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			break
		}
		b = append(b, ' ')
		var isErr bool
		b, isErr = appendField(b, key, v)
		hasErr = hasErr || isErr
	}
	return b, hasErr
}

// appendField appends key=value for one payload field, rendered for a
// person: durations (keys ending in "_ns") as durations, "cost" in
// dollars, "usage" as token counts and "error" as its description.
func appendField(b []byte, key string, v json.RawMessage) ([]byte, bool) {
	if len(v) == 0 {
		return appendPair(b, key, ""), false
	}
	switch c := v[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(v, &s) == nil {
			return appendPair(b, key, truncate(s)), false
		}
	case c == '{' && key == "error":
		var e event.Error
		if json.Unmarshal(v, &e) == nil {
			b = append(b, "error="...)
			return appendValue(b, string(appendError(nil, e))), !e.IsZero()
		}
	case c == '{' && key == "usage":
		var u event.Usage
		if json.Unmarshal(v, &u) == nil {
			if u == (event.Usage{}) {
				return append(b, "usage={}"...), false
			}
			return appendUsage(b[:len(b)-1], u), false
		}
	case c == '-' || (c >= '0' && c <= '9'):
		if key == "cost" {
			if f, err := strconv.ParseFloat(string(v), 64); err == nil {
				return append(append(appendSafe(b, key), '='), formatCost(f)...), false
			}
		}
		if k, ok := strings.CutSuffix(key, "_ns"); ok && k != "" {
			if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
				return append(append(appendSafe(b, k), '='), formatDuration(time.Duration(n))...), false
			}
		}
		return appendSafe(append(appendSafe(b, key), '='), v), false
	case c == 't' || c == 'f' || c == 'n':
		return appendSafe(append(appendSafe(b, key), '='), v), false
	}
	b = append(appendSafe(b, key), '=')
	return appendCompact(b, v), false
}

// appendCompact appends JSON without insignificant space, cut if long.
func appendCompact(b []byte, raw []byte) []byte {
	var out bytes.Buffer
	if json.Compact(&out, raw) != nil {
		out.Reset()
		out.Write(raw)
	}
	return appendSafe(b, truncate(out.String()))
}
