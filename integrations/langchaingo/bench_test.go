package sluicelangchain_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tmc/langchaingo/chains"
	"github.com/tmc/langchaingo/prompts"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// BenchmarkChainRun runs an LLM chain whose model streams a 45-chunk
// answer: without the handler (the baseline), with the handler but no
// emitter in the context, and with the handler emitting into a sink that
// drops events.
func BenchmarkChainRun(b *testing.B) {
	answer := strings.Repeat("abcd", 45)
	drop := sluice.SinkFunc(func(context.Context, *event.Event) error { return nil })
	h := newHandler(b)
	for _, bc := range []struct {
		name    string
		handler bool
		ctx     context.Context
	}{
		{"baseline", false, context.Background()},
		{"no-emitter", true, context.Background()},
		{"emitting", true, sluice.WithEmitter(context.Background(), sluice.NewEmitter(drop, event.Meta{RunID: "r"}))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			llm := &scripted{}
			var opts []chains.ChainCallOption
			if bc.handler {
				llm.CallbacksHandler = h
				opts = append(opts, chains.WithCallback(h))
			} else {
				opts = append(opts, chains.WithStreamingFunc(func(context.Context, []byte) error { return nil }))
			}
			chain := chains.NewLLMChain(llm, prompts.NewPromptTemplate("{{.q}}", []string{"q"}))
			if bc.handler {
				chain.CallbacksHandler = h
			}
			b.ReportAllocs()
			for b.Loop() {
				llm.replies = []string{answer}
				out, err := chains.Run(bc.ctx, chain, "q", opts...)
				if err != nil || out != answer {
					b.Fatal(out, err)
				}
			}
		})
	}
}
