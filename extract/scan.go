package extract

import (
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-events/sluice/event"
)

// Tag limits: each of the three segments of <package:type:version> is 1 to
// maxSegment bytes of [A-Za-z0-9_.-].
const (
	maxSegment = 64
	maxTag     = 1 + 3*maxSegment + 2 + 1 // '<' seg ':' seg ':' seg '>'
)

// Malformed reasons, the Reason of event.ExtractBlockMalformed.
const (
	ReasonParse       = "parse"       // the extractor rejected the body
	ReasonUnclosed    = "unclosed"    // the text ended before the close tag
	ReasonTooLarge    = "too_large"   // the body outgrew the capture limit
	ReasonInterrupted = "interrupted" // the stream was interrupted (stream.interrupted)
	ReasonFailed      = "failed"      // the stream failed (stream.error, provider.call.failed)
)

// Errors carried (as event.Error messages) by malformed-block events, for
// errors.Is on the Go side of tests and custom policies.
var (
	ErrUnclosed = errors.New("extract: block not closed")
	ErrTooLarge = errors.New("extract: block larger than the capture limit")
	ErrStopped  = errors.New("extract: stream ended inside a block")
)

// tagStatus is the result of matching an open tag at the start of a text.
type tagStatus uint8

const (
	tagFail    tagStatus = iota // not an open tag
	tagPartial                  // a proper prefix of a possible open tag
	tagMatch                    // an open tag
)

func isSegByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// matchOpen matches an open tag <package:type:version> at the start of s,
// which starts with '<'. For tagMatch, n is the tag's length.
func matchOpen(s string) (n int, st tagStatus) {
	i := 1
	for seg := 0; seg < 3; seg++ {
		start := i
		for i < len(s) && isSegByte(s[i]) {
			i++
			if i-start > maxSegment {
				return 0, tagFail
			}
		}
		if i == len(s) {
			return 0, tagPartial
		}
		if i == start {
			return 0, tagFail
		}
		want := byte(':')
		if seg == 2 {
			want = '>'
		}
		if s[i] != want {
			return 0, tagFail
		}
		i++
	}
	return i, tagMatch
}

// ValidTag reports whether tag is a valid block tag: package:type:version,
// each part 1 to 64 bytes of letters, digits, '_', '.' and '-'.
func ValidTag(tag string) bool {
	n, st := matchOpen("<" + tag + ">")
	return st == tagMatch && n == len(tag)+2
}

// item is one piece of a scanner's output, in order: text (p == nil) or an
// event payload.
type item struct {
	p    event.Payload
	text string
}

// scanner finds tagged blocks in one stream of text, fed in pieces. It
// produces the text outside blocks and the block events, in order. It is
// not safe for concurrent use.
type scanner struct {
	cfg      *config
	quiet    bool // produce text only: no events, no snapshots
	thinking bool
	index    int

	raw    int64 // raw bytes consumed (pending bytes not included)
	outLen int64 // filtered bytes produced

	// out is the output of the current feed; cur is text not yet in out.
	out []item
	cur strings.Builder
	one string // the only text piece so far, when cur is empty
	has bool   // one is set

	pending []byte // a partial open tag held over from the previous piece

	// The block being captured.
	in        bool
	tag       string
	closeTag  string
	parser    Parser
	body      []byte
	hold      int  // trailing bytes that may start the close tag
	over      bool // the body outgrew the limit; capture stopped
	start     int64
	textAt    int64
	blocks    int
	lastSnap  int
	completed uint64
	malformed uint64
	// failed records, under PassThrough, whether each closed block failed
	// to parse, so that a quiet scanner can replay the outcomes instead of
	// parsing again (replay).
	failed []bool
	replay []bool
}

func newScanner(cfg *config, thinking bool, index int) *scanner {
	return &scanner{cfg: cfg, thinking: thinking, index: index}
}

// text adds s to the output.
func (sc *scanner) text(s string) {
	if len(s) == 0 {
		return
	}
	sc.outLen += int64(len(s))
	switch {
	case !sc.has && sc.cur.Len() == 0:
		sc.one, sc.has = s, true
	case sc.has:
		sc.cur.WriteString(sc.one)
		sc.cur.WriteString(s)
		sc.one, sc.has = "", false
	default:
		sc.cur.WriteString(s)
	}
}

func (sc *scanner) flushText() {
	switch {
	case sc.has:
		sc.out = append(sc.out, item{text: sc.one})
		sc.one, sc.has = "", false
	case sc.cur.Len() > 0:
		sc.out = append(sc.out, item{text: sc.cur.String()})
		sc.cur.Reset()
	}
}

// emit adds an event to the output, after the text so far.
func (sc *scanner) emit(p event.Payload) {
	if sc.quiet {
		return
	}
	sc.flushText()
	sc.out = append(sc.out, item{p: p})
}

// take returns the output so far and starts a new one. The slice is valid
// until the next call to feed.
func (sc *scanner) take() []item {
	sc.flushText()
	out := sc.out
	sc.out = sc.out[:0]
	return out
}

