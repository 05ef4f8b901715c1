package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/sqlite"
)

// Open a store in a directory, append a turn's events and read them back.
func Example() {
	dir, err := os.MkdirTemp("", "sluice-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	s, err := sqlite.Open(ctx, filepath.Join(dir, "sluice.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	meta := event.Meta{SessionID: "chat-1"}
	events := []event.Event{
		event.New(event.TextDelta{Text: "Hel"}, meta),
		event.New(event.TextDelta{Text: "lo", Offset: 3}, meta),
		event.New(event.TextCompleted{Text: "Hello"}, meta),
	}
	if err := s.Append(ctx, events); err != nil {
		log.Fatal(err)
	}
	fmt.Println("last seq:", events[2].Seq)

	// Resume after sequence number 1, only the deltas.
	q := store.Query{Session: "chat-1", After: 1, Types: event.MustPattern("message.text.delta")}
	for ev, err := range s.Read(ctx, q) {
		if err != nil {
			log.Fatal(err)
		}
		d, _ := event.As[event.TextDelta](ev)
		fmt.Printf("%d %s %q\n", ev.Seq, ev.Type, d.Text)
	}
	// Output:
	// last seq: 3
	// 2 message.text.delta "lo"
}
