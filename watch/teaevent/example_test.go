package teaevent_test

import (
	"context"
	"fmt"
	"io"

	tea "charm.land/bubbletea/v2"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/watch/teaevent"
)

// transcript is a tiny Bubble Tea model: it shows the streamed text and
// quits when the message stops.
type transcript struct{ text string }

func (m transcript) Init() tea.Cmd { return nil }

func (m transcript) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if msg, ok := msg.(teaevent.Msg); ok {
		switch p := msg.Event.Payload.(type) {
		case event.TextDelta:
			m.text += p.Text
		case event.MessageStopped:
			return m, tea.Quit
		}
	}
	return m, nil
}

func (m transcript) View() tea.View { return tea.NewView(m.text) }

// A program of your own follows the bus: every message.* event reaches its
// Update, queued up to 64 deep; if the screen falls behind, the oldest
// waiting events are dropped and counted (an event.Dropped arrives instead).
func ExampleSubscribe() {
	b, err := bus.New()
	if err != nil {
		panic(err)
	}
	defer b.Close(context.Background())
	// In a terminal: tea.NewProgram(transcript{}).
	p := tea.NewProgram(transcript{}, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithoutSignals())
	sub, err := teaevent.Subscribe(b, p, event.MustPattern("message.>"),
		bus.WithQueue(64), bus.WithPolicy(bus.DropOldest))
	if err != nil {
		panic(err)
	}
	defer sub.Cancel()

	go func() {
		ctx := context.Background()
		for _, pl := range []event.Payload{
			event.MessageStarted{Role: "assistant"},
			event.TextDelta{Text: "Sunny"},
			event.TextDelta{Offset: 5, Text: " in Paris."},
			event.MessageStopped{StopReason: "end_turn"},
		} {
			ev := event.New(pl, event.Meta{SessionID: "chat-1"})
			b.Publish(ctx, &ev)
		}
	}()
	final, err := p.Run()
	if err != nil {
		panic(err)
	}
	fmt.Println(final.(transcript).text)
	// Output: Sunny in Paris.
}

// Follow the durable log instead: the feed gives the session's history,
// then its live events, with cursors to resume from.
func ExampleFollow() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := memory.New()
	if err != nil {
		panic(err)
	}
	defer st.Close()
	h, err := hub.New(st)
	if err != nil {
		panic(err)
	}
	defer h.Close(ctx)
	for _, pl := range []event.Payload{
		event.TextDelta{Text: "Recorded"},
		event.TextDelta{Offset: 8, Text: " earlier."},
		event.MessageStopped{},
	} {
		ev := event.New(pl, event.Meta{SessionID: "chat-1"})
		if err := h.Publish(ctx, &ev); err != nil {
			panic(err)
		}
	}

	feed, err := h.Subscribe(hub.Selector{Session: "chat-1"}, 0)
	if err != nil {
		panic(err)
	}
	defer feed.Close()
	p := tea.NewProgram(transcript{}, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithoutSignals())
	done := make(chan error, 1)
	go func() { done <- teaevent.Follow(ctx, feed, p) }()
	final, err := p.Run()
	if err != nil {
		panic(err)
	}
	cancel()
	<-done
	fmt.Println(final.(transcript).text)
	// Output: Recorded earlier.
}
