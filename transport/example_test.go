package transport_test

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/transport"
)

// A Watermill router handler — the way Geppetto-style applications
// consume their events — receives Sluice events published through a Sink.
func Example_router() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pubsub := gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, nil)
	defer pubsub.Close()

	router, err := message.NewRouter(message.RouterConfig{}, nil)
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	router.AddConsumerHandler("print-text", transport.DefaultTopic, pubsub, func(msg *message.Message) error {
		ev, err := transport.Decode(msg)
		if err != nil {
			return err
		}
		if d, ok := event.As[event.TextDelta](ev); ok {
			fmt.Printf("%s %s: %q\n", ev.Meta.SessionID, ev.Type, d.Text)
		}
		if ev.Type == event.TypeTextCompleted {
			close(done)
		}
		return nil
	})
	go router.Run(ctx)
	<-router.Running()

	sink, err := transport.NewSink(pubsub)
	if err != nil {
		panic(err)
	}
	em := sluice.NewEmitter(sink, event.Meta{SessionID: "chat-1"})
	text := em.TextBlock(0)
	text.Delta(ctx, "Hello")
	text.Delta(ctx, ", world")
	text.Complete(ctx)
	<-done
	router.Close()
	// Output:
	// chat-1 message.text.delta: "Hello"
	// chat-1 message.text.delta: ", world"
}
