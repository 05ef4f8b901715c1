package extract

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Extractor makes a Parser for each block with the tag it is registered
// for. Extractors are shared by all streams and must be safe for concurrent
// use; the Parsers they make are used by one stream at a time.
type Extractor interface {
	NewParser() Parser
}

// ExtractorFunc adapts a function to an Extractor.
type ExtractorFunc func() Parser

// NewParser implements Extractor by calling f.
func (f ExtractorFunc) NewParser() Parser { return f() }

// Parser parses the body of one block as it streams.
//
// Each call receives the body so far: every body extends the one before it,
// so a parser can remember how far it has read and go on from there. The
// body is only valid during the call and must not be modified or retained.
type Parser interface {
	// Snapshot returns the best value parsed so far, as JSON, or nil when
	// it has nothing (new) to show. An error only skips the snapshot.
	Snapshot(body []byte) (json.RawMessage, error)
	// Finish returns the value of the whole body, as JSON. An error makes
	// the block malformed.
	Finish(body []byte) (json.RawMessage, error)
}

// Text returns an Extractor whose value is the block's body as a JSON
// string. It takes no snapshots.
func Text() Extractor { return ExtractorFunc(func() Parser { return textParser{} }) }

type textParser struct{}

func (textParser) Snapshot([]byte) (json.RawMessage, error) { return nil, nil }
func (textParser) Finish(body []byte) (json.RawMessage, error) {
	return json.Marshal(string(body))
}

// YAML returns an Extractor that parses blocks as YAML (with or without a
// surrounding ``` code fence) and gives their value as JSON, objects with
// sorted keys. Snapshots are incremental: each complete top-level entry (a
// mapping key or a sequence item starting at column 0) is parsed once and
// merged into the value so far; the entry still streaming is parsed on its
// own and shown if it parses. Documents the entry-wise reading cannot
// follow (anchors used across entries, several documents, a top-level
// scalar) fall back to parsing the whole body per snapshot. The completed
// value always comes from one parse of the whole body.
func YAML() Extractor { return ExtractorFunc(func() Parser { return &yamlParser{} }) }

// JSON returns an Extractor that parses blocks as JSON (with or without a
// surrounding ``` code fence). The completed value is the body compacted.
// Snapshots are incremental for an object or array: each member, once
// complete, is parsed once and merged; members still streaming are not
// shown.
func JSON() Extractor { return ExtractorFunc(func() Parser { return &jsonParser{} }) }

// ---- fences ---------------------------------------------------------------

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// contentStart returns where a body's content starts, after blank lines and
// an opening ``` fence line, and false if that is not known yet.
func contentStart(b []byte) (int, bool) {
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	if !bytes.HasPrefix(b[i:], []byte("```")) {
		if i == len(b) || len(b)-i < 3 && bytes.HasPrefix([]byte("```"), b[i:]) {
			return 0, false
		}
		return 0, true
	}
	nl := bytes.IndexByte(b[i:], '\n')
	if nl < 0 {
		return 0, false
	}
	return i + nl + 1, true
}

// unfence returns the body without a surrounding ``` code fence.
func unfence(b []byte) []byte {
	if start, ok := contentStart(b); ok {
		b = b[start:]
	}
	if k := fenceLine(b, 0); k >= 0 {
		b = b[:k]
	}
	return b
}

// fenceLine returns the offset of the first line at or after from that
// starts with ```, or -1.
func fenceLine(b []byte, from int) int {
	for i := from; i < len(b); {
		if bytes.HasPrefix(b[i:], []byte("```")) {
			return i
		}
		nl := bytes.IndexByte(b[i:], '\n')
		if nl < 0 {
			return -1
		}
		i += nl + 1
	}
	return -1
}

// ---- JSON conversion ----------------------------------------------------------

// jsonable turns YAML values into values encoding/json can write: maps with
// non-string keys get string keys.
func jsonable(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonable(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonable(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = jsonable(e)
		}
		return v
	}
	return v
}

