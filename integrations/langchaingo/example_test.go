package sluicelangchain_test

import (
	"context"
	"fmt"

	"github.com/tmc/langchaingo/chains"
	"github.com/tmc/langchaingo/prompts"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	sluicelangchain "github.com/sluice-events/sluice/integrations/langchaingo"
)

// Give the handler to the model and the chain, and the emitter of the
// request to the context: the chain and the model call become events of
// the request's turn, the streamed answer deltas.
func Example() {
	h, err := sluicelangchain.NewHandler()
	if err != nil {
		panic(err)
	}
	llm := &scripted{CallbacksHandler: h, replies: []string{"Paris."}}
	chain := chains.NewLLMChain(llm, prompts.NewPromptTemplate("Capital of {{.country}}?", []string{"country"}), chains.WithCallback(h))

	print := sluice.SinkFunc(func(ctx context.Context, ev *event.Event) error {
		fmt.Println(ev.Type, ev.Meta.TurnID)
		return nil
	})
	em := sluice.NewEmitter(print, event.Meta{RunID: "run-1"}).Turn("turn-1")
	ctx := sluice.WithEmitter(context.Background(), em)

	out, err := chains.Run(ctx, chain, "France", chains.WithCallback(h))
	if err != nil {
		panic(err)
	}
	fmt.Println(out)
	// Output:
	// composition.started turn-1
	// provider.call.started turn-1
	// message.text.delta turn-1
	// message.text.delta turn-1
	// message.text.completed turn-1
	// provider.call.completed turn-1
	// composition.completed turn-1
	// Paris.
}
