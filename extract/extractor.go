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
// complete, is validated and compacted once onto the value so far; members
// still streaming are not shown.
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

// level is the entry-wise reading of one level of a YAML block: a
// sequence's items or a mapping's keys, each starting on a line at the
// level's indentation. Complete entries are parsed once and merged.
type level struct {
	kind   byte // 'm' mapping, 's' sequence, 0 not known yet
	indent int
	done   int // entries before this offset are merged
	entry  int // the entry still streaming starts here; -1 before the first
	m      map[string]any
	list   []any
	dup    bool // a key came twice: only a whole parse reports that right
}

func (l *level) reset(indent, at int) {
	*l = level{indent: indent, done: at, entry: -1}
}

// merge parses the complete entries in chunk and adds them.
func (l *level) merge(chunk []byte) error {
	var v any
	if err := yaml.Unmarshal(chunk, &v); err != nil {
		return err
	}
	switch v := jsonable(v).(type) {
	case nil: // comments only
	case map[string]any:
		if l.kind != 'm' {
			return errors.New("mapping in a sequence")
		}
		if l.m == nil {
			l.m = make(map[string]any, len(v))
		}
		for k, e := range v {
			if _, ok := l.m[k]; ok {
				l.dup = true
			}
			l.m[k] = e
		}
	case []any:
		if l.kind != 's' {
			return errors.New("sequence in a mapping")
		}
		l.list = append(l.list, v...)
	default:
		return errors.New("scalar document")
	}
	return nil
}

// value returns the level's value so far.
func (l *level) value() any {
	switch l.kind {
	case 0:
		return nil // "key:" with nothing under it
	case 's':
		if l.list == nil {
			return []any{}
		}
		return l.list
	}
	if l.m == nil {
		return map[string]any{}
	}
	return l.m
}

// yamlParser reads a block entry-wise on two levels: the top-level entries,
// and the entries of the value of the top-level key still streaming when
// that value is a nested block ("steps:" followed by indented items), so
// that a block made of one key with a long list is incremental too.
type yamlParser struct {
	begun   bool
	off     int // where the content starts
	scanned int // complete lines are scanned up to here
	end     int // a closing fence line starts here; -1 if none yet
	broken  bool
	top     level
	// firstEnd is where the first top-level entry after top.done ends, once
	// known: the child level belongs to the entry starting at top.done.
	firstEnd int
	child    level
	childKey string
	childOn  bool // the streaming top-level entry is "key:" with a nested block
}

// smallTail bounds the streaming entry parsed on its own for a snapshot.
const smallTail = 4 << 10

func (p *yamlParser) Snapshot(body []byte) (json.RawMessage, error) {
	if !p.begun {
		off, ok := contentStart(body)
		if !ok {
			return nil, nil
		}
		p.begun, p.off, p.scanned, p.end, p.firstEnd = true, off, off, -1, -1
		p.top.reset(0, off)
	}
	if !p.broken {
		p.advance(body, false)
	}
	if p.broken {
		return yamlWhole(body[p.off:])
	}
	v, ok := p.current(body)
	if !ok {
		return nil, nil
	}
	return json.Marshal(v)
}

// advance scans new complete lines and merges the entries they complete.
// At the end (final), the last line need not end with a newline and every
// entry is complete.
func (p *yamlParser) advance(body []byte, final bool) {
	p.scan(body, final)
	if p.broken {
		return
	}
	completeTo := p.top.entry
	if p.end >= 0 {
		completeTo = p.end
	} else if final {
		completeTo = p.scanned
	}
	if completeTo <= p.top.done {
		if err := p.childMerge(body); err != nil {
			p.childOn = false // shown whole or not at all, parsed once complete
		}
		return
	}
	if p.childOn && p.firstEnd < 0 {
		p.firstEnd = completeTo
	}
	if p.childOn {
		// The entry with the nested block is complete: finish its child
		// level, or parse the entry whole below if that fails.
		p.childOn = false
		if err := p.child.merge(body[p.child.done:p.firstEnd]); err == nil {
			p.finishChild()
		}
	}
	if completeTo > p.top.done {
		if err := p.top.merge(body[p.top.done:completeTo]); err != nil {
			p.broken = true
			return
		}
		p.top.done = completeTo
	}
	p.firstEnd = -1
	p.startChild(body)
	if err := p.childMerge(body); err != nil {
		p.childOn = false
	}
}

// finishChild sets the finished child level as its key's value.
func (p *yamlParser) finishChild() {
	if p.top.m == nil {
		p.top.m = map[string]any{}
	}
	if _, ok := p.top.m[p.childKey]; ok {
		p.top.dup = true
	}
	p.top.m[p.childKey] = p.child.value()
	p.top.dup = p.top.dup || p.child.dup
	p.top.done = p.firstEnd
}

