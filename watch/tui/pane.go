package tui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sluice-events/sluice/watch"
)

// paneCache keeps the drawn lines of conversation entries and raw events,
// so a new event redraws only what it changed, not a long session's whole
// history.
type paneCache struct {
	width    int
	thinking bool
	entries  []drawnEntry
	events   map[uint64][]string // by sequence number
}

// drawnEntry is an entry's lines and what they were drawn from.
type drawnEntry struct {
	sig   entrySig
	lines []string
}

// entrySig is what of an entry can change after it appears: text grows,
// a tool call gets its result.
type entrySig struct {
	text, args, result int
	streaming          bool
	state              watch.ToolState
	duration           int64
}

func sigOf(e *watch.Entry) entrySig {
	return entrySig{len(e.Text), len(e.Args), len(e.Result), e.Streaming, e.State, int64(e.Duration)}
}

// valid resets the cache if the width or the thinking toggle changed.
func (c *paneCache) valid(width int, thinking bool) {
	if c.width != width || c.thinking != thinking {
		*c = paneCache{width: width, thinking: thinking}
	}
}

// refresh puts the open pane into the scroller if anything changed, and
// keeps the end in view in follow mode.
func (m *model) refresh() {
	if !m.dirty || m.sess == nil {
		return
	}
	m.dirty = false
	var lines []string
	if m.pane == eventsPane {
		lines = m.logLines()
	} else {
		lines = m.conversationLines()
	}
	m.vp.setLines(lines)
	if m.follow {
		m.vp.bottom()
	}
}

func (m *model) conversationLines() []string {
	entries := m.sess.conv.Entries()
	if len(entries) == 0 {
		return []string{m.styles.dim.Render(" waiting for the session's events…")}
	}
	c := &m.sess.cache
	c.valid(m.width, m.thinking)
	var out []string
	for i := range entries {
		e := &entries[i]
		if i == len(c.entries) {
			c.entries = append(c.entries, drawnEntry{})
		}
		d := &c.entries[i]
		if sig := sigOf(e); d.lines == nil || d.sig != sig {
			d.sig, d.lines = sig, strings.Split(m.drawEntry(*e), "\n")
		}
		if i > 0 {
			out = append(out, "")
		}
		out = append(out, d.lines...)
	}
	return out
}

// drawEntry draws one entry of a conversation.
func (m *model) drawEntry(e watch.Entry) string {
	st := m.styles
	w := max(m.width-2, 10)
	e.Text, e.Name, e.Args, e.Result = clean(e.Text), clean(e.Name), clean(e.Args), clean(e.Result)
	var b strings.Builder
	block := func(label lipgloss.Style, name, text string, body lipgloss.Style) string {
		b.WriteString(label.Render(name))
		if text != "" {
			b.WriteByte('\n')
			b.WriteString(body.Render(indent(lipgloss.Wrap(text, w, " "))))
		}
		return b.String()
	}
	plain := lipgloss.NewStyle()
	switch e.Kind {
	case watch.System:
		return block(st.dim, "system", e.Text, st.dim)
	case watch.User:
		return block(st.user, "user", e.Text, plain)
	case watch.Assistant:
		text := e.Text
		if e.Streaming {
			text += "▍"
		}
		return block(st.assistant, "assistant", text, plain)
	case watch.Thinking:
		more := ""
		if e.Streaming {
			more = ", streaming"
		}
		if !m.thinking {
			return st.thinking.Render(fmt.Sprintf("▸ thinking (%d words%s; t shows it)", len(strings.Fields(e.Text)), more))
		}
		return block(st.thinking, "▾ thinking"+more, e.Text, st.thinking)
	case watch.Tool:
		head := fmt.Sprintf("⚙ %s %s", e.Name, e.State)
		if e.Duration > 0 {
			head += " " + short(e.Duration)
		}
		b.WriteString(st.tool.Render(head))
		if e.Args != "" {
			b.WriteString("\n" + indent(lipgloss.Wrap("args: "+e.Args, w, " ,")))
		}
		if e.Result != "" {
			b.WriteString("\n" + indent(lipgloss.Wrap("result: "+e.Result, w, " ,")))
		}
		if e.State == watch.ToolFailed {
			b.WriteString("\n" + st.err.Render(indent(lipgloss.Wrap("error: "+e.Text, w, " "))))
		}
		return b.String()
	case watch.Error:
		return st.err.Render(lipgloss.Wrap("✗ "+e.Text, w+2, " "))
	case watch.Note:
		return st.note.Render(lipgloss.Wrap("· "+e.Text, w+2, " "))
	}
	return ""
}

func (m *model) logLines() []string {
	lines := m.sess.log.Lines(m.filter)
	if len(lines) == 0 {
		if m.filter.IsZero() {
			return []string{m.styles.dim.Render(" no events yet")}
		}
		return []string{m.styles.dim.Render(" no events of types " + clean(m.filter.String()))}
	}
	c := &m.sess.cache
	c.valid(m.width, m.thinking)
	old := c.events
	c.events = make(map[uint64][]string, len(lines))
	var out []string
	for _, ln := range lines {
		drawn, ok := old[ln.Seq]
		if !ok || ln.Seq == 0 {
			head := fmt.Sprintf("%5d %s %-26s ", ln.Seq, ln.Time.UTC().Format("15:04:05.000"), clean(string(ln.Type)))
			drawn = strings.Split(m.styles.dim.Render(head)+wrapPayload(clean(ln.Payload), ansi.StringWidth(head), m.width), "\n")
		}
		if ln.Seq != 0 {
			c.events[ln.Seq] = drawn
		}
		out = append(out, drawn...)
	}
	return out
}

// maxPayloadLines bounds the lines of one event's payload in the events
// pane.
const maxPayloadLines = 6

// wrapPayload wraps a payload to the width left after a head of headW
// cells, indenting the lines after the first under it.
func wrapPayload(payload string, headW, width int) string {
	w := width - headW
	if w < 20 {
		return ansi.Truncate(payload, max(w, 1), "…")
	}
	lines := strings.Split(ansi.Wrap(payload, w, ","), "\n")
	if len(lines) > maxPayloadLines {
		lines = lines[:maxPayloadLines]
		lines[maxPayloadLines-1] = ansi.Truncate(lines[maxPayloadLines-1], w-1, "") + "…"
	}
	return strings.Join(lines, "\n"+strings.Repeat(" ", headW))
}
