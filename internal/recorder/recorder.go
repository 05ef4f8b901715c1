// Package recorder is a Sink for tests that checks and keeps what it
// receives, for the tests of packages and integrations that produce events.
package recorder

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/sinktest"
)

// Sink records a copy of every valid event it receives and refuses an
// invalid one (event.Validate's error), so that a producer that builds a
// bad event is caught where it publishes it. The zero Sink is ready to use;
// it is safe for concurrent use.
type Sink struct{ rec sinktest.Recorder }

// New returns an empty Sink.
func New() *Sink { return &Sink{} }

// Enabled implements sluice.Sink; it reports true for every type.
func (s *Sink) Enabled(context.Context, event.Type) bool { return true }

// Publish implements sluice.Sink.
func (s *Sink) Publish(ctx context.Context, ev *event.Event) error {
	if ev != nil {
		if err := ev.Validate(); err != nil {
			return err
		}
	}
	return s.rec.Publish(ctx, ev)
}

// All returns the events recorded so far, in the order they were published.
func (s *Sink) All() []event.Event { return s.rec.Events() }

// Of returns the recorded events of type t, in order.
func (s *Sink) Of(t event.Type) []event.Event {
	var out []event.Event
	for _, ev := range s.rec.Events() {
		if ev.Type == t {
			out = append(out, ev)
		}
	}
	return out
}

// WaitFor waits until n events of type typ have been recorded and returns
// them, for events that producers publish from goroutines of their own
// (a stream read to its end, a notification queue); it fails tb if more
// arrive or if they have not all arrived after ten seconds.
func (s *Sink) WaitFor(tb testing.TB, typ event.Type, n int) []event.Event {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		evs := s.Of(typ)
		if len(evs) == n {
			return evs
		}
		if len(evs) > n || time.Now().After(deadline) {
			tb.Fatalf("%d %s events, want %d", len(evs), typ, n)
		}
	}
}
