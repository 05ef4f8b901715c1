package hub_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/sqlite"
)

const catchUpEvents = 100_000

// fill appends n text deltas to one session in batches of 1,000.
func fill(b *testing.B, st store.Store, n int) {
	ctx := context.Background()
	batch := make([]event.Event, 0, 1000)
	meta := event.Meta{RunID: "run-1", SessionID: "sess-1", ConversationID: "conv-1", TurnID: "turn-1"}
	for i := range n {
		batch = append(batch, event.New(event.TextDelta{Offset: int64(i * 5), Text: "token"}, meta))
		if len(batch) == cap(batch) {
			if err := st.Append(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// benchCatchUp reads a session of catchUpEvents events from the start
// through a feed: the history a reconnecting client catches up on.
func benchCatchUp(b *testing.B, st store.Store) {
	fill(b, st, catchUpEvents)
	h := newHub(b, st, hub.WithBatch(1000))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		feed, err := h.Subscribe(hub.Selector{Session: "sess-1"}, 0)
		if err != nil {
			b.Fatal(err)
		}
		for range catchUpEvents {
			if _, err := feed.Next(ctx); err != nil {
				b.Fatal(err)
			}
		}
		feed.Close()
	}
	b.ReportMetric(float64(catchUpEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkCatchUpSQLite catches up on 100,000 events stored in SQLite.
func BenchmarkCatchUpSQLite(b *testing.B) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchCatchUp(b, st)
}

// BenchmarkCatchUpMemory catches up on 100,000 events in the memory store.
func BenchmarkCatchUpMemory(b *testing.B) {
	st := memStore(b)
	defer st.Close()
	benchCatchUp(b, st)
}

// BenchmarkLiveFeeds is the load of a server's streams in a library:
// 200 feeds, one per session, follow live events while 8 producers append
// one event per call, round-robin over the sessions (the memory store, so
// that the cost measured is the hub's). Each op is one event appended and
// delivered to its session's feed.
func BenchmarkLiveFeeds(b *testing.B) {
	const sessions, producers = 200, 8
	h := newHub(b, memStore(b), hub.WithPoll(0))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var delivered sync.WaitGroup
	var readers sync.WaitGroup
	per := make([]int, sessions)
	for i := range b.N {
		per[i%sessions]++
	}
	for s := range sessions {
		feed, err := h.Subscribe(hub.Selector{Session: fmt.Sprint("s", s)}, 0)
		if err != nil {
			b.Fatal(err)
		}
		delivered.Add(per[s])
		readers.Go(func() {
			defer feed.Close()
			for range per[s] {
				if _, err := feed.Next(ctx); err != nil {
					b.Error(err)
					return
				}
				delivered.Done()
			}
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	var next atomic.Int64
	var prod sync.WaitGroup
	for range producers {
		prod.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				ev := event.New(event.TextDelta{Text: "tok"}, event.Meta{SessionID: fmt.Sprint("s", i%sessions)})
				if err := h.Publish(ctx, &ev); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	prod.Wait()
	delivered.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	cancel()
	readers.Wait()
}
