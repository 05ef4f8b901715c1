package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// noSource is a Source for model tests, which never start it.
type noSource struct{}

func (noSource) String() string                                        { return "test" }
func (noSource) Sessions(context.Context) ([]store.SessionInfo, error) { return nil, nil }
func (noSource) Follow(context.Context, string, uint64, func(uint64, event.Event) error, func(error, time.Duration)) error {
	return nil
}

var t0 = time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)

func newTestModel(t *testing.T) *model {
	t.Helper()
	m, err := newModel(noSource{}, WithClock(func() time.Time { return t0.Add(time.Minute) }))
	if err != nil {
		t.Fatal(err)
	}
	m.Update(tea.WindowSizeMsg{Width: 90, Height: 20})
	return m
}

// press types keys: a name such as "enter", or text.
func press(m *model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "tab":
			msg = tea.KeyPressMsg{Code: tea.KeyTab}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		case "up":
			msg = tea.KeyPressMsg{Code: tea.KeyUp}
		case "pgup":
			msg = tea.KeyPressMsg{Code: tea.KeyPgUp}
		default:
			for _, r := range k {
				_, cmd = m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
			}
			continue
		}
		_, cmd = m.Update(msg)
	}
	return cmd
}

// feed sends events of session id on stream, numbered from seq.
func feed(m *model, stream int, id string, seq uint64, payloads ...event.Payload) {
	for i, p := range payloads {
		ev := event.New(p, event.Meta{SessionID: id})
		ev.Seq = seq + uint64(i)
		ev.Time = t0.Add(time.Duration(ev.Seq) * time.Second)
		m.Update(eventMsg{stream: stream, cursor: ev.Seq, ev: ev})
	}
}

// checkFrame checks the screen is exactly the window's size.
func checkFrame(t *testing.T, m *model) string {
	t.Helper()
	s := m.screenText()
	lines := strings.Split(s, "\n")
	if len(lines) != m.height {
		t.Errorf("%d lines on a %d-line screen:\n%s", len(lines), m.height, s)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > m.width {
			t.Errorf("line %d is %d cells on a %d-cell screen: %q", i, w, m.width, ansi.Strip(l))
		}
	}
	return ansi.Strip(s)
}

func TestSessionsList(t *testing.T) {
	m := newTestModel(t)
	if s := checkFrame(t, m); !strings.Contains(s, "waiting for sessions") {
		t.Errorf("empty list:\n%s", s)
	}
	m.Update(sessionsMsg{infos: []store.SessionInfo{{ID: "old", Count: 4, LastSeq: 4, First: t0.Add(-2 * time.Hour), Last: t0.Add(-time.Hour)}}})
	feed(m, allStream, "new", 1, event.ProviderCallStarted{Model: "gpt"},
		event.ProviderCallCompleted{Model: "gpt", Usage: event.Usage{InputTokens: 100, OutputTokens: 20}, Cost: 0.01})
	feed(m, allStream, "new", 3, event.PipelineCompleted{})
	s := checkFrame(t, m)
	for _, want := range []string{"SESSION", "new", "done", "100/20", "$0.0100", "57s", "gpt", "old", "1h", "4"} {
		if !strings.Contains(s, want) {
			t.Errorf("list lacks %q:\n%s", want, s)
		}
	}
	if i, j := strings.Index(s, " new "), strings.Index(s, " old "); i < 0 || j < i {
		t.Errorf("the most recent session is not first:\n%s", s)
	}
	if m.selID != "new" {
		t.Errorf("selected %q, want the first session", m.selID)
	}
	press(m, "j")
	if m.selID != "old" {
		t.Errorf("j selected %q", m.selID)
	}
	press(m, "j", "k")
	if m.selID != "new" {
		t.Errorf("j k selected %q", m.selID)
	}
	m.Update(sessionsMsg{err: errors.New("HTTP 401")})
	if m.listErr != "HTTP 401" {
		t.Errorf("listErr %q", m.listErr)
	}
	if cmd := press(m, "q"); cmd == nil || fmt.Sprint(cmd()) != fmt.Sprint(tea.Quit()) {
		t.Error("q does not quit")
	}
}

