package stream_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/stream"
)

// benchSize is the buffer capacity of both the stream and the baseline
// channels.
const benchSize = 100

// BenchmarkSendReceive measures one producer sending b.N events through a
// Block stream to 1 or 4 readers, each of which receives all b.N. ns/op is
// per event sent (and received by every reader).
func BenchmarkSendReceive(b *testing.B) {
	for _, readers := range []int{1, 4} {
		b.Run(fmt.Sprintf("readers=%d", readers), func(b *testing.B) {
			s, err := stream.New("bench", stream.WithBufferSize(benchSize))
			if err != nil {
				b.Fatal(err)
			}
			e := event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: "bench"})
			ctx := context.Background()
			var wg sync.WaitGroup
			for range readers {
				r := s.Reader()
				wg.Go(func() {
					for {
						if _, err := r.Receive(ctx); err != nil {
							return
						}
					}
				})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := s.Send(e); err != nil {
					b.Fatal(err)
				}
			}
			_ = s.Close()
			wg.Wait()
		})
	}
}

// BenchmarkChannel is the baseline: the same traffic over plain buffered
// channels of event.Event with the same capacity. A channel hands each value
// to one receiver, so with 4 readers the producer fans out to 4 channels,
// one per reader, which is what a broadcast costs without the stream.
func BenchmarkChannel(b *testing.B) {
	for _, readers := range []int{1, 4} {
		b.Run(fmt.Sprintf("readers=%d", readers), func(b *testing.B) {
			chans := make([]chan event.Event, readers)
			e := event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: "bench"})
			var wg sync.WaitGroup
			for i := range chans {
				ch := make(chan event.Event, benchSize)
				chans[i] = ch
				wg.Go(func() {
					for range ch {
					}
				})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				for _, ch := range chans {
					ch <- e
				}
			}
			for _, ch := range chans {
				close(ch)
			}
			wg.Wait()
		})
	}
}

// BenchmarkSendDrop measures a DropNewest send to a stream whose buffer is full:
// the cost a producer pays for a refused event.
func BenchmarkSendDrop(b *testing.B) {
	s, _ := stream.New("bench", stream.WithBufferSize(benchSize), stream.WithPolicy(stream.DropNewest))
	e := event.New(event.TextDelta{Text: "x"})
	for range benchSize {
		_ = s.Send(e)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Send(e)
	}
}
