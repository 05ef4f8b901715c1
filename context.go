package sluice

import (
	"context"

	"github.com/sluice-events/sluice/event"
)

type sinksKey struct{}
type emitterKey struct{}

// WithSinks returns a context that carries sinks, in addition to any the
// parent context carries, so that code deep in a call chain can Publish
// without being handed a sink.
func WithSinks(ctx context.Context, sinks ...Sink) context.Context {
	if prev := SinkFrom(ctx); prev != Discard {
		sinks = append([]Sink{prev}, sinks...)
	}
	return context.WithValue(ctx, sinksKey{}, Fanout(sinks...))
}

// SinkFrom returns the sinks ctx carries as one Sink, or Discard.
func SinkFrom(ctx context.Context) Sink {
	if s, ok := ctx.Value(sinksKey{}).(Sink); ok {
		return s
	}
	return Discard
}

// Publish publishes ev to the sinks ctx carries; with none it does nothing.
func Publish(ctx context.Context, ev *event.Event) error {
	s := SinkFrom(ctx)
	if !s.Enabled(ctx, ev.Type) {
		return nil
	}
	return s.Publish(ctx, ev)
}

// WithEmitter returns a context that carries em.
func WithEmitter(ctx context.Context, em *Emitter) context.Context {
	return context.WithValue(ctx, emitterKey{}, em)
}

// EmitterFrom returns the emitter ctx carries. Without one, if ctx carries
// sinks, it returns an emitter over them with no metadata; otherwise it
// returns nil, which is a valid no-op emitter.
func EmitterFrom(ctx context.Context) *Emitter {
	if em, ok := ctx.Value(emitterKey{}).(*Emitter); ok {
		return em
	}
	if s := SinkFrom(ctx); s != Discard {
		return NewEmitter(s, event.Meta{})
	}
	return nil
}
