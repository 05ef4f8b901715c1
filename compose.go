package sluice

import (
	"context"
	"errors"

	"github.com/sluice-events/sluice/event"
)

// Discard is a Sink that wants nothing and drops everything (a nil event
// still gives ErrNilEvent).
var Discard Sink = discard{}

type discard struct{}

func (discard) Enabled(context.Context, event.Type) bool { return false }

func (discard) Publish(_ context.Context, ev *event.Event) error {
	if ev == nil {
		return ErrNilEvent
	}
	return nil
}

// Fanout returns a Sink that publishes every event to each of sinks, in
// order, skipping those not Enabled for its type. A failing sink does not
// stop the others; their errors are joined. Nil sinks are ignored.
func Fanout(sinks ...Sink) Sink {
	var out fanout
	for _, s := range sinks {
		switch s := s.(type) {
		case nil:
		case fanout:
			out = append(out, s...)
		default:
			out = append(out, s)
		}
	}
	switch len(out) {
	case 0:
		return Discard
	case 1:
		return out[0]
	}
	return out
}

type fanout []Sink

func (f fanout) Enabled(ctx context.Context, t event.Type) bool {
	for _, s := range f {
		if s.Enabled(ctx, t) {
			return true
		}
	}
	return false
}

func (f fanout) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return ErrNilEvent
	}
	var errs []error
	for _, s := range f {
		if !s.Enabled(ctx, ev.Type) {
			continue
		}
		if err := s.Publish(ctx, ev); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// FilterTypes returns a Sink that passes to next only the events whose type
// matches one of patterns.
func FilterTypes(next Sink, patterns ...event.Pattern) Sink {
	return &typeFilter{next: next, patterns: patterns}
}

type typeFilter struct {
	next     Sink
	patterns []event.Pattern
}

func (f *typeFilter) match(t event.Type) bool {
	for _, p := range f.patterns {
		if p.Match(t) {
			return true
		}
	}
	return false
}

func (f *typeFilter) Enabled(ctx context.Context, t event.Type) bool {
	return f.match(t) && f.next.Enabled(ctx, t)
}

func (f *typeFilter) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return ErrNilEvent
	}
	if !f.match(ev.Type) {
		return nil
	}
	return f.next.Publish(ctx, ev)
}

// Filter returns a Sink that passes to next only the events for which keep
// returns true, for example the events of one session. keep must not
// change the event: it belongs to the publisher.
func Filter(next Sink, keep func(ctx context.Context, ev *event.Event) bool) Sink {
	return &predicate{next: next, keep: keep}
}

type predicate struct {
	next Sink
	keep func(context.Context, *event.Event) bool
}

func (p *predicate) Enabled(ctx context.Context, t event.Type) bool { return p.next.Enabled(ctx, t) }

func (p *predicate) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return ErrNilEvent
	}
	if !p.keep(ctx, ev) {
		return nil
	}
	return p.next.Publish(ctx, ev)
}

// Transform returns a Sink that hands next a changed copy of each event.
// fn receives the copy and may change it (redact a field, add a label,
// replace the payload); if it returns false the event is dropped. fn must
// not change what the copy shares with the original: clone Meta.Labels
// (Meta.Clone) before changing it, and replace a payload rather than
// changing what it points to.
func Transform(next Sink, fn func(ctx context.Context, ev *event.Event) bool) Sink {
	return &transform{next: next, fn: fn}
}

type transform struct {
	next Sink
	fn   func(context.Context, *event.Event) bool
}

func (t *transform) Enabled(ctx context.Context, typ event.Type) bool {
	return t.next.Enabled(ctx, typ)
}

func (t *transform) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return ErrNilEvent
	}
	cp := *ev
	if !t.fn(ctx, &cp) {
		return nil
	}
	if cp.Type != ev.Type && !t.next.Enabled(ctx, cp.Type) {
		return nil // fn changed the type to one next does not want
	}
	return t.next.Publish(ctx, &cp)
}
