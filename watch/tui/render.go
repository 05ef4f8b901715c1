package tui

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sluice-events/sluice/watch"
)

type styles struct {
	title, summary, header, selected, dim, label, user, assistant, thinking, tool, err, note lipgloss.Style
}

func newStyles() styles {
	return styles{
		title:     lipgloss.NewStyle().Bold(true).Reverse(true),
		summary:   lipgloss.NewStyle().Bold(true),
		header:    lipgloss.NewStyle().Bold(true).Underline(true),
		selected:  lipgloss.NewStyle().Reverse(true),
		dim:       lipgloss.NewStyle().Faint(true),
		label:     lipgloss.NewStyle().Bold(true),
		user:      lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("4")),
		assistant: lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("2")),
		thinking:  lipgloss.NewStyle().Italic(true).Faint(true),
		tool:      lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("5")),
		err:       lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("1")),
		note:      lipgloss.NewStyle().Faint(true),
	}
}

// View draws the screen.
func (m *model) View() tea.View {
	v := tea.NewView(m.screenText())
	v.AltScreen = true
	v.WindowTitle = "sluice watch"
	return v
}

// screenText is the whole screen, exactly height lines of at most width
// cells.
func (m *model) screenText() string {
	var lines []string
	title := " sluice watch · " + m.src.String() + " · " + m.conn + " "
	lines = append(lines, m.styles.title.Render(fit(title, m.width)))
	bodyH := max(m.height-headerLines-footerLines, 1)
	if m.screen == sessionsScreen {
		lines = append(lines, m.styles.header.Render(fit(m.sessionsHeader(), m.width)))
		lines = append(lines, m.sessionRows(bodyH)...)
	} else {
		lines = append(lines, m.styles.summary.Render(fit(m.sessionSummary(), m.width)))
		m.refresh()
		lines = append(lines, m.vp.view()...)
	}
	for len(lines) < m.height-footerLines {
		lines = append(lines, "")
	}
	lines = lines[:max(m.height-footerLines, 0)]
	return strings.Join(append(lines, m.footer()), "\n")
}

// fit cleans s and pads or cuts it to width cells.
func fit(s string, width int) string {
	s = ansi.Truncate(clean(s), width, "…")
	if w := ansi.StringWidth(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

func (m *model) footer() string {
	if m.editing {
		s := m.input.View()
		if m.notice != "" {
			s += "  " + m.styles.err.Render(m.notice)
		}
		return ansi.Truncate(s, m.width, "…")
	}
	k := m.keys
	var b []key.Binding
	if m.screen == sessionsScreen {
		b = []key.Binding{k.Up, k.Down, k.Open, k.Quit, k.Help}
		if m.help.ShowAll {
			b = []key.Binding{k.Up, k.Down, k.Top, k.Bottom, k.Open, k.Quit, k.Help}
		}
	} else {
		follow := k.Follow
		if m.follow {
			follow.SetHelp("f", "following")
		} else {
			follow.SetHelp("f", "follow (off)")
		}
		pane := k.Pane
		if m.pane == eventsPane {
			pane.SetHelp("tab", "conversation")
		}
		think := k.Thinking
		if m.thinking {
			think.SetHelp("t", "hide thinking")
		} else {
			think.SetHelp("t", "show thinking")
		}
		b = []key.Binding{k.Back, pane, think, follow, k.Filter, k.Quit, k.Help, k.Up, k.Down}
		if m.help.ShowAll {
			b = []key.Binding{k.Back, pane, think, follow, k.Filter, k.Quit, k.Help, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}
		}
	}
	return ansi.Truncate(m.help.ShortHelpView(b), m.width, "…")
}

// The sessions list's columns, after the session ID.
const rowFormat = " %-11s %7s %17s %9s  %-5s %s"

func (m *model) idWidth() int {
	fixed := ansi.StringWidth(fmt.Sprintf(rowFormat, "", "", "", "", "", "")) + 2
	return max(m.width-fixed-26, 12) // 26: room for the model name
}

func (m *model) sessionsHeader() string {
	w := m.idWidth()
	return fmt.Sprintf(" %-*s"+rowFormat, w, "SESSION", "STATUS", "EVENTS", "TOKENS IN/OUT", "COST", "LAST", "MODEL")
}

func (m *model) sessionRows(height int) []string {
	list := m.board.Sessions()
	if len(list) == 0 {
		msg := " waiting for sessions…"
		if m.listErr != "" {
			msg = " cannot list sessions: " + m.listErr
		}
		return []string{m.styles.dim.Render(fit(msg, m.width))}
	}
	sel := 0
	for i, s := range list {
		if s.ID == m.selID {
			sel = i
		}
	}
	first := 0
	if rows := max(height-1, 1); sel >= rows {
		first = sel - rows + 1
	}
	now := m.cfg.now()
	w := m.idWidth()
	var out []string
	for i := first; i < len(list) && len(out) < max(height-1, 1); i++ {
		s := list[i]
		in, o := s.Tokens()
		cost := fmt.Sprintf("$%.4f", s.Cost)
		if s.CostUnknown {
			cost += "+"
		}
		status := string(s.Status)
		if status == "" {
			status = "-"
		}
		if s.Errors > 0 && s.Status != watch.StatusFailed {
			status += fmt.Sprintf("!%d", s.Errors)
		}
		row := fmt.Sprintf(" %-*s"+rowFormat, w, ansi.Truncate(s.ID, w, "…"), status, fmt.Sprint(s.Events),
			fmt.Sprintf("%d/%d", in, o), cost, age(now, s.Last), s.Model)
		row = fit(row, m.width)
		switch {
		case i == sel:
			row = m.styles.selected.Render(row)
		case s.Status == watch.StatusFailed:
			row = m.styles.err.Render(row)
		}
		out = append(out, row)
	}
	return out
}

// age says how long ago t was, in one short word.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Second:
		return "now"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

func (m *model) sessionSummary() string {
	s := m.sess
	sum, _ := m.board.Get(s.id)
	in, out := sum.Tokens()
	status := string(sum.Status)
	if status == "" {
		status = "-"
	}
	pane := "conversation"
	if m.pane == eventsPane {
		pane = "events"
		if !m.filter.IsZero() {
			pane += " " + m.filter.String()
		}
	}
	return fmt.Sprintf(" %s · %s · %d events · %d/%d tokens · $%.4f · %s", s.id, status, s.log.Total(), in, out, sum.Cost, pane)
}

// clean makes text from events safe to draw: it drops control
// characters (an escape sequence in a remote event must not reach the
// terminal), keeps line breaks and turns tabs into spaces.
func clean(s string) string {
	ok := true
	for _, r := range s {
		if r < 0x20 && r != '\n' || r >= 0x7f && r <= 0x9f || r == utf8.RuneError {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteString("    ")
		case r < 0x20 && r != '\n', r >= 0x7f && r <= 0x9f, r == utf8.RuneError:
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// short rounds d for reading: to the millisecond, or the microsecond
// below one.
func short(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// indent indents each line by two spaces.
func indent(s string) string {
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
