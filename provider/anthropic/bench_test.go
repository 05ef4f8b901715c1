package anthropic_test

import (
	"context"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/packages/ssestream"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/provider"
	"github.com/sluice-events/sluice/provider/anthropic"
	"github.com/sluice-events/sluice/provider/internal/providertest"
)

// BenchmarkStream reads one long stream (1,000 text deltas, 200 tool
// argument deltas) from memory, so that the figures are per streamed
// event without network or server: the SDK's decoding alone, the SDK with
// its own Message.Accumulate, and the adapter (which accumulates too) with
// no listener and with a listener that takes every event. The adapter's
// overhead per event is its ns/event minus the SDK's.
func BenchmarkStream(b *testing.B) {
	body, events := providertest.AnthropicStream(1000, 200)
	open := func() *ssestream.Stream[sdk.MessageStreamEventUnion] {
		return ssestream.NewStream[sdk.MessageStreamEventUnion](ssestream.NewDecoder(providertest.Response(body)), nil)
	}
	info := provider.CallInfo{Provider: anthropic.Name, Model: "claude-sonnet-4-5"}
	ctx := context.Background()
	perEvent := func(b *testing.B) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
	}

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
		perEvent(b)
	})
	b.Run("sdk+accumulate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := open()
			var msg sdk.Message
			for s.Next() {
				if err := msg.Accumulate(s.Current()); err != nil {
					b.Fatal(err)
				}
			}
		}
		perEvent(b)
	})
	b.Run("adapter/nolistener", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := anthropic.Consume(ctx, nil, open(), info); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b)
	})
	b.Run("adapter/listener", func(b *testing.B) {
		sink := &providertest.Counter{}
		em := sluice.NewEmitter(sink, event.Meta{RunID: "run", SessionID: "sess"})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := anthropic.Consume(ctx, em, open(), info); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b)
	})
}