// startChild checks whether the streaming top-level entry is "key:" with a
// nested block, and starts reading its child level if so.
func (p *yamlParser) startChild(body []byte) {
	p.childOn = false
	if p.top.kind != 'm' || p.top.entry < 0 || p.top.entry != p.top.done || p.end >= 0 {
		return
	}
	nl := bytes.IndexByte(body[p.top.entry:], '\n')
	if nl < 0 {
		return
	}
	header := body[p.top.entry : p.top.entry+nl+1]
	if !bytes.HasSuffix(bytes.TrimRight(header, " \t\r\n"), []byte(":")) || bytes.ContainsAny(header, "#&*!|>{[\"'") {
		return
	}
	var kv map[string]any
	if err := yaml.Unmarshal(header, &kv); err != nil || len(kv) != 1 {
		return
	}
	for k := range kv {
		p.childKey = k
	}
	p.childOn = true
	p.child.reset(-1, p.top.entry+nl+1)
	// Find the child entries among the lines already scanned.
	for i := p.child.done; i < p.scanned; {
		n := bytes.IndexByte(body[i:p.scanned], '\n')
		p.childLine(body[i:i+n+1], i)
		i += n + 1
	}
}

// childLine reads one continuation line of the streaming top-level entry.
func (p *yamlParser) childLine(line []byte, at int) {
	indent := 0
	for indent < len(line) && line[indent] == ' ' {
		indent++
	}
	if indent == len(line) || line[indent] == '\n' || line[indent] == '\r' || line[indent] == '#' {
		return // blank or comment
	}
	item := line[indent] == '-' && (indent+1 == len(line) || line[indent+1] == ' ' || line[indent+1] == '\n' || line[indent+1] == '\r')
	if p.child.indent < 0 {
		p.child.indent = indent
		p.child.kind = 'm'
		if item {
			p.child.kind = 's'
		}
	}
	switch {
	case indent < p.child.indent:
		p.childOn = false // not a plain nested block
	case indent == p.child.indent:
		if item != (p.child.kind == 's') {
			p.childOn = false
			return
		}
		if p.child.entry < 0 {
			p.child.done = at
		}
		p.child.entry = at
	}
}

// childMerge merges the complete entries of the child level.
func (p *yamlParser) childMerge(body []byte) error {
	if !p.childOn || p.child.entry <= p.child.done {
		return nil
	}
	if err := p.child.merge(body[p.child.done:p.child.entry]); err != nil {
		return err
	}
	p.child.done = p.child.entry
	return nil
}

// scan reads complete lines (all lines if final), finding where top-level
// entries start.
func (p *yamlParser) scan(body []byte, final bool) {
	for p.end < 0 && p.scanned < len(body) {
		nl := bytes.IndexByte(body[p.scanned:], '\n')
		if nl < 0 {
			if !final {
				return
			}
			nl = len(body) - p.scanned - 1
		}
		at := p.scanned
		line := body[at : at+nl+1]
		p.scanned += nl + 1
		switch c := line[0]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '#':
			if p.childOn && p.firstEnd < 0 {
				p.childLine(line, at)
			}
			continue
		case bytes.HasPrefix(line, []byte("```")):
			p.end = at
			return
		case c == '-' && (len(line) == 1 || line[1] == ' ' || line[1] == '\n' || line[1] == '\r'):
			// A sequence item: a top-level entry unless it continues a
			// mapping's value ("key:\n- a").
			if p.top.kind == 0 {
				p.top.kind = 's'
			}
			if p.top.kind != 's' {
				if p.childOn && p.firstEnd < 0 {
					p.childLine(line, at)
				}
				continue
			}
		case c == '%' || bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("...")):
			p.broken = true // directives and several documents: read whole
			return
		default:
			if p.top.kind == 0 {
				p.top.kind = 'm'
			}
			if p.top.kind != 'm' {
				p.broken = true
				return
			}
		}
		// A new top-level entry: the one before it is complete.
		if p.childOn && p.firstEnd < 0 {
			p.firstEnd = at
		}
		p.top.entry = at
		if p.top.done == at || p.top.kind == 's' && p.top.entry == p.top.done {
			p.startChild(body)
		}
	}
}

