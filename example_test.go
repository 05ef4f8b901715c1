package sluice_test

import (
	"context"
	"fmt"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// An Emitter stamps its metadata on every event and makes child emitters for
// narrower scopes, whose events name the enclosing scope as their parent.
func ExampleEmitter() {
	sink := sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
		fmt.Printf("%s turn=%s message=%s parent=%s\n", ev.Type, ev.Meta.TurnID, ev.Meta.MessageID, ev.Meta.ParentID)
		return nil
	})
	ctx := context.Background()
	em := sluice.NewEmitter(sink, event.Meta{RunID: "run-1", SessionID: "sess-1"})
	msg := em.Turn("turn-1").Message("msg-1")

	text := msg.TextBlock(0)
	_ = text.Delta(ctx, "Hello, ")
	_ = text.Delta(ctx, "world")
	_ = text.Complete(ctx)
	// Output:
	// message.text.delta turn=turn-1 message=msg-1 parent=turn-1
	// message.text.delta turn=turn-1 message=msg-1 parent=turn-1
	// message.text.completed turn=turn-1 message=msg-1 parent=turn-1
}

// Sinks carried in a context let code deep in a call chain publish without
// being handed a sink; with none, publishing does nothing.
func ExampleWithSinks() {
	printType := sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
		fmt.Println(ev.Type)
		return nil
	})
	ctx := sluice.WithSinks(context.Background(), printType)

	deepInTheCallChain := func(ctx context.Context) {
		_ = sluice.EmitterFrom(ctx).Log(ctx, "info", "cache warmed", nil)
	}
	deepInTheCallChain(ctx)
	deepInTheCallChain(context.Background()) // no sinks: a no-op
	// Output:
	// agent.log
}

// Sinks compose like net/http middleware: filter, transform, fan out.
func ExampleFilterTypes() {
	show := sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
		fmt.Println(ev.Type, ev.Meta.Labels["env"])
		return nil
	})
	labelled := sluice.Transform(show, func(_ context.Context, ev *event.Event) bool {
		ev.Meta = ev.Meta.Clone()
		if ev.Meta.Labels == nil {
			ev.Meta.Labels = map[string]string{}
		}
		ev.Meta.Labels["env"] = "prod"
		return true
	})
	tools := sluice.FilterTypes(labelled, event.MustPattern("tool.call.*"))

	em := sluice.NewEmitter(tools, event.Meta{})
	ctx := context.Background()
	_ = em.TextDelta(ctx, 0, 0, "not a tool event")
	_ = em.ToolCallStarted(ctx, "call_1", "search", nil)
	// Output:
	// tool.call.started prod
}
