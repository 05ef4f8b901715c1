package hub_test

import (
	"context"
	"testing"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/sinktest"
)

// TestConformance runs the Sink conformance suite on a hub: what it
// delivers is what a feed over the suite's session reads, history and
// then live.
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		st := memStore(t)
		h, err := hub.New(st)
		if err != nil {
			t.Fatal(err)
		}
		feed, err := h.Subscribe(hub.Selector{Session: "sinktest"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		rec := new(sinktest.Recorder)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				it, err := feed.Next(ctx)
				if err != nil {
					return
				}
				_ = rec.Publish(ctx, &it.Event)
			}
		}()
		t.Cleanup(func() {
			cancel()
			<-done
			_ = h.Close(context.Background())
			_ = st.Close()
		})
		return sinktest.Harness{Sink: h, Delivered: rec.Events, Close: h.Close, ErrClosed: hub.ErrClosed}
	})
}
