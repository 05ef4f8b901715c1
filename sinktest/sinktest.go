// Package sinktest is the conformance suite for sluice.Sink
// implementations, in the spirit of testing/slogtest and store/storetest.
// Every sink in this module runs it, and so can any other:
//
//	func TestConformance(t *testing.T) {
//		sinktest.Run(t, func(t *testing.T) sinktest.Harness {
//			rec := new(sinktest.Recorder)
//			s := mysink.New(rec)
//			t.Cleanup(func() { _ = s.Close() })
//			return sinktest.Harness{Sink: s, Delivered: rec.Events}
//		})
//	}
//
// The suite needs to see what the sink did with the events it was given, so
// the test supplies, with the sink, a function that returns what the sink
// has delivered so far, as events: what a wrapper passed on to the next
// sink (a Recorder records it), what a bus handed its subscribers, or what
// a printer wrote, parsed back. The suite identifies events by their ID, so
// the delivered events must carry the IDs of the published ones; the other
// fields may differ (a log numbers events, a printer leaves things out).
//
// The suite checks what the sluice.Sink documentation promises:
//
//   - Enabled is consistent with Publish: an event of a type the sink
//     reports disabled is not delivered (and Publish returns nil), and an
//     event of an enabled type is delivered, exactly once. The sink under
//     test must be set up to deliver every event of the types it enables:
//     a filter that keeps some events of a type and drops others is set up
//     to keep the suite's events.
//   - Publish neither modifies the caller's event nor keeps it: the suite
//     changes every field of the event after Publish returns, and what the
//     sink delivered must not change.
//   - The sink is safe for concurrent use, and the events one goroutine
//     publishes are delivered in the order it published them. Run the
//     suite with -race.
//   - Errors wrap sentinels: a nil event gives an error wrapping
//     sluice.ErrNilEvent, never a panic; an invalid event (one that fails
//     event.Validate) is never a panic and, if the sink refuses it, the
//     error wraps event.ErrInvalid; an ended context gives no error or one
//     wrapping the context's error.
//   - A sink that can be closed (Harness.Close is set) refuses events once
//     closed, with an error wrapping Harness.ErrClosed.
//
// Sinks that deliver asynchronously (a bus subscriber with a queue, a feed
// that follows a log) are supported: the suite waits, up to a timeout, for
// the events it expects to be delivered.
package sinktest

import (
	"context"
	"testing"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// Harness is one sink under test and what the suite needs to observe it.
type Harness struct {
	// Sink is the sink under test.
	Sink sluice.Sink
	// Delivered returns the events Sink has delivered so far, in the order
	// it delivered them, each published event once. It must return what
	// the sink delivered as it was at delivery time (a Recorder copies
	// each event it receives), so that the suite can tell whether the sink
	// kept the caller's event. A sink that delivers asynchronously may
	// return before the latest events are there: the suite waits and asks
	// again. It may be called from any goroutine.
	Delivered func() []event.Event
	// Close, if not nil, closes Sink. The suite calls it at most once per
	// harness; the constructor still registers any cleanup the sink needs
	// (t.Cleanup), for the harnesses whose sink the suite does not close.
	Close func(ctx context.Context) error
	// ErrClosed is the error that Publish wraps once Sink is closed. It is
	// required when Close is set.
	ErrClosed error
}

// NewFunc returns a new sink under test, in a new harness, for each call.
// It reports failures with t.Fatal.
type NewFunc func(t *testing.T) Harness

// Option configures Run.
type Option func(*config)

type config struct {
	timeout    time.Duration
	goroutines int
	events     int
}

// Timeout sets how long the suite waits for an event to be delivered
// (default 10 seconds).
func Timeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// Concurrency sets how many goroutines publish at once, and how many events
// each publishes, in the concurrency check (default 8 goroutines of 50
// events each).
func Concurrency(goroutines, events int) Option {
	return func(c *config) { c.goroutines, c.events = goroutines, events }
}

// Run runs the whole suite as subtests of t, with a new harness from
// newSink for each.
func Run(t *testing.T, newSink NewFunc, opts ...Option) {
	t.Helper()
	c := config{timeout: 10 * time.Second, goroutines: 8, events: 50}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	if c.timeout <= 0 || c.goroutines <= 0 || c.events <= 0 {
		t.Fatalf("sinktest: invalid options: timeout %v, %d goroutines of %d events", c.timeout, c.goroutines, c.events)
	}
	s := &suite{newSink: newSink, cfg: c}
	t.Run("Enabled", s.enabled)
	t.Run("NoModify", s.noModify)
	t.Run("NoRetain", s.noRetain)
	t.Run("Concurrent", s.concurrent)
	t.Run("NilEvent", s.nilEvent)
	t.Run("InvalidEvent", s.invalidEvent)
	t.Run("EndedContext", s.endedContext)
	t.Run("Closed", s.closed)
}