// ---- YAML -----------------------------------------------------------------------

type yamlParser struct {
	begun   bool
	off     int  // where the content starts
	scanned int  // complete lines are scanned up to here
	entry   int  // start of the entry still streaming; -1 before the first
	done    int  // content up to here is parsed into m or list
	end     int  // a closing fence line starts here; -1 if none yet
	kind    byte // 'm' mapping, 's' sequence, 0 not known yet
	broken  bool // entry-wise parsing gave up
	m       map[string]any
	list    []any
}

func (p *yamlParser) Snapshot(body []byte) (json.RawMessage, error) {
	if !p.begun {
		off, ok := contentStart(body)
		if !ok {
			return nil, nil
		}
		p.begun, p.off, p.scanned, p.done, p.entry, p.end = true, off, off, off, -1, -1
	}
	if p.broken {
		return yamlWhole(body[p.off:])
	}
	p.scan(body)
	if p.broken {
		return yamlWhole(body[p.off:])
	}
	// Complete entries: parse once and merge.
	completeTo := p.entry
	if p.end >= 0 {
		completeTo = p.end
	}
	if completeTo > p.done {
		if err := p.merge(body[p.done:completeTo]); err != nil {
			p.broken = true
			return yamlWhole(body[p.off:])
		}
		p.done = completeTo
	}
	// The entry still streaming: shown if it parses on its own.
	var tail any
	if p.end < 0 && p.entry >= 0 && p.entry < p.scanned {
		if err := yaml.Unmarshal(body[p.entry:p.scanned], &tail); err != nil {
			tail = nil
		}
	}
	return p.value(tail)
}

// scan reads complete lines, finding where top-level entries start.
func (p *yamlParser) scan(body []byte) {
	for p.end < 0 {
		nl := bytes.IndexByte(body[p.scanned:], '\n')
		if nl < 0 {
			return
		}
		line := body[p.scanned : p.scanned+nl+1]
		switch c := line[0]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '#':
			// continuation, blank or comment
		case bytes.HasPrefix(line, []byte("```")):
			p.end = p.scanned
		case c == '-' && (len(line) == 1 || line[1] == ' ' || line[1] == '\n' || line[1] == '\r'):
			// A sequence item: a top-level entry unless it continues a
			// mapping's value ("key:\n- a").
			if p.kind == 0 {
				p.kind = 's'
			}
			if p.kind == 's' {
				p.entry = p.scanned
			}
		case c == '%' || bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("...")):
			p.broken = true // directives and several documents: read whole
			return
		default:
			if p.kind == 0 {
				p.kind = 'm'
			}
			if p.kind != 'm' {
				p.broken = true
				return
			}
			p.entry = p.scanned
		}
		p.scanned += nl + 1
	}
}

// merge parses complete entries and adds them to the value so far.
func (p *yamlParser) merge(chunk []byte) error {
	var v any
	if err := yaml.Unmarshal(chunk, &v); err != nil {
		return err
	}
	switch v := jsonable(v).(type) {
	case nil: // comments only
	case map[string]any:
		if p.kind != 'm' {
			return errors.New("mapping in a sequence")
		}
		if p.m == nil {
			p.m = make(map[string]any, len(v))
		}
		for k, e := range v {
			p.m[k] = e
		}
	case []any:
		if p.kind != 's' {
			return errors.New("sequence in a mapping")
		}
		p.list = append(p.list, v...)
	default:
		return errors.New("scalar document")
	}
	return nil
}

