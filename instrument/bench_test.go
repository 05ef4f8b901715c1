package instrument_test

import (
	"context"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/instrument"
)

// The benchmarks compare each wrapper with the bare call it wraps, with no
// emitter in the context (Nil) and with an emitter over sluice.Discard
// (Discard): both must cost about what the bare call costs, with no
// allocation.

var sinkInt int

//go:noinline
func work(_ context.Context, x int) (int, error) { return x + 1, nil }

//go:noinline
func stage(_ context.Context, s *int) error { *s++; return nil }

func contexts() map[string]context.Context {
	bg := context.Background()
	return map[string]context.Context{
		"Nil":     bg,
		"Discard": sluice.WithEmitter(bg, sluice.NewEmitter(sluice.Discard, event.Meta{RunID: "r"})),
	}
}

func BenchmarkTool(b *testing.B) {
	b.Run("Bare", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			sinkInt, _ = work(ctx, i)
		}
	})
	tool := instrument.Tool("work", work)
	for name, ctx := range contexts() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				sinkInt, _ = tool(ctx, i)
			}
		})
	}
}

func BenchmarkMiddleware(b *testing.B) {
	fn := func(context.Context) error { sinkInt++; return nil }
	b.Run("Bare", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_ = fn(ctx)
		}
	})
	for name, ctx := range contexts() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = instrument.Middleware(ctx, "m", 0, fn)
			}
		})
	}
}

func BenchmarkPipeline(b *testing.B) {
	stages := []instrument.Stage[*int]{{Name: "a", Run: stage}, {Name: "b", Run: stage}, {Name: "c", Run: stage}}
	b.Run("Bare", func(b *testing.B) {
		ctx := context.Background()
		s := 0
		b.ReportAllocs()
		for b.Loop() {
			for _, st := range stages {
				if err := st.Run(ctx, &s); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	p := instrument.NewPipeline(stages...)
	for name, ctx := range contexts() {
		b.Run(name, func(b *testing.B) {
			s := 0
			b.ReportAllocs()
			for b.Loop() {
				_ = p.Run(ctx, &s)
			}
		})
	}
}

func BenchmarkValidate(b *testing.B) {
	fn := func(context.Context) ([]string, error) { sinkInt++; return nil, nil }
	b.Run("Bare", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_, _ = fn(ctx)
		}
	})
	for name, ctx := range contexts() {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = instrument.Validate(ctx, "v", "input", fn)
			}
		})
	}
}
