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

	"github.com/sluice-events/sluice/event"
)

// Sink consumes events. Implementations must be safe for concurrent use.
//
// Publish receives a pointer for speed; the event belongs to the caller. A
// sink must not modify *ev, and must copy it (a plain assignment does) if it
// keeps it after Publish returns. Payloads are shared and must be treated as
// immutable.
type Sink interface {
	// Enabled reports whether the sink wants events of type t at all.
	// Producers call it before building an event, so that an event nobody
	// wants costs nothing; a sink that cannot tell returns true.
	Enabled(ctx context.Context, t event.Type) bool
	// Publish hands ev to the sink. An error means the sink did not accept
	// the event (it is closed, the context ended, the event is invalid).
	Publish(ctx context.Context, ev *event.Event) error
}

// SinkFunc adapts a function to a Sink that wants every event.
type SinkFunc func(ctx context.Context, ev *event.Event) error

// Enabled implements Sink; it always reports true.
func (f SinkFunc) Enabled(context.Context, event.Type) bool { return true }

// Publish implements Sink by calling f.
func (f SinkFunc) Publish(ctx context.Context, ev *event.Event) error { return f(ctx, ev) }
