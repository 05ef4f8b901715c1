package sluice_test

import (
	"context"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// BenchmarkEmitterNil measures a typed helper on a nil emitter: the cost of
// instrumentation that is switched off.
func BenchmarkEmitterNil(b *testing.B) {
	var em *sluice.Emitter
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = em.TextDelta(ctx, 0, 0, "token")
	}
}

// BenchmarkEmitterDisabled measures emitting to a sink that does not want the
// type: Enabled says no before any event is built.
func BenchmarkEmitterDisabled(b *testing.B) {
	em := sluice.NewEmitter(sluice.Discard, event.Meta{RunID: "r", SessionID: "s"})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = em.TextDelta(ctx, 0, 0, "token")
	}
}

// BenchmarkEmitterEnabled measures building and publishing a text delta with
// metadata to a sink that accepts it and does nothing.
func BenchmarkEmitterEnabled(b *testing.B) {
	sink := sluice.SinkFunc(func(context.Context, *event.Event) error { return nil })
	em := sluice.NewEmitter(sink, event.Meta{RunID: "r", SessionID: "s"}).Turn("t").Message("m")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = em.TextDelta(ctx, 0, 0, "token")
	}
}
