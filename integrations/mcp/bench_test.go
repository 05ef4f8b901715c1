package sluicemcp_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	sluicemcp "github.com/sluice-events/sluice/integrations/mcp"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/store/sqlite"
)

// BenchmarkEventStore appends a 200-byte message to a stream and, every
// 100 messages, replays the last 100: the SDK's MemoryEventStore is the
// baseline; EventStore runs over the memory log and the SQLite log (with
// the default durability, Full, and with Normal).
func BenchmarkEventStore(b *testing.B) {
	msg := []byte(fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1,"message":%q}}`, strings.Repeat("x", 100)))
	stores := map[string]func(b *testing.B) mcp.EventStore{
		"baseline-sdk-memory": func(b *testing.B) mcp.EventStore { return mcp.NewMemoryEventStore(nil) },
		"sluice-memory": func(b *testing.B) mcp.EventStore {
			log, err := memory.New()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { log.Close() })
			es, _ := sluicemcp.NewEventStore(log)
			return es
		},
		"sluice-sqlite":        func(b *testing.B) mcp.EventStore { return sqliteEvents(b, sqlite.Full) },
		"sluice-sqlite-normal": func(b *testing.B) mcp.EventStore { return sqliteEvents(b, sqlite.Normal) },
	}
	for _, name := range []string{"baseline-sdk-memory", "sluice-memory", "sluice-sqlite", "sluice-sqlite-normal"} {
		b.Run(name, func(b *testing.B) { benchEventStore(b, stores[name](b), msg) })
	}
}

// sqliteEvents returns an EventStore over a new SQLite log with the given
// durability.
func sqliteEvents(b *testing.B, sync sqlite.Synchronous) mcp.EventStore {
	log, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "log.db"), sqlite.WithSynchronous(sync))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { log.Close() })
	es, _ := sluicemcp.NewEventStore(log)
	return es
}

func benchEventStore(b *testing.B, es mcp.EventStore, msg []byte) {
	ctx := context.Background()
	if err := es.Open(ctx, "S", "1"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := es.Append(ctx, "S", "1", msg); err != nil {
			b.Fatal(err)
		}
		if i++; i%100 == 0 {
			n := 0
			for _, err := range es.After(ctx, "S", "1", i-101) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != 100 {
				b.Fatalf("replayed %d", n)
			}
		}
	}
}
