package sluice_test

import (
	"context"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/sinktest"
)

// wrapped returns a sinktest.NewFunc for the sink that wrap puts in front of
// a recorder.
func wrapped(wrap func(next sluice.Sink) sluice.Sink) sinktest.NewFunc {
	return func(t *testing.T) sinktest.Harness {
		rec := new(sinktest.Recorder)
		return sinktest.Harness{Sink: wrap(rec), Delivered: rec.Events}
	}
}

func TestConformance(t *testing.T) {
	t.Run("SinkFunc", func(t *testing.T) {
		sinktest.Run(t, wrapped(func(next sluice.Sink) sluice.Sink {
			return sluice.SinkFunc(func(ctx context.Context, ev *event.Event) error { return next.Publish(ctx, ev) })
		}))
	})
	t.Run("Discard", func(t *testing.T) {
		sinktest.Run(t, func(t *testing.T) sinktest.Harness {
			return sinktest.Harness{Sink: sluice.Discard, Delivered: func() []event.Event { return nil }}
		})
	})
	t.Run("Fanout", func(t *testing.T) {
		// The recorder is behind a filter, so that the fan-out skips a sink
		// for some types; the thinking deltas nobody wants are disabled.
		sinktest.Run(t, wrapped(func(next sluice.Sink) sluice.Sink {
			return sluice.Fanout(
				sluice.FilterTypes(next, event.MustPattern("message.text.>"), event.MustPattern("tool.>")),
				sluice.Discard,
				sluice.FilterTypes(next, event.MustPattern("run.>"), event.MustPattern("sinktest.>")),
			)
		}))
	})
	t.Run("FilterTypes", func(t *testing.T) {
		sinktest.Run(t, wrapped(func(next sluice.Sink) sluice.Sink {
			return sluice.FilterTypes(next, event.MustPattern("message.>"), event.MustPattern("sinktest.*"))
		}))
	})
	t.Run("Filter", func(t *testing.T) {
		sinktest.Run(t, wrapped(func(next sluice.Sink) sluice.Sink {
			return sluice.Filter(next, func(_ context.Context, ev *event.Event) bool { return ev.Meta.SessionID != "" })
		}))
	})
	t.Run("Transform", func(t *testing.T) {
		sinktest.Run(t, wrapped(func(next sluice.Sink) sluice.Sink {
			return sluice.Transform(next, func(_ context.Context, ev *event.Event) bool {
				ev.Meta = ev.Meta.Clone()
				if ev.Meta.Labels == nil {
					ev.Meta.Labels = map[string]string{}
				}
				ev.Meta.Labels["redacted"] = "yes"
				ev.Meta.Model = ""
				return true
			})
		}))
	})
}
