// Package tui is the terminal screen of `sluice watch`: a live list of
// sessions (tokens, cost, status, last activity), a session's conversation
// as it streams (text, collapsible thinking, tool calls with arguments and
// results, errors), a pane of the session's raw events with a type filter,
// follow mode and scroll-back, over a Source: a Sluice server (followed
// with the resuming SSE client) or a hub over a database.
//
// The folding of events into what the screen shows is package watch; this
// package lays it out with Bubble Tea, Lip Gloss and Bubbles.
package tui

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/option"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/watch"
)

// ErrInvalid reports an invalid argument, such as a bad option.
var ErrInvalid = errors.New("tui: invalid argument")

type config struct {
	now      func() time.Time
	logSize  int
	retry    time.Duration
	progOpts []tea.ProgramOption
}

// Option configures Run.
type Option func(*config) error

// WithClock sets the clock the screen tells "last activity" by.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: WithClock(nil)", ErrInvalid)
		}
		c.now = now
		return nil
	}
}

// WithLogSize sets how many raw events the events pane keeps (the oldest
// go first); the default is watch.DefaultLogSize.
func WithLogSize(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: WithLogSize(%d): want at least 1", ErrInvalid, n)
		}
		c.logSize = n
		return nil
	}
}

// WithRestart sets how long the screen waits before it follows a stream
// again after the source gave up on it (a server that refused, a database
// error); the default is 3s.
func WithRestart(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: WithRestart(%v): want a positive wait", ErrInvalid, d)
		}
		c.retry = d
		return nil
	}
}

// WithProgramOptions passes options to the Bubble Tea program Run makes,
// such as its input, output and window size.
func WithProgramOptions(opts ...tea.ProgramOption) Option {
	return func(c *config) error {
		c.progOpts = append(c.progOpts, opts...)
		return nil
	}
}

type screen uint8

const (
	sessionsScreen screen = iota
	sessionScreen
)

type pane uint8

const (
	conversationPane pane = iota
	eventsPane
)

// allStream identifies the stream of every session in messages; a
// session's stream is identified by its generation, from 1.
const allStream = 0

type (
	// eventMsg is an event of a stream.
	eventMsg struct {
		stream int
		cursor uint64
		ev     event.Event
	}
	// sessionsMsg is the list of sessions read at the start.
	sessionsMsg struct {
		infos []store.SessionInfo
		err   error
	}
	// retryMsg says a stream is reconnecting.
	retryMsg struct {
		stream int
		err    error
		wait   time.Duration
	}
	// endMsg says a stream ended.
	endMsg struct {
		stream int
		err    error
	}
	// restartMsg asks to follow a stream again after it ended.
	restartMsg struct{ stream int }
	// tickMsg refreshes the ages on screen.
	tickMsg struct{}
)

// session is the open session.
type session struct {
	id     string
	gen    int
	conv   watch.Conversation
	log    *watch.Log
	cursor uint64
	cancel context.CancelFunc
	cache  paneCache
}

// model is the screen's Bubble Tea model.
type model struct {
	cfg  config
	src  Source
	send func(tea.Msg) // the program's Send, once running; nil in tests
	ctx  context.Context
	wg   *sync.WaitGroup

	board     watch.Board
	allCursor uint64
	conn      string // what the streams are doing
	listErr   string

	screen screen
	selID  string

	sess     *session
	gen      int
	pane     pane
	follow   bool
	thinking bool // thinking expanded
	filter   event.Pattern
	input    textinput.Model
	editing  bool
	notice   string // a bad filter, …

	vp            scroller
	dirty         bool
	width, height int
	keys          keyMap
	help          help.Model
	styles        styles
}

// newModel returns the screen's model over src.
func newModel(src Source, opts ...Option) (*model, error) {
	if src == nil {
		return nil, fmt.Errorf("%w: nil source", ErrInvalid)
	}
	cfg := config{now: time.Now, logSize: watch.DefaultLogSize, retry: 3 * time.Second}
	if err := option.Apply(&cfg, opts, ErrInvalid); err != nil {
		return nil, err
	}
	in := textinput.New()
	in.Prompt = "types: "
	in.Placeholder = "message.> or tool.call.* (empty: every type)"
	m := &model{
		cfg: cfg, src: src, ctx: context.Background(), wg: &sync.WaitGroup{},
		conn: "connecting", follow: true, input: in,
		width: 80, height: 24,
		keys: newKeyMap(), help: help.New(), styles: newStyles(),
	}
	m.resize()
	return m, nil
}

