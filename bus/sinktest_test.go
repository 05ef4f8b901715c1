package bus_test

import (
	"context"
	"testing"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/sinktest"
)

// busHarness returns a bus whose subscriptions, one per pattern, made with
// opts, record what they receive. Asynchronous subscriptions each deliver
// in order, but not in order with one another: give them one pattern.
func busHarness(patterns []string, opts ...bus.SubscribeOption) sinktest.NewFunc {
	return func(t *testing.T) sinktest.Harness {
		b := mustNew(t)
		t.Cleanup(func() { _ = b.Close(context.Background()) })
		rec := new(sinktest.Recorder)
		for _, p := range patterns {
			_, err := b.Subscribe(event.MustPattern(p), func(ctx context.Context, ev *event.Event) { _ = rec.Publish(ctx, ev) }, opts...)
			if err != nil {
				t.Fatal(err)
			}
		}
		return sinktest.Harness{Sink: b, Delivered: rec.Events, Close: b.Close, ErrClosed: bus.ErrClosed}
	}
}

func TestConformance(t *testing.T) {
	some := []string{"message.text.>", "tool.*.*", "run.started", "sinktest.>"}
	t.Run("Async", func(t *testing.T) { sinktest.Run(t, busHarness([]string{">"})) })
	t.Run("AsyncSmallQueue", func(t *testing.T) { sinktest.Run(t, busHarness([]string{"message.text.>"}, bus.WithQueue(1))) })
	t.Run("Sync", func(t *testing.T) { sinktest.Run(t, busHarness(some, bus.WithSync())) })
	t.Run("SessionPredicate", func(t *testing.T) {
		sinktest.Run(t, busHarness([]string{">"}, bus.WithSession("sinktest")))
	})
	t.Run("NoSubscriber", func(t *testing.T) { sinktest.Run(t, busHarness(nil)) })
}
