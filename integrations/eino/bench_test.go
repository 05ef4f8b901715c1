package sluiceeino_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/schema"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// BenchmarkStream runs a two-node chain whose model streams a 60-piece
// answer: without the handler (the baseline), with the handler but no
// emitter in the context, and with the handler emitting into a sink that
// drops events.
func BenchmarkStream(b *testing.B) {
	answer := strings.Repeat("abc", 60)
	drop := sluice.SinkFunc(func(context.Context, *event.Event) error { return nil })
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
			m := &scripted{}
			r := chain(b, m)
			var opts []compose.Option
			if bc.handler {
				opts = append(opts, compose.WithCallbacks(handler(b)))
			}
			b.ReportAllocs()
			for b.Loop() {
				m.mu.Lock()
				m.replies, m.calls = []*schema.Message{{Role: schema.Assistant, Content: answer}}, 0
				m.mu.Unlock()
				sr, err := r.Stream(bc.ctx, "q", opts...)
				if err != nil {
					b.Fatal(err)
				}
				if readAll(sr) != answer {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}
