package sluice

import (
	"context"

	"github.com/sluice-events/sluice/event"
)

// carrier is what a context carries for Sluice: the sinks added with
// WithSinks and the emitter to use. One context value holds both, so that
// EmitterFrom costs one lookup.
type carrier struct {
	sink     Sink     // every sink added with WithSinks, as one; nil if none
	em       *Emitter // WithEmitter's emitter, or one over sink
	explicit bool     // em was set with WithEmitter
}

type carrierKey struct{}

func carrierFrom(ctx context.Context) *carrier {
	c, _ := ctx.Value(carrierKey{}).(*carrier)
	return c
}

// WithSinks returns a context that carries sinks, in addition to any the
// parent context carries, so that code deep in a call chain can Publish
// without being handed a sink. An emitter set with WithEmitter stays the
// context's emitter; without one, EmitterFrom returns an emitter over all
// the context's sinks.
func WithSinks(ctx context.Context, sinks ...Sink) context.Context {
	next := &carrier{}
	prev := carrierFrom(ctx)
	if prev != nil && prev.sink != nil {
		sinks = append([]Sink{prev.sink}, sinks...)
	}
	next.sink = Fanout(sinks...)
	if prev != nil && prev.explicit {
		next.em, next.explicit = prev.em, true
	} else {
		next.em = NewEmitter(next.sink, event.Meta{})
	}
	return context.WithValue(ctx, carrierKey{}, next)
}

// SinkFrom returns the sinks ctx carries as one Sink, or Discard.
func SinkFrom(ctx context.Context) Sink {
	if c := carrierFrom(ctx); c != nil && c.sink != nil {
		return c.sink
	}
	return Discard
}

// Publish publishes ev to the sinks ctx carries; with none it does nothing.
func Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return ErrNilEvent
	}
	s := SinkFrom(ctx)
	if !s.Enabled(ctx, ev.Type) {
		return nil
	}
	return s.Publish(ctx, ev)
}

// WithEmitter returns a context that carries em.
func WithEmitter(ctx context.Context, em *Emitter) context.Context {
	next := &carrier{em: em, explicit: true}
	if prev := carrierFrom(ctx); prev != nil {
		next.sink = prev.sink
	}
	return context.WithValue(ctx, carrierKey{}, next)
}

// EmitterFrom returns the emitter ctx carries: the one set with WithEmitter,
// or else one over the sinks added with WithSinks (with no metadata), or
// else nil, which is a valid no-op emitter. It does not allocate.
func EmitterFrom(ctx context.Context) *Emitter {
	if c := carrierFrom(ctx); c != nil {
		return c.em
	}
	return nil
}
