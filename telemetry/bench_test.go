package telemetry_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/sinktest"
	"github.com/sluice-events/sluice/telemetry"
)

// benchRun is the events of one run: a provider call streaming 100 text
// deltas, a tool call, a second call streaming 50 deltas.
func benchRun(b *testing.B) []event.Event {
	rec := new(sinktest.Recorder)
	ctx := context.Background()
	em := sluice.NewEmitter(rec, event.Meta{RunID: "run-1", SessionID: "s1", ConversationID: "c1"})
	_ = sluice.Emit(ctx, em, event.RunStarted{})
	call := func(id string, deltas int) {
		inf := em.Inference(id)
		_ = inf.ProviderCallStarted(ctx, "openai", "gpt-5", 3, 1)
		msg := inf.Message("m-" + id)
		_ = sluice.Emit(ctx, msg, event.MessageStarted{ID: "m-" + id, Model: "gpt-5-2025-08-07"})
		for i := range deltas {
			_ = msg.TextDelta(ctx, 0, int64(i*4), "word")
		}
		_ = sluice.Emit(ctx, msg, event.MessageStopped{StopReason: "stop"})
		_ = inf.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Provider: "openai", Model: "gpt-5-2025-08-07",
			Usage: event.Usage{InputTokens: 400, OutputTokens: int64(deltas)}, FinishReason: "stop", Duration: time.Second})
	}
	call("i1", 100)
	tool := em.ToolCall("t1")
	_ = tool.ToolCallStarted(ctx, "t1", "search", json.RawMessage(`{"q":"x"}`))
	_ = tool.ToolCallCompleted(ctx, "t1", "search", time.Millisecond, json.RawMessage(`{}`))
	call("i2", 50)
	_ = sluice.Emit(ctx, em, event.RunCompleted{})
	return rec.Events()
}

func publishAll(b *testing.B, s sluice.Sink) {
	evs := benchRun(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := range evs {
			if s.Enabled(ctx, evs[i].Type) {
				_ = s.Publish(ctx, &evs[i])
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// BenchmarkSink is the cost of the span sink per event of a run, against
// a sink that does nothing (the baseline).
func BenchmarkSink(b *testing.B) {
	b.Run("baseline=no-op sink", func(b *testing.B) {
		publishAll(b, sluice.SinkFunc(func(context.Context, *event.Event) error { return nil }))
	})
	b.Run("noop providers", func(b *testing.B) {
		s, _ := telemetry.New(telemetry.WithTracerProvider(tracenoop.NewTracerProvider()), telemetry.WithMeterProvider(metricnoop.NewMeterProvider()))
		publishAll(b, s)
	})
	b.Run("SDK, no exporter", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		defer tp.Shutdown(context.Background())
		s, _ := telemetry.New(telemetry.WithTracerProvider(tp), telemetry.WithMeterProvider(mp))
		publishAll(b, s)
	})
	b.Run("SDK, batching exporter", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		defer tp.Shutdown(context.Background())
		s, _ := telemetry.New(telemetry.WithTracerProvider(tp), telemetry.WithMeterProvider(mp))
		publishAll(b, s)
	})
	b.Run("SDK, never sampled", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithBatcher(tracetest.NewNoopExporter()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		defer tp.Shutdown(context.Background())
		s, _ := telemetry.New(telemetry.WithTracerProvider(tp), telemetry.WithMeterProvider(mp))
		publishAll(b, s)
	})
}

// BenchmarkEmitterWithoutSpanSink: a text delta emitted where no span sink
// (and no other sink) is attached costs no allocation.
func BenchmarkEmitterWithoutSpanSink(b *testing.B) {
	ctx := context.Background()
	em := sluice.NewEmitter(sluice.Discard, event.Meta{RunID: "r1"})
	b.ReportAllocs()
	for b.Loop() {
		_ = em.TextDelta(ctx, 0, 0, "word")
	}
}