func openSession(t *testing.T, m *model) {
	t.Helper()
	feed(m, allStream, "s1", 1, event.MessageCreated{Role: "user", Content: "hi"})
	press(m, "enter")
	if m.screen != sessionScreen || m.sess == nil || m.sess.id != "s1" {
		t.Fatalf("enter did not open s1")
	}
}

func TestSessionConversation(t *testing.T) {
	m := newTestModel(t)
	openSession(t, m)
	gen := m.sess.gen
	feed(m, gen, "s1", 1, event.MessageCreated{Role: "user", Content: "Weather?"},
		event.MessageStarted{},
		event.ThinkingDelta{Text: "Let me think about the weather."},
		event.TextDelta{Index: 1, Text: "Checking"},
		event.ToolCallRequested{CallID: "c1", Name: "get_weather", Arguments: []byte(`{"city":"Paris"}`)},
		event.ToolCallFailed{CallID: "c1", Name: "get_weather", Error: event.Error{Message: "offline"}},
		event.ProviderCallFailed{Error: event.Error{Message: "overloaded"}},
	)
	s := checkFrame(t, m)
	for _, want := range []string{"s1 ·", "user", "Weather?", "▸ thinking (6 words", "assistant", "Checking",
		"⚙ get_weather failed", `args: {"city":"Paris"}`, "error: offline", "✗ provider call failed: overloaded", "esc back", "tab events", "t show thinking", "q quit"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "▍") {
		t.Errorf("the text still streams after the call failed:\n%s", s)
	}
	press(m, "t")
	if s := checkFrame(t, m); !strings.Contains(s, "Let me think about the weather.") || !strings.Contains(s, "t hide thinking") {
		t.Errorf("t did not show thinking:\n%s", s)
	}

	// Events of a closed session's stream are ignored.
	press(m, "esc")
	feed(m, gen, "s1", 8, event.MessageCreated{Role: "user", Content: "late"})
	press(m, "enter")
	if m.sess.gen == gen || len(m.sess.conv.Entries()) != 0 {
		t.Errorf("reopened session: gen %d (was %d), %d entries", m.sess.gen, gen, len(m.sess.conv.Entries()))
	}
}

func TestFollowAndScrollBack(t *testing.T) {
	m := newTestModel(t)
	openSession(t, m)
	gen := m.sess.gen
	for i := range 40 {
		feed(m, gen, "s1", uint64(i+1), event.MessageCreated{Role: "user", Content: fmt.Sprint("line ", i)})
	}
	s := checkFrame(t, m)
	if !strings.Contains(s, "line 39") || strings.Contains(s, "line 2\n") {
		t.Errorf("follow mode does not show the end:\n%s", s)
	}
	press(m, "pgup")
	if m.follow {
		t.Error("scrolling up did not stop following")
	}
	off := m.vp.y
	feed(m, gen, "s1", 41, event.MessageCreated{Role: "user", Content: "line 40"})
	s = checkFrame(t, m)
	if m.vp.y != off || strings.Contains(s, "line 40") {
		t.Errorf("a new event moved the scroll-back (offset %d, was %d):\n%s", m.vp.y, off, s)
	}
	if !strings.Contains(s, "f follow (off)") {
		t.Errorf("footer does not say follow is off:\n%s", s)
	}
	press(m, "g")
	if s := checkFrame(t, m); !strings.Contains(s, "line 0") {
		t.Errorf("g did not go to the top:\n%s", s)
	}
	press(m, "G")
	if s := checkFrame(t, m); !m.follow || !strings.Contains(s, "line 40") {
		t.Errorf("G did not follow again:\n%s", s)
	}
}

