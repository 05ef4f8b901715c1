package openai_test

import (
	"context"
	"testing"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"
	"github.com/openai/openai-go/v3/responses"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/provider"
	"github.com/sluice-events/sluice/provider/internal/providertest"
	"github.com/sluice-events/sluice/provider/openai"
)

func perEvent(b *testing.B, events int) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*events), "ns/event")
}

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
		perEvent(b, events)
	})
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
		perEvent(b, events)
	})
	b.Run("adapter/nolistener", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := openai.ConsumeChat(ctx, nil, open(), info); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b, events)
	})
	b.Run("adapter/listener", func(b *testing.B) {
		em := sluice.NewEmitter(&providertest.Counter{}, event.Meta{RunID: "run", SessionID: "sess"})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := openai.ConsumeChat(ctx, em, open(), info); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b, events)
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
		perEvent(b, events)
	})
	b.Run("adapter/nolistener", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := openai.ConsumeResponse(ctx, nil, open(), info); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b, events)
	})
	b.Run("adapter/listener", func(b *testing.B) {
		em := sluice.NewEmitter(&providertest.Counter{}, event.Meta{RunID: "run", SessionID: "sess"})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := openai.ConsumeResponse(ctx, em, open(), info); err != nil {
				b.Fatal(err)
			}
		}
		perEvent(b, events)
	})
}
