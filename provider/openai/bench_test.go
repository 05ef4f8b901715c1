package openai_test

import (
	"context"
	"testing"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/responses"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/provider"
	"github.com/sluice-events/sluice/provider/internal/providertest"
	"github.com/sluice-events/sluice/provider/openai"
)

// BenchmarkChat reads one long Chat Completions stream (1,000 content
// deltas, 200 tool argument deltas) from memory: the SDK's decoding alone,
// the SDK with its ChatCompletionAccumulator, and the adapter with no
// listener and with one that takes every event.
func BenchmarkChat(b *testing.B) {
	body, events := providertest.ChatStream(1000, 200)
	open := func() *ssestream.Stream[sdk.ChatCompletionChunk] {
		return ssestream.NewStream[sdk.ChatCompletionChunk](ssestream.NewDecoder(providertest.Response(body)), nil)
	}
	info := provider.CallInfo{Provider: openai.Name, Model: "gpt-4o-mini"}
	ctx := context.Background()
	providertest.BenchSDK[sdk.ChatCompletionChunk](b, events, open)
	b.Run("sdk+accumulate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := open()
			var acc sdk.ChatCompletionAccumulator
			for s.Next() {
				if !acc.AddChunk(s.Current()) {
					b.Fatal("chunk rejected")
				}
			}
		}
		providertest.PerEvent(b, events)
	})
	providertest.BenchAdapter(b, events, func(em *sluice.Emitter) error {
		_, err := openai.ConsumeChat(ctx, em, open(), info)
		return err
	})
}

// BenchmarkResponses is BenchmarkChat for a Responses stream.
func BenchmarkResponses(b *testing.B) {
	body, events := providertest.ResponsesStream(1000, 200)
	open := func() *ssestream.Stream[responses.ResponseStreamEventUnion] {
		return ssestream.NewStream[responses.ResponseStreamEventUnion](ssestream.NewDecoder(providertest.Response(body)), nil)
	}
	info := provider.CallInfo{Provider: openai.Name, Model: "gpt-4.1"}
	ctx := context.Background()
	providertest.BenchSDK[responses.ResponseStreamEventUnion](b, events, open)
	providertest.BenchAdapter(b, events, func(em *sluice.Emitter) error {
		_, err := openai.ConsumeResponse(ctx, em, open(), info)
		return err
	})
}
