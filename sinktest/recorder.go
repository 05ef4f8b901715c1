package sinktest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// Recorder is a Sink that wants every event and records a copy of each one
// it receives. Put it behind a wrapper under test and pass its Events as
// Harness.Delivered. The zero Recorder is ready to use; it is safe for
// concurrent use.
type Recorder struct {
	mu  sync.Mutex
	evs []event.Event
}

// Enabled implements sluice.Sink; it reports true for every type.
func (r *Recorder) Enabled(context.Context, event.Type) bool { return true }

// Publish implements sluice.Sink: it records a copy of *ev. A nil ev gives
// an error wrapping sluice.ErrNilEvent.
func (r *Recorder) Publish(_ context.Context, ev *event.Event) error {
	if ev == nil {
		return fmt.Errorf("sinktest: recorder: %w", sluice.ErrNilEvent)
	}
	r.mu.Lock()
	r.evs = append(r.evs, *ev)
	r.mu.Unlock()
	return nil
}

// Events returns a copy of the events recorded so far, in the order they
// were published.
func (r *Recorder) Events() []event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.evs)
}
