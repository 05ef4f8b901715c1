package providertest

import (
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// PerEvent reports b's time per streamed event as "ns/event", for streams
// of events events each.
func PerEvent(b *testing.B, events int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
}

// Stream is what BenchSDK reads of an SDK's stream.
type Stream[T any] interface {
	Next() bool
	Current() T
	Err() error
}

// BenchSDK runs the sub-benchmark "sdk": the SDK's decoding alone, each
// stream that open returns read to its end.
func BenchSDK[T any, S Stream[T]](b *testing.B, events int, open func() S) {
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := open()
			for s.Next() {
				_ = s.Current()
			}
			if s.Err() != nil {
				b.Fatal(s.Err())
			}
		}
		PerEvent(b, events)
	})
}

// BenchAdapter runs the sub-benchmarks "adapter/nolistener" and
// "adapter/listener": consume reads one stream through the adapter,
// emitting through em, which is nil in the first and sends every event to
// a Counter in the second.
func BenchAdapter(b *testing.B, events int, consume func(em *sluice.Emitter) error) {
	b.Run("adapter/nolistener", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := consume(nil); err != nil {
				b.Fatal(err)
			}
		}
		PerEvent(b, events)
	})
	b.Run("adapter/listener", func(b *testing.B) {
		em := sluice.NewEmitter(&Counter{}, event.Meta{RunID: "run", SessionID: "sess"})
		b.ReportAllocs()
		for b.Loop() {
			if err := consume(em); err != nil {
				b.Fatal(err)
			}
		}
		PerEvent(b, events)
	})
}
