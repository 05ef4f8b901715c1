package instrument_test

import (
	"context"
	"fmt"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/instrument"
)

// printSink prints each event's type and a detail.
var printSink = sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
	switch p := ev.Payload.(type) {
	case event.PipelineStarted:
		fmt.Println(ev.Type, "stages:", p.MiddlewareCount)
	case event.MiddlewareStarted:
		fmt.Println(ev.Type, p.Index, p.Name)
	case event.MiddlewareCompleted:
		fmt.Println(ev.Type, p.Index, p.Name)
	case event.PipelineCompleted:
		fmt.Printf("%s tokens: %d in, %d out; cost $%.2f; %d messages\n", ev.Type, p.InputTokens, p.OutputTokens, p.Cost, p.MessageCount)
	case event.ToolCallStarted:
		fmt.Println(ev.Type, p.CallID, p.Name, string(p.Arguments))
	case event.ToolCallCompleted:
		fmt.Println(ev.Type, p.CallID, p.Name, string(p.Result))
	default:
		fmt.Println(ev.Type)
	}
	return nil
})

// A pipeline's stages report what they spent; the pipeline's events carry
// the totals.
func ExamplePipeline() {
	type turn struct{ question, answer string }
	p := instrument.NewPipeline(
		instrument.Stage[*turn]{Name: "history", Run: func(ctx context.Context, t *turn) error {
			instrument.SetMessageCount(ctx, 2)
			return nil
		}},
		instrument.Stage[*turn]{Name: "model", Run: func(ctx context.Context, t *turn) error {
			t.answer = "42"
			instrument.AddUsage(ctx, event.Usage{InputTokens: 120, OutputTokens: 8}, 0.03)
			instrument.SetMessageCount(ctx, 3)
			return nil
		}},
	)
	ctx := sluice.WithEmitter(context.Background(), sluice.NewEmitter(printSink, event.Meta{RunID: "run-1"}))
	t := &turn{question: "meaning of life?"}
	if err := p.Run(ctx, t); err != nil {
		panic(err)
	}
	fmt.Println("answer:", t.answer)
	// Output:
	// pipeline.started stages: 2
	// middleware.started 0 history
	// middleware.completed 0 history
	// middleware.started 1 model
	// middleware.completed 1 model
	// pipeline.completed tokens: 120 in, 8 out; cost $0.03; 3 messages
	// answer: 42
}

// A wrapped tool reports its execution with its arguments and result.
func ExampleTool() {
	type args struct {
		A, B int
	}
	add := instrument.Tool("add", func(_ context.Context, a args) (int, error) { return a.A + a.B, nil })

	ctx := sluice.WithEmitter(context.Background(), sluice.NewEmitter(printSink, event.Meta{}))
	sum, _ := add(instrument.WithToolCall(ctx, "call_7"), args{A: 2, B: 3})
	fmt.Println("sum:", sum)

	// Without an emitter the tool is just called.
	sum, _ = add(context.Background(), args{A: 1, B: 1})
	fmt.Println("sum:", sum)
	// Output:
	// tool.call.started call_7 add {"A":2,"B":3}
	// tool.call.completed call_7 add 5
	// sum: 5
	// sum: 2
}
