package sluiceeino_test

import (
	"context"
	"fmt"

	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/schema"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	sluiceeino "github.com/sluice-events/sluice/integrations/eino"
)

// Run an Eino chain with the handler: the chain, its nodes and the model
// call become Sluice events, each under its enclosing run.
func Example() {
	ctx := context.Background()
	m := &scripted{replies: []*schema.Message{{Role: schema.Assistant, Content: "Paris."}}}
	r, err := compose.NewChain[[]*schema.Message, *schema.Message]().
		AppendChatModel(m, compose.WithNodeName("model")).
		Compile(ctx, compose.WithGraphName("qa"))
	if err != nil {
		panic(err)
	}

	print := sluice.SinkFunc(func(ctx context.Context, ev *event.Event) error {
		fmt.Println(ev.Type)
		return nil
	})
	em := sluice.NewEmitter(print, event.Meta{RunID: "run-1"})
	ctx = sluice.WithEmitter(ctx, em)

	h, err := sluiceeino.NewHandler(sluiceeino.WithProvider("scripted"))
	if err != nil {
		panic(err)
	}
	out, err := r.Invoke(ctx, []*schema.Message{schema.UserMessage("capital of France?")}, compose.WithCallbacks(h))
	if err != nil {
		panic(err)
	}
	fmt.Println(out.Content)
	// Output:
	// composition.started
	// provider.call.started
	// message.text.completed
	// provider.call.completed
	// composition.completed
	// Paris.
}
