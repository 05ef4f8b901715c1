package anthropic_test

import (
	"context"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/packages/ssestream"

	"github.com/sluice-events/sluice"
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

	providertest.BenchSDK[sdk.MessageStreamEventUnion](b, events, open)
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
		providertest.PerEvent(b, events)
	})
	providertest.BenchAdapter(b, events, func(em *sluice.Emitter) error {
		_, err := anthropic.Consume(ctx, em, open(), info)
		return err
	})
}
