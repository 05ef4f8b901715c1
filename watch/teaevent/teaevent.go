// Package teaevent delivers Sluice events to a Bubble Tea program as
// messages, so a terminal UI of your own can follow a bus or the log: each
// event reaches the program's Update as a Msg, in order.
//
// Subscribe takes the bus's delivery options: by default a slow screen makes
// the publisher wait (nothing is lost); with bus.WithPolicy(bus.DropOldest)
// it loses the oldest waiting events instead, and the program receives an
// event.Dropped saying how many before the next event. Follow reads a hub
// feed, which never loses anything: history first, then live events.
package teaevent

import (
	"context"
	"errors"

	tea "charm.land/bubbletea/v2"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
)

// Msg is one event delivered to a program.
type Msg struct {
	// Event is the event.
	Event event.Event
	// Cursor is the feed's cursor after the event (Follow): keep it to
	// resume later. It is 0 for events from a bus.
	Cursor uint64
}

// EndMsg tells the program that Follow stopped, and why.
type EndMsg struct {
	// Err is why the feed ended: the context's error when it was
	// canceled, or the feed's error.
	Err error
}

// Subscribe subscribes to the events of b matching pattern and sends each
// to p as a Msg. opts are the bus's subscription options (the queue, the
// delivery policy, a session, a filter). Subscribe before or after the
// program starts: events wait in the subscription's queue until it runs
// (with the default Block policy, a full queue then makes the publisher
// wait). Cancel the subscription when the program ends; a send after the
// program ended does nothing.
func Subscribe(b *bus.Bus, p *tea.Program, pattern event.Pattern, opts ...bus.SubscribeOption) (*bus.Subscription, error) {
	if p == nil {
		return nil, errors.New("teaevent: nil program")
	}
	return b.Subscribe(pattern, func(_ context.Context, ev *event.Event) {
		p.Send(Msg{Event: *ev})
	}, opts...)
}

// Follow reads f until ctx ends or f fails, and sends each event to p as a
// Msg, then an EndMsg. It returns the error it sent in the EndMsg. Run it
// in its own goroutine; it does not close f.
func Follow(ctx context.Context, f *hub.Feed, p *tea.Program) error {
	if p == nil {
		return errors.New("teaevent: nil program")
	}
	for it, err := range f.All(ctx) {
		if err != nil {
			p.Send(EndMsg{Err: err})
			return err
		}
		p.Send(Msg{Event: it.Event, Cursor: it.Cursor})
	}
	return nil // not reached: All ends with an error
}