// Init starts following the source: the list of sessions, then the events
// of every session.
func (m *model) Init() tea.Cmd {
	m.start(func(ctx context.Context) {
		infos, err := m.src.Sessions(ctx)
		m.send(sessionsMsg{infos: infos, err: err})
		m.followAll(ctx, 0)
	})
	m.start(func(ctx context.Context) {
		t := time.NewTicker(time.Second) // the ages on screen grow
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.send(tickMsg{})
			}
		}
	})
	return nil
}

// later sends msg after d, unless the screen stops first.
func (m *model) later(d time.Duration, msg tea.Msg) {
	m.start(func(ctx context.Context) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
			m.send(msg)
		}
	})
}

// start runs fn in a goroutine that Run waits for; without a program (in
// tests) it does nothing.
func (m *model) start(fn func(ctx context.Context)) {
	if m.send == nil {
		return
	}
	m.wg.Go(func() { fn(m.ctx) })
}

func (m *model) followAll(ctx context.Context, after uint64) {
	err := m.src.Follow(ctx, "", after,
		func(c uint64, ev event.Event) error {
			m.send(eventMsg{stream: allStream, cursor: c, ev: ev})
			return nil
		},
		func(err error, wait time.Duration) { m.send(retryMsg{stream: allStream, err: err, wait: wait}) })
	m.send(endMsg{stream: allStream, err: err})
}

func (m *model) followSession(s *session, after uint64) {
	ctx, cancel := context.WithCancel(m.ctx)
	s.cancel = cancel
	id, gen := s.id, s.gen
	m.start(func(context.Context) {
		err := m.src.Follow(ctx, id, after,
			func(c uint64, ev event.Event) error { m.send(eventMsg{stream: gen, cursor: c, ev: ev}); return nil },
			func(err error, wait time.Duration) { m.send(retryMsg{stream: gen, err: err, wait: wait}) })
		m.send(endMsg{stream: gen, err: err})
	})
}

// open shows session id, following it from its first event.
func (m *model) open(id string) {
	m.close()
	m.gen++
	m.sess = &session{id: id, gen: m.gen, log: watch.NewLog(m.cfg.logSize)}
	m.screen, m.pane, m.follow, m.dirty = sessionScreen, conversationPane, true, true
	m.followSession(m.sess, 0)
}

// close stops following the open session.
func (m *model) close() {
	if m.sess != nil && m.sess.cancel != nil {
		m.sess.cancel()
	}
	m.sess = nil
	m.screen, m.editing, m.notice = sessionsScreen, false, ""
}

// Update folds a message into the model.
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.resize()
	case tickMsg:
		// nothing changes but the clock: the screen is drawn again
	case sessionsMsg:
		if msg.err != nil {
			m.listErr = msg.err.Error()
			break
		}
		m.listErr = ""
		for _, si := range msg.infos {
			m.board.Known(si.ID, si.Count, si.LastSeq, si.First, si.Last)
		}
	case eventMsg:
		m.event(msg)
	case retryMsg:
		m.conn = fmt.Sprintf("reconnecting in %s: %v", msg.wait.Round(100*time.Millisecond), msg.err)
	case endMsg:
		m.ended(msg)
	case restartMsg:
		switch {
		case msg.stream == allStream:
			after := m.allCursor
			m.start(func(ctx context.Context) { m.followAll(ctx, after) })
		case m.sess != nil && m.sess.gen == msg.stream:
			m.followSession(m.sess, m.sess.cursor)
		}
	case tea.KeyPressMsg:
		return m, m.key(msg)
	}
	return m, nil
}

func (m *model) event(msg eventMsg) {
	m.conn = "live"
	ev := &msg.ev
	if msg.stream == allStream {
		m.allCursor = msg.cursor
		m.board.Add(ev)
		if m.selID == "" {
			m.selID = ev.Meta.SessionID
		}
		return
	}
	s := m.sess
	if s == nil || s.gen != msg.stream {
		return // a session closed meanwhile
	}
	s.cursor = msg.cursor
	s.log.Add(ev)
	s.conv.Add(ev)
	m.dirty = true
}

