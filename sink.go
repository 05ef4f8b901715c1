// Package sluice is the user-facing surface of Sluice: the Sink that every
// consumer implements, the Emitter that producers publish through, and sinks
// carried in a context.Context so that code deep in a call chain can publish
// without plumbing.
//
// A Sink is to events what slog.Handler is to log records: a small interface
// with an Enabled check that makes publishing free when nobody listens, and
// wrappers that compose.
package sluice

import (
	"context"
	"errors"

	"github.com/sluice-events/sluice/event"
)

// Sink consumes events. The package
// github.com/sluice-events/sluice/sinktest checks an implementation
// against everything promised here.
//
// Implementations must be safe for concurrent use, and pass on (deliver,
// print, log) the events that one goroutine publishes in the order it
// published them.
//
// Publish receives a pointer for speed; the event belongs to the caller. A
// sink must not modify *ev, and must not keep ev after Publish returns: it
// copies *ev if it needs the event later (a plain assignment does). Such a
// copy shares the payload and Meta.Labels with the caller's event, so both
// are immutable once published, for the caller and for every sink: to
// change them, replace them (see Transform).
type Sink interface {
	// Enabled reports whether the sink wants events of type t at all.
	// Producers call it before building an event, so that an event nobody
	// wants costs nothing; a sink that cannot tell returns true. Publish
	// of an event of a type Enabled reports false for does nothing (and
	// returns nil, unless the sink is closed).
	Enabled(ctx context.Context, t event.Type) bool
	// Publish hands ev to the sink. An error means the sink did not accept
	// the event, or not everywhere it delivers it, and wraps a sentinel for
	// errors.Is: ErrNilEvent for a nil ev (never a panic), event.ErrInvalid
	// for an event the sink refuses as invalid, the context's error when
	// ctx ended, and the sink's own ErrClosed (such as bus.ErrClosed) once
	// the sink is closed. A sink need not check that events are valid, but
	// an invalid event never makes it panic.
	Publish(ctx context.Context, ev *event.Event) error
}

// ErrNilEvent is wrapped by the error that Publish returns for a nil event,
// the package-level Publish and every Sink's (see Sink).
var ErrNilEvent = errors.New("sluice: nil event")

// SinkFunc adapts a function to a Sink that wants every event. The function
// is never called with a nil event.
type SinkFunc func(ctx context.Context, ev *event.Event) error

// Enabled implements Sink; it always reports true.
func (f SinkFunc) Enabled(context.Context, event.Type) bool { return true }

// Publish implements Sink by calling f; a nil ev gives ErrNilEvent.
func (f SinkFunc) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return ErrNilEvent
	}
	return f(ctx, ev)
}
