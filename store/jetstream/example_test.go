package jetstream_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/jetstream"
)

// Two stores on one stream are two nodes sharing a log: what one appends,
// the other reads, with the same sequence numbers. Here the NATS server is
// embedded; in production, pass the URL of your NATS cluster.
func Example() {
	dir, err := os.MkdirTemp("", "sluice-nats")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		log.Fatal(err)
	}
	ns.Start()
	defer ns.Shutdown()
	if !ns.ReadyForConnections(10 * time.Second) {
		log.Fatal("NATS server not ready")
	}

	ctx := context.Background()
	nodeA, err := jetstream.Open(ctx, ns.ClientURL(), jetstream.WithStream("EXAMPLE"))
	if err != nil {
		log.Fatal(err)
	}
	defer nodeA.Close()
	nodeB, err := jetstream.Open(ctx, ns.ClientURL(), jetstream.WithStream("EXAMPLE"))
	if err != nil {
		log.Fatal(err)
	}
	defer nodeB.Close()

	// Any string is a session ID, also one that NATS subjects forbid.
	evs := []event.Event{
		event.New(event.TextDelta{Text: "Hello"}, event.Meta{SessionID: "chat *1.a"}),
		event.New(event.TextDelta{Text: ", world"}, event.Meta{SessionID: "chat *1.a"}),
	}
	if err := nodeA.Append(ctx, evs); err != nil {
		log.Fatal(err)
	}
	for ev, err := range nodeB.Read(ctx, store.Query{Session: "chat *1.a"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ev.Seq, ev.Meta.SessionID, ev.Payload.(event.TextDelta).Text)
	}
	fmt.Println("same log:", nodeA.Epoch() == nodeB.Epoch())
	// Output:
	// 1 chat *1.a Hello
	// 2 chat *1.a , world
	// same log: true
}
