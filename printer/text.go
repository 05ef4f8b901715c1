package printer

import (
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-events/sluice/event"
)

// thinkingPrefix starts a section of thinking text; continuation lines of
// the section are indented by its width.
const thinkingPrefix = "thinking: "

// ANSI escape sequences used by WithColor.
const (
	ansiReset  = "\x1b[0m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// streamKind says what a streamed section holds.
type streamKind uint8

const (
	streamNone streamKind = iota
	streamText
	streamThinking
	streamToolArgs
)

// streamKey identifies one stream of deltas: a content block of a message
// (or one tool call's arguments) within its run, session and inference.
type streamKey struct {
	kind      streamKind
	index     int
	callID    string
	run       string
	session   string
	inference string
	message   string
}

func keyOf(ev *event.Event, kind streamKind, index int, callID string) streamKey {
	return streamKey{
		kind: kind, index: index, callID: callID,
		run: ev.Meta.RunID, session: ev.Meta.SessionID,
		inference: ev.Meta.InferenceID, message: ev.Meta.MessageID,
	}
}

// maxStreamed bounds the set of streams remembered as having sent deltas.
const maxStreamed = 4096

// TextPrinter is the sink returned by Text.
type TextPrinter struct {
	sink
	buf     []byte
	scratch []byte

	mode    streamKind // the section being streamed, or streamNone
	cur     streamKey  // its stream
	midLine bool       // the last byte written was not a newline
	// streamed holds the streams that sent deltas, so that their completed
	// event, which repeats the whole text, is not printed a second time.
	streamed map[streamKey]struct{}
}

// Text returns a sink that writes a readable rendering of events to w, for
// a person watching a run in a terminal.
//
// Text deltas (message.text.delta) are written as they arrive, with no
// newline of their own, so the answer appears token by token. Thinking
// deltas form a section that starts with "thinking: " (dimmed with
// WithColor, hidden with WithThinking(false)), and streamed tool arguments
// (tool.call.delta) one that starts with "tool.call.delta NAME: ". A
// section ends with a newline when its block or message ends, or before any
// other output, so lines stay whole when events of several streams
// interleave. A completed text or thinking event is printed in full only if
// its deltas were not. The start and stop of text and thinking blocks (and
// a stop that does not name its block's kind) are shown by the layout
// alone; blocks of other kinds (tool_use, refusal, …) get a line.
//
// Tool calls (tool.call.requested, .started, .completed, .failed) are
// printed with the tool's name and their arguments or result as indented
// JSON; provider.call.completed with token usage, cost and duration. Errors
// (stream.error, any *.failed event, any event whose payload carries an
// error) start with "ERROR", and lost events (delivery.dropped) and
// interrupted streams with "WARN". Every other event, including custom and
// unknown types, is one line "type key=value …" made from its payload;
// strings longer than 512 bytes are cut, saying how much was left out.
//
// Control characters in model text, type names, errors and payloads are
// written as visible escapes (ESC as \x1b, C1 controls as \u009b), except
// newline and tab, so that no event can move the cursor, clear the screen,
// set the window title or write the clipboard: the only escape sequences
// the printer writes are its own colors.
//
// A nil w or a nil option gives an error wrapping ErrInvalid.
func Text(w io.Writer, opts ...Option) (*TextPrinter, error) {
	p := &TextPrinter{}
	if err := p.init(w, "text", false, opts); err != nil {
		return nil, err
	}
	return p, nil
}

// Publish implements sluice.Sink: it renders ev and writes it to the
// printer's writer with one Write call. It returns the writer's error,
// wrapped.
func (p *TextPrinter) Publish(_ context.Context, ev *event.Event) error {
	if skip, err := p.skip(ev); skip {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = p.buf[:0]
	p.render(ev)
	return p.flush()
}

// Flush ends an unfinished line, such as the last line of a stream that
// was cut off before its end, so that later output starts on a line of its
// own. It returns the writer's error, wrapped.
func (p *TextPrinter) Flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = p.buf[:0]
	p.endLine()
	return p.flush()
}

func (p *TextPrinter) flush() error {
	if len(p.buf) == 0 {
		return nil
	}
	_, err := p.w.Write(p.buf)
	release(&p.buf)
	return p.wrapWrite(err)
}

func (p *TextPrinter) render(ev *event.Event) {
	switch pl := ev.Payload.(type) {
	case event.TextDelta:
		p.stream(ev, keyOf(ev, streamText, pl.Index, ""), "", pl.Text)
	case event.ThinkingDelta:
		p.stream(ev, keyOf(ev, streamThinking, pl.Index, ""), "", pl.Text)
	case event.ToolCallDelta:
		name := pl.Name
		if name == "" {
			name = pl.CallID
		}
		p.stream(ev, keyOf(ev, streamToolArgs, pl.Index, pl.CallID), name, pl.Delta)
	case event.TextCompleted:
		p.completed(ev, keyOf(ev, streamText, pl.Index, ""), pl.Text)
	case event.ThinkingCompleted:
		p.completed(ev, keyOf(ev, streamThinking, pl.Index, ""), pl.Text)
	case event.BlockStarted:
		if !layoutBlock(pl.Kind) {
			p.generic(ev)
		}
	case event.BlockStopped:
		if p.mode == streamText || p.mode == streamThinking {
			if k := keyOf(ev, p.mode, pl.Index, ""); k == p.cur {
				p.endLine()
			}
		}
		if !layoutBlock(pl.Kind) && pl.Kind != "" {
			p.generic(ev)
		}
	case event.MessageStopped:
		p.generic(ev)
		p.forget(ev)
	case event.ToolCallRequested:
		p.head(ev, classTool)
		p.name(pl.Name)
		p.kv("call_id", pl.CallID)
		if pl.Index != 0 {
			p.kvRaw("index", strconv.Itoa(pl.Index))
		}
		p.newline()
		p.indentJSON(pl.Arguments)
	case event.ToolCallStarted:
		p.head(ev, classTool)
		p.name(pl.Name)
		p.kv("call_id", pl.CallID)
		p.newline()
		p.indentJSON(pl.Arguments)
	case event.ToolCallCompleted:
		p.head(ev, classTool)
		p.name(pl.Name)
		p.kv("call_id", pl.CallID)
		p.kv("status", pl.Status)
		p.duration("duration", pl.Duration)
		p.newline()
		p.indentJSON(pl.Result)
	case event.ToolCallFailed:
		p.head(ev, classError)
		p.name(pl.Name)
		p.kv("call_id", pl.CallID)
		p.duration("duration", pl.Duration)
		p.errorText(pl.Error)
		p.newline()
	case event.StreamError:
		p.head(ev, classError)
		p.errorText(pl.Error)
		p.newline()
	case event.ProviderCallCompleted:
		p.head(ev, classProvider)
		switch {
		case pl.Provider != "" && pl.Model != "":
			p.name(pl.Provider + "/" + pl.Model)
		case pl.Provider != "" || pl.Model != "":
			p.name(pl.Provider + pl.Model)
		}
		p.duration("duration", pl.Duration)
		u := pl.Usage
		u.Cumulative = false // the call's usage, whether or not it was reported as running totals
		p.usage(u)
		if pl.Cost != 0 {
			p.kvRaw("cost", formatCost(pl.Cost))
		}
		p.kv("finish", pl.FinishReason)
		if pl.ToolCallCount != 0 {
			p.kvRaw("tool_calls", strconv.Itoa(pl.ToolCallCount))
		}
		p.newline()
	case event.UsageReported:
		p.head(ev, classPlain)
		p.usage(pl.Usage)
		p.newline()
	default:
		p.generic(ev)
	}
}

// layoutBlock reports whether blocks of kind are shown by the layout of
// their deltas rather than by lines of their own.
func layoutBlock(kind string) bool { return kind == "text" || kind == "thinking" }

// stream writes a delta of the stream k, starting a new section if the
// delta does not continue the section being written.
func (p *TextPrinter) stream(ev *event.Event, k streamKey, name, text string) {
	if text == "" {
		return
	}
	if p.mode != k.kind || p.cur != k {
		p.endLine()
		p.metaPrefix(ev)
		switch k.kind {
		case streamThinking:
			p.colored(ansiDim, thinkingPrefix)
		case streamToolArgs:
			p.colored(ansiCyan, string(event.TypeToolCallDelta))
			p.buf = append(p.buf, ' ')
			p.buf = appendValue(p.buf, name)
			p.buf = append(p.buf, ": "...)
		}
		p.midLine = len(p.buf) > 0 && p.buf[len(p.buf)-1] != '\n'
		p.mode, p.cur = k.kind, k
		if p.streamed == nil || len(p.streamed) >= maxStreamed {
			p.streamed = make(map[streamKey]struct{})
		}
		p.streamed[k] = struct{}{}
	}
	indent, color := "", ""
	switch k.kind {
	case streamThinking:
		indent, color = "          ", ansiDim
	case streamToolArgs:
		indent = "  "
	}
	for text != "" {
		if !p.midLine && indent != "" {
			p.buf = append(p.buf, indent...)
		}
		line, rest, nl := strings.Cut(text, "\n")
		p.colored(color, line)
		if nl {
			p.buf = append(p.buf, '\n')
			p.midLine = false
		} else if line != "" {
			p.midLine = true
		}
		text = rest
	}
}

// completed handles the event that repeats a whole text or thinking block:
// it ends the block's section if its deltas were printed, or prints the
// text as a section if they were not.
func (p *TextPrinter) completed(ev *event.Event, k streamKey, text string) {
	if _, ok := p.streamed[k]; !ok {
		p.stream(ev, k, "", text)
	}
	delete(p.streamed, k)
	if p.mode == k.kind && p.cur == k {
		p.endLine()
	}
}

// forget drops the remembered streams of the message ev ends.
func (p *TextPrinter) forget(ev *event.Event) {
	for k := range p.streamed {
		if k.message == ev.Meta.MessageID && k.inference == ev.Meta.InferenceID &&
			k.session == ev.Meta.SessionID && k.run == ev.Meta.RunID {
			delete(p.streamed, k)
		}
	}
}

// endLine ends the section being streamed, finishing its line.
func (p *TextPrinter) endLine() {
	if p.midLine {
		p.buf = append(p.buf, '\n')
		p.midLine = false
	}
	p.mode = streamNone
}

// newline ends a line of its own.
func (p *TextPrinter) newline() {
	p.buf = append(p.buf, '\n')
	p.midLine = false
}

// lineClass selects the marker and color of a line.
type lineClass uint8

const (
	classPlain lineClass = iota
	classTool
	classProvider
	classWarn
	classError
)

// head starts a line for ev: it ends a streamed section, writes the
// metadata prefix if asked for, and the event's type with its marker.
func (p *TextPrinter) head(ev *event.Event, class lineClass) {
	p.endLine()
	p.metaPrefix(ev)
	t := string(ev.Type)
	if t == "" && ev.Payload != nil {
		t = string(ev.Payload.EventType())
	}
	switch class {
	case classError:
		p.colored(ansiRed, "ERROR "+t)
	case classWarn:
		p.colored(ansiYellow, "WARN "+t)
	case classTool:
		p.colored(ansiCyan, t)
	case classProvider:
		p.colored(ansiGreen, t)
	default:
		p.buf = appendSafe(p.buf, t)
	}
	p.midLine = true
}

// metaPrefix writes "[time seq=N id=… run=… …] " when metadata is on.
func (p *TextPrinter) metaPrefix(ev *event.Event) {
	if !p.opt.meta {
		return
	}
	if p.opt.color {
		p.buf = append(p.buf, ansiDim...)
	}
	p.buf = append(p.buf, '[')
	start := len(p.buf)
	sep := func() {
		if len(p.buf) > start {
			p.buf = append(p.buf, ' ')
		}
	}
	if !ev.Time.IsZero() {
		p.buf = ev.Time.UTC().AppendFormat(p.buf, "2006-01-02T15:04:05.000Z07:00")
	}
	if ev.Seq != 0 {
		sep()
		p.buf = strconv.AppendUint(append(p.buf, "seq="...), ev.Seq, 10)
	}
	if ev.ID != [16]byte{} {
		sep()
		p.buf = append(p.buf, "id="...)
		p.buf = append(p.buf, ev.ID.String()...)
	}
	m := &ev.Meta
	for _, f := range [...]struct{ k, v string }{
		{"run", m.RunID}, {"session", m.SessionID}, {"conversation", m.ConversationID},
		{"turn", m.TurnID}, {"inference", m.InferenceID}, {"message", m.MessageID},
		{"tool_call", m.ToolCallID}, {"request", m.RequestID}, {"parent", m.ParentID},
		{"provider", m.Provider}, {"model", m.Model},
	} {
		if f.v != "" {
			sep()
			p.buf = appendPair(p.buf, f.k, f.v)
		}
	}
	for _, k := range sortedKeys(m.Labels) {
		sep()
		p.buf = appendPair(p.buf, "label."+k, m.Labels[k])
	}
	p.buf = append(p.buf, ']')
	if p.opt.color {
		p.buf = append(p.buf, ansiReset...)
	}
	p.buf = append(p.buf, ' ')
	p.midLine = true
}

// colored appends s, in color if colors are on and color is set. Control
// characters in s are made visible (appendSafe): only the printer's own
// color sequences reach the terminal.
func (p *TextPrinter) colored(color, s string) {
	if s == "" {
		return
	}
	if p.opt.color && color != "" {
		p.buf = append(p.buf, color...)
		p.buf = appendSafe(p.buf, s)
		p.buf = append(p.buf, ansiReset...)
		return
	}
	p.buf = appendSafe(p.buf, s)
}

// name appends " NAME", quoted if needed.
func (p *TextPrinter) name(s string) {
	p.buf = append(p.buf, ' ')
	p.buf = appendValue(p.buf, s)
}

// kv appends " key=value" if value is not empty.
func (p *TextPrinter) kv(key, value string) {
	if value != "" {
		p.buf = append(p.buf, ' ')
		p.buf = appendPair(p.buf, key, value)
	}
}

// kvRaw appends " key=value" without quoting value.
func (p *TextPrinter) kvRaw(key, value string) {
	p.buf = append(p.buf, ' ')
	p.buf = append(p.buf, key...)
	p.buf = append(p.buf, '=')
	p.buf = append(p.buf, value...)
}

// duration appends " key=D" if d is not zero.
func (p *TextPrinter) duration(key string, d time.Duration) {
	if d != 0 {
		p.kvRaw(key, formatDuration(d))
	}
}

// usage appends the non-zero token counts of u.
func (p *TextPrinter) usage(u event.Usage) {
	p.buf = appendUsage(p.buf, u)
}

// errorText appends ": " and a description of e.
func (p *TextPrinter) errorText(e event.Error) {
	p.buf = append(p.buf, ": "...)
	p.buf = appendError(p.buf, e)
}

// indentJSON appends raw as indented JSON on lines of its own.
func (p *TextPrinter) indentJSON(raw []byte) {
	p.buf = appendIndentedJSON(p.buf, raw)
}

// generic writes ev as one line "type key=value …" made from its payload's
// JSON.
func (p *TextPrinter) generic(ev *event.Event) {
	var hasErr bool
	p.scratch, hasErr = appendPayloadFields(p.scratch[:0], ev.Payload)
	class := classPlain
	switch t := string(ev.Type); {
	case hasErr || strings.HasSuffix(t, ".failed") || strings.HasSuffix(t, ".error") ||
		strings.HasSuffix(t, "_error"):
		class = classError
	case ev.Type == event.TypeDropped || ev.Type == event.TypeStreamInterrupted:
		class = classWarn
	}
	p.head(ev, class)
	p.buf = append(p.buf, p.scratch...)
	release(&p.scratch)
	p.newline()
}
