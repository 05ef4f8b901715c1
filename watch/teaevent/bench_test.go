package teaevent_test

import (
	"context"
	"io"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/watch/teaevent"
)

// counter quits after n events.
type counter struct{ n, seen int }

func (m *counter) Init() tea.Cmd { return nil }
func (m *counter) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(teaevent.Msg); ok {
		if m.seen++; m.seen == m.n {
			return m, tea.Quit
		}
	}
	return m, nil
}
func (m *counter) View() tea.View { return tea.NewView("") }

// The baseline: an asynchronous bus subscription whose handler only
// counts, the same path without a program.
func BenchmarkBusHandlerBaseline(b *testing.B) {
	ctx := context.Background()
	bs, _ := bus.New()
	done := make(chan struct{})
	seen := 0
	bs.Subscribe(event.All, func(context.Context, *event.Event) {
		if seen++; seen == b.N {
			close(done)
		}
	})
	ev := event.New(event.TextDelta{Text: "token"}, event.Meta{SessionID: "s"})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		bs.Publish(ctx, &ev)
	}
	<-done
	b.StopTimer()
	bs.Close(ctx)
}

// Each event of a bus delivered to a running Bubble Tea program's Update
// (the screen drawn at its frame rate, to io.Discard).
func BenchmarkSubscribe(b *testing.B) {
	ctx := context.Background()
	bs, _ := bus.New()
	p := tea.NewProgram(&counter{n: b.N}, tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithoutSignals())
	sub, err := teaevent.Subscribe(bs, p, event.All)
	if err != nil {
		b.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { _, err := p.Run(); ran <- err }()
	ev := event.New(event.TextDelta{Text: "token"}, event.Meta{SessionID: "s"})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		bs.Publish(ctx, &ev)
	}
	if err := <-ran; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	sub.Cancel()
	bs.Close(ctx)
}