// value writes the value so far, with the streaming entry's tail merged in
// for the moment.
func (p *yamlParser) value(tail any) (json.RawMessage, error) {
	switch p.kind {
	case 'm':
		m := p.m
		if m == nil {
			m = map[string]any{}
		}
		if t, ok := jsonable(tail).(map[string]any); ok && len(t) > 0 {
			type saved struct {
				v   any
				had bool
			}
			old := make(map[string]saved, len(t))
			for k, e := range t {
				v, had := m[k]
				old[k] = saved{v, had}
				m[k] = e
			}
			defer func() {
				for k, o := range old {
					if o.had {
						m[k] = o.v
					} else {
						delete(m, k)
					}
				}
			}()
		}
		if len(m) == 0 {
			return nil, nil
		}
		return json.Marshal(m)
	case 's':
		list := p.list
		if t, ok := jsonable(tail).([]any); ok {
			list = append(list[:len(list):len(list)], t...)
		}
		if len(list) == 0 {
			return nil, nil
		}
		return json.Marshal(list)
	}
	return nil, nil
}

// yamlWhole parses a whole body (without its fences).
func yamlWhole(b []byte) (json.RawMessage, error) {
	if k := fenceLine(b, 0); k >= 0 {
		b = b[:k]
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return json.Marshal(jsonable(v))
}

func (p *yamlParser) Finish(body []byte) (json.RawMessage, error) {
	return yamlWhole(unfence(body))
}

// ---- JSON -----------------------------------------------------------------------

type jsonParser struct {
	begun  bool
	pos    int // scanned up to here
	depth  int
	inStr  bool
	esc    bool
	kind   byte // '{' or '['
	member int  // where the member being scanned starts
	closed bool
	broken bool
	m      map[string]any
	list   []any
	n      int // members merged
}

func (p *jsonParser) Snapshot(body []byte) (json.RawMessage, error) {
	if !p.begun {
		off, ok := contentStart(body)
		if !ok {
			return nil, nil
		}
		for off < len(body) && isSpace(body[off]) {
			off++
		}
		if off == len(body) {
			return nil, nil
		}
		p.begun = true
		switch c := body[off]; c {
		case '{', '[':
			p.kind, p.depth, p.pos, p.member = c, 1, off+1, off+1
		default:
			p.broken = true
		}
	}
	if p.broken || p.closed {
		return nil, nil
	}
	before := p.n
	for i := p.pos; i < len(body); i++ {
		c := body[i]
		if p.inStr {
			switch {
			case p.esc:
				p.esc = false
			case c == '\\':
				p.esc = true
			case c == '"':
				p.inStr = false
			}
			continue
		}
		switch c {
		case '"':
			p.inStr = true
		case '{', '[':
			p.depth++
		case '}', ']':
			p.depth--
			if p.depth == 0 {
				p.closed = true
				p.add(body[p.member:i])
				p.pos = len(body)
				return p.value(before)
			}
		case ',':
			if p.depth == 1 {
				p.add(body[p.member:i])
				p.member = i + 1
			}
		}
		if p.broken {
			return nil, nil
		}
	}
	p.pos = len(body)
	return p.value(before)
}

// add parses one complete member and merges it.
func (p *jsonParser) add(member []byte) {
	member = bytes.TrimSpace(member)
	if len(member) == 0 {
		return
	}
	if p.kind == '{' {
		buf := make([]byte, 0, len(member)+2)
		buf = append(append(append(buf, '{'), member...), '}')
		var v map[string]any
		if err := json.Unmarshal(buf, &v); err != nil {
			p.broken = true
			return
		}
		if p.m == nil {
			p.m = map[string]any{}
		}
		for k, e := range v {
			p.m[k] = e
		}
	} else {
		var v any
		if err := json.Unmarshal(member, &v); err != nil {
			p.broken = true
			return
		}
		p.list = append(p.list, v)
	}
	p.n++
}

func (p *jsonParser) value(before int) (json.RawMessage, error) {
	if p.broken || p.n == before {
		return nil, nil
	}
	if p.kind == '{' {
		return json.Marshal(p.m)
	}
	return json.Marshal(p.list)
}

func (p *jsonParser) Finish(body []byte) (json.RawMessage, error) {
	b := bytes.TrimSpace(unfence(body))
	if !json.Valid(b) {
		var v any
		err := json.Unmarshal(b, &v) // for the error's text
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(b))
	if err := json.Compact(&out, b); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
