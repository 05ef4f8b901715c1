package teaevent_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/watch/teaevent"
)

// slow holds its first event until gate closes, then records the rest,
// quitting at the last.
type slow struct {
	gate   chan struct{}
	infos  []string
	lost   int64
	ended  error
	last   string
	cursor uint64
	seen   chan string // if set, gets each Info's message
}

func (m *slow) Init() tea.Cmd { return nil }

func (m *slow) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case teaevent.Msg:
		if m.gate != nil {
			<-m.gate
		}
		m.cursor = msg.Cursor
		switch p := msg.Event.Payload.(type) {
		case event.Info:
			m.infos = append(m.infos, p.Message)
			if m.seen != nil {
				m.seen <- p.Message
			}
			if p.Message == m.last {
				return m, tea.Quit
			}
		case event.Dropped:
			m.lost += p.Count
		}
	case teaevent.EndMsg:
		m.ended = msg.Err
		return m, tea.Quit
	}
	return m, nil
}

func (m *slow) View() tea.View { return tea.NewView("") }

func program(m tea.Model) *tea.Program {
	return tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithoutSignals())
}

// subscribe runs m as a program subscribed to a new bus with opts, then
// publishes an Info event for each message; it returns when the program
// ends.
func subscribe(t *testing.T, m *slow, messages []string, opts ...bus.SubscribeOption) {
	t.Helper()
	ctx := context.Background()
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	p := program(m)
	sub, err := teaevent.Subscribe(b, p, event.All, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Cancel()
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	for _, s := range messages {
		ev := event.New(event.Info{Message: s}, event.Meta{})
		if err := b.Publish(ctx, &ev); err != nil {
			t.Fatal(err)
		}
	}
	if m.gate != nil {
		close(m.gate)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// With DropOldest a slow program loses events, and learns how many.
func TestSubscribeDropOldestCountsLoss(t *testing.T) {
	defer goleak.VerifyNone(t)
	m := &slow{gate: make(chan struct{}), last: "10"}
	subscribe(t, m, strings.Fields("1 2 3 4 5 6 7 8 9 10"), bus.WithQueue(2), bus.WithPolicy(bus.DropOldest))
	if m.lost == 0 {
		t.Errorf("no loss reported; got %v", m.infos)
	}
	if int64(len(m.infos))+m.lost != 10 || m.infos[len(m.infos)-1] != "10" {
		t.Errorf("got %v and %d lost, want 10 in all ending with 10", m.infos, m.lost)
	}
}

// By default nothing is lost: the publisher waits for the program.
func TestSubscribeBlockLosesNothing(t *testing.T) {
	defer goleak.VerifyNone(t)
	m := &slow{last: "99"}
	var messages []string
	for i := range 100 {
		messages = append(messages, fmt.Sprint(i))
	}
	subscribe(t, m, messages, bus.WithQueue(1))
	if len(m.infos) != 100 || m.lost != 0 {
		t.Errorf("got %d events, %d lost; want 100, 0", len(m.infos), m.lost)
	}
}

func TestSubscribeNilProgram(t *testing.T) {
	b, _ := bus.New()
	defer b.Close(context.Background())
	if _, err := teaevent.Subscribe(b, nil, event.All); err == nil {
		t.Error("Subscribe(nil program) succeeded")
	}
}

// Follow gives history then live events with their cursors, and an EndMsg
// when its context ends.
func TestFollowHistoryLiveEnd(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := hub.New(st)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	publish := func(s string) {
		ev := event.New(event.Info{Message: s}, event.Meta{SessionID: "s"})
		if err := h.Publish(context.Background(), &ev); err != nil {
			t.Fatal(err)
		}
	}
	publish("old")
	feed, err := h.Subscribe(hub.Selector{Session: "s"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	m := &slow{last: "never", seen: make(chan string, 10)}
	p := program(m)
	followed := make(chan error, 1)
	go func() { followed <- teaevent.Follow(ctx, feed, p) }()
	ran := make(chan error, 1)
	go func() { _, err := p.Run(); ran <- err }()
	if got := <-m.seen; got != "old" {
		t.Fatalf("first event %q, want the history's", got)
	}
	publish("new")
	if got := <-m.seen; got != "new" {
		t.Fatalf("second event %q, want the live one", got)
	}
	cancel()
	if err := <-followed; !errors.Is(err, context.Canceled) {
		t.Errorf("Follow returned %v, want context.Canceled", err)
	}
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if !errors.Is(m.ended, context.Canceled) || m.cursor != 2 {
		t.Errorf("ended with %v at cursor %d; want context.Canceled at 2", m.ended, m.cursor)
	}
}
