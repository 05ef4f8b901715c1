package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/postgres"
)

// Open a store in its own schema and resume an all-sessions stream after
// the last position a consumer saw. (Not run: it needs a server.)
func Example() {
	ctx := context.Background()
	s, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.WithSchema("sluice"),
		postgres.WithRetention(store.Retention{MaxEvents: 10_000}))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ev := event.New(event.Status{Status: "thinking"}, event.Meta{SessionID: "agent-1"})
	if err := s.Append(ctx, []event.Event{ev}); err != nil {
		log.Fatal(err)
	}
	var lastPos uint64 // as saved by the consumer
	for e, err := range s.ReadAll(ctx, store.AllQuery{After: lastPos, SessionPrefix: "agent-"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.Pos, e.Event.Meta.SessionID, e.Event.Seq, e.Event.Type)
		lastPos = e.Pos
	}
}
