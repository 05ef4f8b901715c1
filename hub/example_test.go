package hub_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/store/sqlite"
)

// Follow a session from a cursor: the feed reads the events after it from
// the log, then waits for new ones.
func ExampleHub_Subscribe() {
	ctx := context.Background()
	st, err := memory.New()
	if err != nil {
		panic(err)
	}
	defer st.Close()
	h, err := hub.New(st)
	if err != nil {
		panic(err)
	}
	defer h.Close(ctx)

	for _, text := range []string{"The", " weather", " is", " sunny"} {
		ev := event.New(event.TextDelta{Text: text}, event.Meta{SessionID: "chat-1"})
		if err := h.Publish(ctx, &ev); err != nil {
			panic(err)
		}
	}

	// A client that saw event 2 before it disconnected.
	feed, err := h.Subscribe(hub.Selector{Session: "chat-1"}, 2)
	if err != nil {
		panic(err)
	}
	defer feed.Close()
	for range 2 {
		it, err := feed.Next(ctx)
		if err != nil {
			panic(err)
		}
		d, _ := event.As[event.TextDelta](it.Event)
		fmt.Printf("%d %q\n", it.Cursor, d.Text)
	}
	// Output:
	// 3 " is"
	// 4 " sunny"
}

// Resume after a restart: the log is durable, so a new process continues
// from the last cursor it kept, with no gap and no duplicate.
func ExampleFeed_Cursor() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "hub-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "events.db")

	// The first process records a run and follows it up to event 2.
	var cursor uint64
	{
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			panic(err)
		}
		h, _ := hub.New(st)
		for i := range 3 {
			ev := event.New(event.Info{Message: fmt.Sprint("step ", i+1)}, event.Meta{SessionID: "run-7"})
			h.Publish(ctx, &ev)
		}
		feed, _ := h.Subscribe(hub.Selector{Session: "run-7"}, 0)
		feed.Next(ctx)
		feed.Next(ctx)
		cursor = feed.Cursor() // kept somewhere safe
		feed.Close()
		h.Close(ctx)
		st.Close()
	}

	// The next process opens the same log and resumes after the cursor.
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		panic(err)
	}
	defer st.Close()
	h, _ := hub.New(st)
	defer h.Close(ctx)
	feed, _ := h.Subscribe(hub.Selector{Session: "run-7"}, cursor)
	defer feed.Close()
	it, _ := feed.Next(ctx)
	info, _ := event.As[event.Info](it.Event)
	fmt.Println("resumed after", cursor, "with event", it.Cursor, info.Message)
	// Output:
	// resumed after 2 with event 3 step 3
}