// feed scans the next piece of the stream's text.
func (sc *scanner) feed(s string) {
	for len(s) > 0 {
		if sc.in {
			s = sc.feedBlock(s)
			continue
		}
		if len(sc.pending) > 0 {
			s = sc.feedPending(s)
			continue
		}
		i := strings.IndexByte(s, '<')
		if i < 0 {
			sc.text(s)
			sc.raw += int64(len(s))
			return
		}
		sc.text(s[:i])
		sc.raw += int64(i)
		s = s[i:]
		n, st := matchOpen(s)
		switch {
		case st == tagMatch && sc.open(s[1:n-1]):
			sc.raw += int64(n)
			s = s[n:]
		case st == tagPartial:
			sc.pending = append(sc.pending[:0], s...)
			return
		default:
			sc.text(s[:1])
			sc.raw++
			s = s[1:]
		}
	}
}

// feedPending continues a partial open tag with s and returns what is left
// of s.
func (sc *scanner) feedPending(s string) string {
	held := len(sc.pending)
	k := min(maxTag-held, len(s))
	sc.pending = append(sc.pending, s[:k]...)
	n, st := matchOpen(string(sc.pending))
	switch {
	case st == tagPartial && k == len(s):
		return ""
	case st == tagMatch && sc.open(string(sc.pending[1:n-1])):
		sc.pending = sc.pending[:0]
		sc.raw += int64(n)
		return s[n-held:]
	}
	// Not a tag: the held bytes are text. They hold no other '<', since
	// tags cannot contain one, so scanning goes on with s.
	sc.text(string(sc.pending[:held]))
	sc.raw += int64(held)
	sc.pending = sc.pending[:0]
	return s
}

// open starts capturing a block with the given tag if an extractor is
// registered for it.
func (sc *scanner) open(tag string) bool {
	r, ok := sc.cfg.extractors[tag]
	if !ok {
		return false
	}
	sc.in = true
	sc.tag, sc.closeTag = r.tag, r.closeTag
	sc.start = sc.raw
	sc.textAt = sc.outLen
	sc.body = sc.body[:0]
	sc.hold, sc.over, sc.lastSnap = 0, false, 0
	if !sc.quiet || sc.cfg.policy == PassThrough && sc.blocks >= len(sc.replay) {
		sc.parser = r.ex.NewParser()
	}
	sc.emit(event.ExtractBlockStarted{Tag: sc.tag, Block: sc.blocks, Index: sc.index, Thinking: sc.thinking, Start: sc.start, TextOffset: sc.textAt})
	return true
}

// feedBlock scans s inside a block and returns what follows the block's
// close tag, or "" if the block goes on.
func (sc *scanner) feedBlock(s string) string {
	ct := sc.closeTag
	if sc.hold > 0 {
		rest := ct[sc.hold:]
		switch {
		case strings.HasPrefix(s, rest):
			// The close tag spans the previous piece and this one.
			sc.raw += int64(len(rest))
			if sc.over {
				sc.overflowText(rest)
			} else {
				sc.body = sc.body[:len(sc.body)-sc.hold]
			}
			sc.closeBlock()
			return s[len(rest):]
		case strings.HasPrefix(rest, s):
			sc.capture(s)
			sc.hold += len(s)
			return ""
		}
	}
	if j := strings.Index(s, ct); j >= 0 {
		sc.capture(s[:j])
		sc.raw += int64(len(ct))
		if sc.over {
			sc.overflowText(ct)
		}
		sc.closeBlock()
		return s[j+len(ct):]
	}
	sc.capture(s)
	// Only a suffix starting at the last '<' can begin the close tag, since
	// the tag holds no other '<'.
	sc.hold = 0
	w := s[max(0, len(s)-len(ct)+1):]
	if i := strings.LastIndexByte(w, '<'); i >= 0 && strings.HasPrefix(ct, w[i:]) {
		sc.hold = len(w) - i
	}
	sc.snapshot()
	return ""
}

// capture adds block bytes to the body, enforcing the capture limit.
func (sc *scanner) capture(s string) {
	sc.raw += int64(len(s))
	if sc.over {
		sc.overflowText(s)
		return
	}
	if len(sc.body)+len(s) > sc.cfg.maxBytes {
		sc.over = true
		sc.malformed++
		sc.emit(event.ExtractBlockMalformed{
			Tag: sc.tag, Block: sc.blocks, Index: sc.index, Thinking: sc.thinking,
			Start: sc.start, End: sc.raw, TextOffset: sc.textAt, Reason: ReasonTooLarge,
			Error: event.ErrorFrom(fmt.Errorf("%w (%d bytes)", ErrTooLarge, sc.cfg.maxBytes)),
		})
		if sc.cfg.policy == PassThrough {
			sc.text("<" + sc.tag + ">")
			sc.text(string(sc.body))
		}
		sc.body, sc.parser = sc.body[:0], nil
		if cap(sc.body) > 4096 {
			sc.body = nil
		}
		sc.overflowText(s)
		return
	}
	sc.body = append(sc.body, s...)
}

