package hooks_test

import (
	"context"
	"fmt"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hooks"
)

// Hooks follow one conversation, synchronously and in order.
func ExampleConversation() {
	b, _ := bus.New()
	defer b.Close(context.Background())
	hooks := hooks.Conversation(b, "conv-1")
	defer hooks.Close()
	_ = hooks.OnSend(func(_ context.Context, m event.MessageCreated) { fmt.Println("user:", m.Content) })
	_ = hooks.OnChunk(func(_ context.Context, d event.TextDelta) { fmt.Printf("chunk: %q\n", d.Text) })
	_ = hooks.OnResponse(func(_ context.Context, m event.MessageCreated) { fmt.Println("assistant:", m.Content) })

	ctx := context.Background()
	em := sluice.NewEmitter(b, event.Meta{ConversationID: "conv-1"})
	_ = sluice.Emit(ctx, em, event.MessageCreated{Role: "user", Content: "Hi!", Index: 0})
	text := em.TextBlock(0)
	_ = text.Delta(ctx, "Hello")
	_ = text.Delta(ctx, " there.")
	_ = sluice.Emit(ctx, em, event.MessageCreated{Role: "assistant", Content: text.Text(), Index: 1})
	// Output:
	// user: Hi!
	// chunk: "Hello"
	// chunk: " there."
	// assistant: Hello there.
}
