package stream_test

import (
	"context"
	"testing"

	"github.com/sluice-events/sluice/sinktest"
	"github.com/sluice-events/sluice/stream"
)

// TestConformance runs the Sink conformance suite on a stream: what it
// delivers is what its reader receives.
func TestConformance(t *testing.T) {
	for name, opts := range map[string][]stream.Option{
		"Default":     nil,
		"SmallBuffer": {stream.WithBufferSize(1)},
	} {
		t.Run(name, func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) sinktest.Harness {
				s, err := stream.New("sinktest", opts...)
				if err != nil {
					t.Fatal(err)
				}
				rec := new(sinktest.Recorder)
				done := make(chan struct{})
				go func() {
					defer close(done)
					for {
						ev, err := s.Receive(context.Background())
						if err != nil {
							return
						}
						_ = rec.Publish(context.Background(), &ev)
					}
				}()
				t.Cleanup(func() {
					_ = s.Close()
					<-done
				})
				return sinktest.Harness{
					Sink: s, Delivered: rec.Events,
					Close: func(context.Context) error { return s.Close() }, ErrClosed: stream.ErrClosed,
				}
			})
		})
	}
}