// ended handles the end of a stream: unless the screen closed it, follow
// it again after a pause, from its last cursor.
func (m *model) ended(msg endMsg) {
	if msg.stream != allStream && (m.sess == nil || m.sess.gen != msg.stream) {
		return
	}
	if m.ctx.Err() != nil || errors.Is(msg.err, context.Canceled) {
		return
	}
	what := "the stream ended"
	if msg.err != nil {
		what = msg.err.Error()
	}
	m.conn = fmt.Sprintf("%s; following again in %s", what, m.cfg.retry)
	m.later(m.cfg.retry, restartMsg{stream: msg.stream})
}

// resize fits the parts to the window.
func (m *model) resize() {
	m.vp.setSize(max(m.width, 1), max(m.height-headerLines-footerLines, 1))
	m.help.SetWidth(m.width)
	m.input.SetWidth(max(m.width/2-len(m.input.Prompt), 10)) // room for an error after it
	m.dirty = true
}

// The screen's fixed parts: a title and a summary line above the body,
// the keys below.
const (
	headerLines = 2
	footerLines = 1
)

func (m *model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	if msg.String() == "ctrl+c" {
		return tea.Quit // also while typing a filter
	}
	if m.editing {
		switch {
		case key.Matches(msg, k.Apply):
			m.applyFilter(m.input.Value())
			return nil
		case key.Matches(msg, k.Cancel):
			m.editing = false
			m.input.Blur()
			return nil
		}
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return cmd
	}
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		return nil
	}
	if m.screen == sessionsScreen {
		switch {
		case key.Matches(msg, k.Up):
			m.move(-1)
		case key.Matches(msg, k.Down):
			m.move(1)
		case key.Matches(msg, k.Top):
			m.move(-m.board.Len())
		case key.Matches(msg, k.Bottom):
			m.move(m.board.Len())
		case key.Matches(msg, k.Open):
			if m.selID != "" {
				m.open(m.selID)
			}
		}
		return nil
	}
	switch {
	case key.Matches(msg, k.Back):
		m.close()
	case key.Matches(msg, k.Pane):
		m.pane = 1 - m.pane
		m.dirty = true
	case key.Matches(msg, k.Thinking):
		m.thinking = !m.thinking
		m.dirty = true
	case key.Matches(msg, k.Follow):
		m.follow = !m.follow
		m.dirty = true
	case key.Matches(msg, k.Filter):
		m.pane, m.editing, m.dirty = eventsPane, true, true
		m.input.SetValue(m.filter.String())
		m.input.CursorEnd()
		return m.input.Focus()
	case key.Matches(msg, k.Up):
		m.scroll(func() { m.vp.up(1) })
	case key.Matches(msg, k.Down):
		m.scroll(func() { m.vp.down(1) })
	case key.Matches(msg, k.PageUp):
		m.scroll(m.vp.pageUp)
	case key.Matches(msg, k.PageDown):
		m.scroll(m.vp.pageDown)
	case key.Matches(msg, k.Top):
		m.scroll(m.vp.top)
	case key.Matches(msg, k.Bottom):
		m.follow = true
		m.vp.bottom()
	}
	return nil
}

// scroll moves through the scroll-back; follow mode stops unless the move
// reached the end.
func (m *model) scroll(move func()) {
	m.refresh()
	move()
	m.follow = m.vp.atBottom()
}

// applyFilter sets the events pane's type filter.
func (m *model) applyFilter(s string) {
	m.dirty = true
	if s == "" {
		m.filter, m.editing, m.notice = event.Pattern{}, false, ""
		m.input.Blur()
		return
	}
	p, err := event.ParsePattern(s)
	if err != nil {
		m.notice = err.Error()
		return // keep editing
	}
	m.filter, m.editing, m.notice = p, false, ""
	m.input.Blur()
}

// move moves the selection in the sessions list by d rows.
func (m *model) move(d int) {
	list := m.board.Sessions()
	if len(list) == 0 {
		return
	}
	i := 0
	for j, s := range list {
		if s.ID == m.selID {
			i = j
		}
	}
	i = min(max(i+d, 0), len(list)-1)
	m.selID = list[i].ID
}

// Wait waits for the goroutines that follow the source; they end when the
// context given to Run ends.
func (m *model) wait() { m.wg.Wait() }