func TestEventsPaneFilter(t *testing.T) {
	m := newTestModel(t)
	openSession(t, m)
	feed(m, m.sess.gen, "s1", 1, event.TextDelta{Text: "a"}, event.ToolCallStarted{Name: "x"}, event.ToolCallCompleted{Name: "x", Result: []byte(`{"ok":true}`)})
	press(m, "tab")
	s := checkFrame(t, m)
	for _, want := range []string{"message.text.delta", "tool.call.started", `{"name":"x","result":{"ok":true}}`} {
		if !strings.Contains(s, want) {
			t.Errorf("events pane lacks %q:\n%s", want, s)
		}
	}
	press(m, "/", "tool..x", "enter")
	if s := checkFrame(t, m); !m.editing || !strings.Contains(s, "invalid type pattern") {
		t.Errorf("a bad pattern was not refused:\n%s", s)
	}
	m.input.SetValue("")
	press(m, "tool.call.*", "enter")
	s = checkFrame(t, m)
	if m.editing || strings.Contains(s, "message.text.delta") || !strings.Contains(s, "tool.call.completed") || !strings.Contains(s, "events tool.call.*") {
		t.Errorf("filter tool.call.*:\n%s", s)
	}
	press(m, "/")
	if _, cmd := m.Update(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}); cmd == nil || fmt.Sprint(cmd()) != fmt.Sprint(tea.Quit()) {
		t.Error("ctrl+c does not quit while typing a filter")
	}
	press(m, "message.>", "esc")
	if m.filter.String() != "tool.call.*" {
		t.Errorf("esc changed the filter to %q", m.filter)
	}
	press(m, "/")
	m.input.SetValue("")
	press(m, "enter")
	if s := checkFrame(t, m); !strings.Contains(s, "message.text.delta") {
		t.Errorf("an empty filter does not show every type:\n%s", s)
	}
}

// The screen fits every window size, small ones too.
func TestResize(t *testing.T) {
	m := newTestModel(t)
	openSession(t, m)
	feed(m, m.sess.gen, "s1", 1, event.MessageCreated{Role: "user", Content: strings.Repeat("a long line of words ", 20)})
	for _, size := range [][2]int{{120, 40}, {40, 10}, {20, 5}, {200, 3}} {
		m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for _, p := range []string{"tab", "tab"} {
			checkFrame(t, m)
			press(m, p)
		}
	}
	press(m, "esc")
	m.Update(tea.WindowSizeMsg{Width: 30, Height: 6})
	checkFrame(t, m)
}

func TestConnectionStatus(t *testing.T) {
	m := newTestModel(t)
	m.Update(retryMsg{stream: allStream, err: errors.New("connection reset"), wait: 2 * time.Second})
	if s := checkFrame(t, m); !strings.Contains(s, "reconnecting in 2s: connection reset") {
		t.Errorf("status:\n%s", s)
	}
	feed(m, allStream, "s1", 1, event.Info{})
	if m.conn != "live" {
		t.Errorf("status after an event: %q", m.conn)
	}
	m.Update(endMsg{stream: allStream, err: errors.New("HTTP 409: stale cursor")})
	if want := "HTTP 409: stale cursor; following again in 3s"; m.conn != want {
		t.Errorf("status %q, want %q", m.conn, want)
	}
	m.conn = "live"
	m.Update(endMsg{stream: 7, err: errors.New("x")})
	m.Update(endMsg{stream: allStream, err: context.Canceled})
	if m.conn != "live" {
		t.Errorf("a stream no longer shown or stopped by the screen changed the status: %q", m.conn)
	}
}

func TestOptions(t *testing.T) {
	for _, opt := range []Option{WithClock(nil), WithLogSize(0), WithRestart(0)} {
		if _, err := newModel(noSource{}, opt); !errors.Is(err, ErrInvalid) {
			t.Errorf("err = %v, want ErrInvalid", err)
		}
	}
	if _, err := newModel(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil source: %v", err)
	}
}

// Text from events cannot send escape sequences to the terminal.
func TestControlCharactersAreNotDrawn(t *testing.T) {
	m := newTestModel(t)
	bad := "x\x1b[2J\x1b]0;pwned\x07\r\u009b31my\ttab"
	feed(m, allStream, "s\x1b[31m1", 1, event.ProviderCallStarted{Model: bad})
	press(m, "enter")
	feed(m, m.sess.gen, "s\x1b[31m1", 1, event.MessageCreated{Role: "user", Content: bad},
		event.ToolCallStarted{Name: bad, Arguments: []byte(`"` + bad + `"`)})
	for _, p := range []string{"", "tab"} {
		press(m, p)
		s := m.screenText()
		for _, c := range []string{"\x1b[2J", "\x1b]", "\a", "\r", "\u009b", "\t"} {
			if strings.Contains(s, c) {
				t.Errorf("%q reached the screen:\n%q", c, s)
			}
		}
		if p == "" && !strings.Contains(ansi.Strip(s), "x[2J]0;pwned31my    tab") {
			t.Errorf("the text itself is gone:\n%s", ansi.Strip(s))
		}
	}
}