// current returns the value so far: the merged entries, and the streaming
// entry as far as it is known.
func (p *yamlParser) current(body []byte) (any, bool) {
	if p.top.kind == 0 {
		return nil, false
	}
	var tail any
	switch {
	case p.end >= 0 || p.top.entry < p.top.done:
	case p.childOn:
		cv := p.child.value()
		if p.child.entry >= 0 && p.scanned-p.child.entry <= smallTail {
			var e any
			if yaml.Unmarshal(body[p.child.entry:p.scanned], &e) == nil {
				switch e := jsonable(e).(type) {
				case []any:
					cv = append(p.child.list[:len(p.child.list):len(p.child.list)], e...)
				case map[string]any:
					m := make(map[string]any, len(p.child.m)+len(e))
					for k, v := range p.child.m {
						m[k] = v
					}
					for k, v := range e {
						m[k] = v
					}
					cv = m
				}
			}
		}
		tail = map[string]any{p.childKey: cv}
	case p.top.entry >= 0 && p.top.entry < p.scanned:
		// Parsed whole each snapshot; the sink spaces snapshots out as the
		// body grows, so this stays linear in total.
		if yaml.Unmarshal(body[p.top.entry:p.scanned], &tail) != nil {
			tail = nil
		}
		tail = jsonable(tail)
	}
	switch p.top.kind {
	case 'm':
		t, _ := tail.(map[string]any)
		if len(p.top.m) == 0 && len(t) == 0 {
			return nil, false
		}
		m := make(map[string]any, len(p.top.m)+len(t))
		for k, v := range p.top.m {
			m[k] = v
		}
		for k, v := range t {
			m[k] = v
		}
		return m, true
	default:
		list := p.top.list
		if t, ok := tail.([]any); ok {
			list = append(list[:len(list):len(list)], t...)
		}
		if len(list) == 0 {
			return nil, false
		}
		return list, true
	}
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

// Finish completes the entry-wise reading when it went cleanly, so that
// the body is parsed once in all; otherwise, or when a key came twice
// (which only a whole parse rejects), it parses the body whole.
func (p *yamlParser) Finish(body []byte) (json.RawMessage, error) {
	if !p.begun {
		off, ok := contentStart(body)
		if !ok {
			return yamlWhole(unfence(body))
		}
		p.begun, p.off, p.scanned, p.end, p.firstEnd = true, off, off, -1, -1
		p.top.reset(0, off)
	}
	if !p.broken {
		p.advance(body, true)
	}
	if p.broken || p.top.dup || p.top.kind == 0 {
		return yamlWhole(unfence(body))
	}
	if p.end >= 0 {
		// Only the closing fence and blank text may follow the content.
		if rest := body[p.end:]; !onlyFence(rest) {
			return yamlWhole(unfence(body))
		}
	}
	return json.Marshal(p.top.value())
}

// onlyFence reports whether b is a fence line followed by blank text.
func onlyFence(b []byte) bool {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return true
	}
	return len(bytes.TrimSpace(b[nl:])) == 0
}

// ---- JSON -----------------------------------------------------------------------

type jsonParser struct {
	begun   bool
	pos     int // scanned up to here
	depth   int
	inStr   bool
	esc     bool
	kind    byte // '{' or '['
	member  int  // where the member being scanned starts
	closed  bool
	broken  bool
	acc     bytes.Buffer // the complete members so far, compacted, after the opening bracket
	n       int          // members in acc
	tmp     bytes.Buffer
	scratch []byte
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

// add compacts one complete member (which validates it) onto the value
// so far.
func (p *jsonParser) add(member []byte) {
	member = bytes.TrimSpace(member)
	if len(member) == 0 {
		return
	}
	if p.acc.Len() == 0 {
		p.acc.WriteByte(p.kind)
	}
	if p.n > 0 {
		p.acc.WriteByte(',')
	}
	if p.kind == '[' {
		n := p.acc.Len()
		if err := json.Compact(&p.acc, member); err != nil {
			p.acc.Truncate(n)
			p.broken = true
			return
		}
	} else {
		// An object member is not a JSON value: compact it as {member}.
		p.scratch = append(append(append(p.scratch[:0], '{'), member...), '}')
		p.tmp.Reset()
		if err := json.Compact(&p.tmp, p.scratch); err != nil {
			p.broken = true
			return
		}
		b := p.tmp.Bytes()
		p.acc.Write(b[1 : len(b)-1])
	}
	p.n++
}

func (p *jsonParser) value(before int) (json.RawMessage, error) {
	if p.broken || p.n == before {
		return nil, nil
	}
	closer := byte(']')
	if p.kind == '{' {
		closer = '}'
	}
	out := make([]byte, p.acc.Len()+1)
	copy(out, p.acc.Bytes())
	out[len(out)-1] = closer
	return out, nil
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
