package main

import (
	"context"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/telemetry/prom"
)

// genAIMetrics counts the provider and tool calls of every event the
// server logs into Prometheus series (sluice_genai_*, sluice_tool_*) for
// /metrics, synchronously, as they are published on b.
func genAIMetrics(b *bus.Bus) (*prom.Sink, error) {
	m, err := prom.New()
	if err != nil {
		return nil, err
	}
	count := func(ctx context.Context, ev *event.Event) { _ = m.Publish(ctx, ev) }
	for _, p := range []string{"provider.call.>", "tool.call.>"} {
		if _, err := b.Subscribe(event.MustPattern(p), count, bus.WithSync()); err != nil {
			return nil, err
		}
	}
	return m, nil
}
