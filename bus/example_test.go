package bus_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
)

// A bus fans events out to subscriptions. Handlers are asynchronous by
// default; Close delivers everything accepted before it returns.
func ExampleNew() {
	ctx := context.Background()
	b, err := bus.New()
	if err != nil {
		panic(err)
	}
	_, err = b.Subscribe(event.MustPattern("message.text.delta"), func(_ context.Context, ev *event.Event) {
		d, _ := event.As[event.TextDelta](*ev)
		fmt.Print(d.Text)
	})
	if err != nil {
		panic(err)
	}
	for _, s := range []string{"Hel", "lo, ", "world"} {
		ev := event.New(event.TextDelta{Text: s})
		if err := b.Publish(ctx, &ev); err != nil {
			panic(err)
		}
	}
	if err := b.Close(ctx); err != nil {
		panic(err)
	}
	fmt.Println()
	// Output: Hello, world
}

// Patterns match types the way NATS subjects do: "*" is one segment, ">"
// the rest.
func ExampleBus_Subscribe() {
	ctx := context.Background()
	b, _ := bus.New()
	for _, s := range []string{"tool.call.started", "tool.call.*", "tool.>"} {
		pattern, err := event.ParsePattern(s)
		if err != nil {
			panic(err)
		}
		_, err = b.Subscribe(pattern, func(_ context.Context, ev *event.Event) {
			fmt.Printf("%-17s got %s\n", pattern, ev.Type)
		}, bus.WithSync()) // synchronous: print in a predictable order
		if err != nil {
			panic(err)
		}
	}
	for _, p := range []event.Payload{
		event.ToolCallStarted{Name: "search"},
		event.ToolCallCompleted{Name: "search"},
	} {
		ev := event.New(p)
		_ = b.Publish(ctx, &ev)
	}
	_ = b.Close(ctx)

	_, err := event.ParsePattern("tool..call")
	fmt.Println(errors.Is(err, event.ErrPattern))
	// Output:
	// tool.call.started got tool.call.started
	// tool.call.*       got tool.call.started
	// tool.>            got tool.call.started
	// tool.call.*       got tool.call.completed
	// tool.>            got tool.call.completed
	// true
}

// A WithSync handler runs inside Publish, in the publisher's goroutine: when
// Publish returns, it has seen the event.
func ExampleWithSync() {
	ctx := context.Background()
	b, _ := bus.New()
	defer b.Close(ctx)
	calls := 0
	_, _ = b.Subscribe(event.MustPattern("tool.call.started"), func(context.Context, *event.Event) { calls++ }, bus.WithSync())
	ev := event.New(event.ToolCallStarted{Name: "search"})
	_ = b.Publish(ctx, &ev)
	fmt.Println("calls after Publish:", calls)
	// Output: calls after Publish: 1
}

// A lossy subscriber is told how many events it missed, just before the
// next one it receives.
func ExampleWithPolicy() {
	ctx := context.Background()
	b, _ := bus.New()
	busy, done := make(chan struct{}), make(chan struct{})
	_, _ = b.Subscribe(event.MustPattern("message.>"), func(_ context.Context, ev *event.Event) {
		switch p := ev.Payload.(type) {
		case event.Dropped:
			fmt.Printf("missed %d (%s)\n", p.Count, p.Reason)
		case event.TextDelta:
			fmt.Println("got", p.Text)
			if p.Text == "1" {
				close(busy)
				<-done // be slow on purpose
			}
		}
	}, bus.WithQueue(2), bus.WithPolicy(bus.DropOldest))
	send := func(text string) {
		ev := event.New(event.TextDelta{Text: text})
		_ = b.Publish(ctx, &ev)
	}
	send("1")
	<-busy // the handler holds "1"
	for _, s := range []string{"2", "3", "4", "5"} {
		send(s) // the queue holds 2 events: 2 and 3 make room for 4 and 5
	}
	close(done)
	_ = b.Close(ctx)
	// Output:
	// got 1
	// missed 2 (queue_full)
	// got 4
	// got 5
}

// WithSession narrows a subscription to one session's events.
func ExampleWithSession() {
	ctx := context.Background()
	b, _ := bus.New()
	_, _ = b.Subscribe(event.All, func(_ context.Context, ev *event.Event) {
		fmt.Println(ev.Meta.SessionID, ev.Type)
	}, bus.WithSession("s-1"))
	for _, s := range []string{"s-1", "s-2", "s-1"} {
		ev := event.New(event.ToolCallStarted{}, event.Meta{SessionID: s})
		_ = b.Publish(ctx, &ev)
	}
	_ = b.Close(ctx)
	// Output:
	// s-1 tool.call.started
	// s-1 tool.call.started
}

// Enabled lets a producer skip building events nobody wants.
func ExampleBus_Enabled() {
	ctx := context.Background()
	b, _ := bus.New()
	defer b.Close(ctx)
	fmt.Println(b.Enabled(ctx, event.TypeTextDelta))
	sub, _ := b.Subscribe(event.MustPattern("message.>"), func(context.Context, *event.Event) {})
	fmt.Println(b.Enabled(ctx, event.TypeTextDelta), b.Enabled(ctx, event.TypeToolCallStarted))
	sub.Cancel()
	fmt.Println(b.Enabled(ctx, event.TypeTextDelta))
	// Output:
	// false
	// true false
	// false
}

// A handler may cancel its own subscription.
func ExampleSubscription_Cancel() {
	ctx := context.Background()
	b, _ := bus.New()
	defer b.Close(ctx)
	var sub *bus.Subscription
	sub, _ = b.Subscribe(event.MustPattern("message.text.delta"), func(_ context.Context, ev *event.Event) {
		d, _ := event.As[event.TextDelta](*ev)
		fmt.Println("got", d.Text)
		if d.Text == "stop" {
			sub.Cancel()
		}
	}, bus.WithSync())
	for _, s := range []string{"go", "stop", "ignored"} {
		ev := event.New(event.TextDelta{Text: s})
		_ = b.Publish(ctx, &ev)
	}
	<-sub.Done()
	fmt.Println(sub.Stats().Delivered)
	// Output:
	// got go
	// got stop
	// 2
}

// Stats tell how a subscription's delivery went.
func ExampleSubscription_Stats() {
	ctx := context.Background()
	b, _ := bus.New(bus.WithPanicHandler(func(s *bus.Subscription, ev *event.Event, r any) {
		fmt.Println("recovered:", r)
	}), bus.WithLogger(discard))
	sub, _ := b.Subscribe(event.All, func(context.Context, *event.Event) { panic("oops") })
	ev := event.New(event.ToolCallStarted{})
	_ = b.Publish(ctx, &ev)
	_ = b.Close(ctx)
	fmt.Printf("%+v\n", sub.Stats())
	// Output:
	// recovered: oops
	// {Delivered:1 Dropped:0 Panics:1 QueueDepth:0 QueueCap:1024 Subscriptions:0}
}

// Close gives up when its context ends, and says what it could not deliver.
func ExampleBus_Close() {
	b, _ := bus.New()
	busy, release := make(chan struct{}, 3), make(chan struct{})
	_, _ = b.Subscribe(event.All, func(context.Context, *event.Event) {
		busy <- struct{}{}
		<-release // stuck
	})
	for range 3 {
		ev := event.New(event.ToolCallStarted{})
		_ = b.Publish(context.Background(), &ev)
	}
	<-busy // the handler holds the first event
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	fmt.Println(b.Close(ctx))
	close(release)
	// Output: bus: close: 2 accepted events not delivered: context canceled
}