// overflowText passes block text on once the block outgrew the limit, if
// the policy says so.
func (sc *scanner) overflowText(s string) {
	if sc.cfg.policy == PassThrough {
		sc.text(s)
	}
}

// snapshot hands the body to the parser if enough of it arrived since the
// last snapshot. The spacing grows with the body (a quarter of it), so that
// parsers that must look at the whole value stay linear in total.
func (sc *scanner) snapshot() {
	if sc.quiet || sc.over || sc.parser == nil || sc.cfg.snapBytes <= 0 {
		return
	}
	safe := len(sc.body) - sc.hold
	if safe-sc.lastSnap < max(sc.cfg.snapBytes, sc.lastSnap>>2) {
		return
	}
	cut := safe
	if sc.cfg.snapNewline {
		k := lastNewline(sc.body[sc.lastSnap:safe])
		if k < 0 {
			return
		}
		cut = sc.lastSnap + k + 1
	}
	sc.lastSnap = cut
	v, err := sc.parser.Snapshot(sc.body[:cut])
	if err != nil || len(v) == 0 {
		return
	}
	sc.emit(event.ExtractBlockSnapshot{Tag: sc.tag, Block: sc.blocks, Index: sc.index, Thinking: sc.thinking, Bytes: int64(cut), Value: v})
}

func lastNewline(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			return i
		}
	}
	return -1
}

// closeBlock ends the block after its close tag.
func (sc *scanner) closeBlock() {
	defer sc.resetBlock()
	if sc.over {
		return // reported when it overflowed
	}
	if sc.parser == nil { // quiet: the text does not depend on parsing, or the outcome is known
		if sc.blocks < len(sc.replay) && sc.replay[sc.blocks] {
			sc.fail(ReasonParse, nil, sc.closeTag)
		}
		return
	}
	v, err := sc.parser.Finish(sc.body)
	if sc.cfg.policy == PassThrough {
		sc.failed = append(sc.failed, err != nil)
	}
	if err != nil {
		sc.fail(ReasonParse, err, sc.closeTag)
		return
	}
	sc.completed++
	sc.emit(event.ExtractBlockCompleted{
		Tag: sc.tag, Block: sc.blocks, Index: sc.index, Thinking: sc.thinking,
		Start: sc.start, End: sc.raw, TextOffset: sc.textAt, Value: v,
	})
}

// fail reports the block as malformed and applies the policy to its text;
// closing is the close tag when the block did close.
func (sc *scanner) fail(reason string, err error, closing string) {
	sc.malformed++
	if sc.cfg.policy == Drop {
		return
	}
	sc.emit(event.ExtractBlockMalformed{
		Tag: sc.tag, Block: sc.blocks, Index: sc.index, Thinking: sc.thinking,
		Start: sc.start, End: sc.raw, TextOffset: sc.textAt, Reason: reason,
		Error: event.ErrorFrom(err), Raw: string(sc.body),
	})
	if sc.cfg.policy == PassThrough {
		sc.text("<" + sc.tag + ">")
		sc.text(string(sc.body))
		sc.text(closing)
	}
}

func (sc *scanner) resetBlock() {
	sc.in, sc.parser, sc.over, sc.hold = false, nil, false, 0
	sc.blocks++
	if cap(sc.body) > 64<<10 {
		sc.body = nil // do not keep a large buffer for the rest of the stream
	} else {
		sc.body = sc.body[:0]
	}
}

// end finishes the stream: held text is passed on and an open block is
// malformed for the given reason.
func (sc *scanner) end(reason string) {
	if len(sc.pending) > 0 {
		sc.text(string(sc.pending))
		sc.raw += int64(len(sc.pending))
		sc.pending = sc.pending[:0]
	}
	if !sc.in {
		return
	}
	if sc.over {
		sc.resetBlock()
		return
	}
	err := ErrUnclosed
	if reason != ReasonUnclosed {
		err = ErrStopped
	}
	sc.fail(reason, fmt.Errorf("%w: %s", err, sc.tag), "")
	sc.resetBlock()
}

// captured returns the bytes held for the open block, if any.
func (sc *scanner) captured() int {
	return len(sc.body) + len(sc.pending)
}

// filter returns text with its blocks removed (policies applied), as a
// fresh scanner fed the whole text at once would produce it, and ending
// for reason. replay gives the parse outcomes of the first blocks, if
// known.
func filter(cfg *config, s, reason string, replay []bool) string {
	if strings.IndexByte(s, '<') < 0 {
		return s
	}
	sc := scanner{cfg: cfg, quiet: true, replay: replay}
	sc.cur.Grow(len(s))
	sc.feed(s)
	sc.end(reason)
	// A quiet scanner emits no events, so its output is one piece at most:
	// return it without another copy.
	out := sc.take()
	switch len(out) {
	case 0:
		return ""
	case 1:
		return out[0].text
	}
	var b strings.Builder
	for _, it := range out {
		b.WriteString(it.text)
	}
	return b.String()
}
