package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/sqlite"
)

// benchEvent is a typical streamed event: a text delta with correlation
// metadata, about 330 bytes of JSON.
func benchEvent(sess string, i int) event.Event {
	return event.New(event.TextDelta{Index: 0, Offset: int64(i * 24), Text: "the quick brown fox jum"},
		event.Meta{SessionID: sess, RunID: "run-0192d7c2-3b5e-7c1a", TurnID: "turn-7", MessageID: "msg-0192d7c2", Provider: "openai", Model: "gpt-5"})
}

// restamp gives reused events the current time, as fresh events would
// have: the time index then grows at its end, as it does in production.
func restamp(evs []event.Event) {
	now := time.Now().UTC()
	for i := range evs {
		evs[i].Time = now.Add(time.Duration(i))
	}
}

func benchOpen(b *testing.B, opts ...store.Option) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func syncModes() []struct {
	name string
	opt  store.Option
} {
	return []struct {
		name string
		opt  store.Option
	}{{"sync=full", sqlite.WithSynchronous(sqlite.Full)}, {"sync=normal", sqlite.WithSynchronous(sqlite.Normal)}}
}

// BenchmarkAppend appends from one goroutine, one Append call per batch
// of 1 or 100 events.
func BenchmarkAppend(b *testing.B) {
	for _, m := range syncModes() {
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/batch=%d", m.name, batch), func(b *testing.B) {
				s := benchOpen(b, m.opt)
				evs := make([]event.Event, batch)
				for i := range evs {
					evs[i] = benchEvent("s1", i)
				}
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					restamp(evs)
					if err := s.Append(ctx, evs); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkAppendParallel appends from 8 goroutines at once, each to its
// own session, so that the writer groups their calls into shared commits.
func BenchmarkAppendParallel(b *testing.B) {
	const workers = 8
	for _, m := range syncModes() {
		for _, batch := range []int{1, 100, 500} {
			b.Run(fmt.Sprintf("%s/goroutines=%d/batch=%d", m.name, workers, batch), func(b *testing.B) {
				s := benchOpen(b, m.opt)
				batches := make([][]event.Event, workers)
				for w := range batches {
					batches[w] = make([]event.Event, batch)
					for i := range batches[w] {
						batches[w][i] = benchEvent(fmt.Sprintf("s%d", w), i)
					}
				}
				ctx := context.Background()
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				per := (b.N + workers - 1) / workers
				for w := range workers {
					wg.Go(func() {
						for range per {
							restamp(batches[w])
							if err := s.Append(ctx, batches[w]); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.ReportMetric(float64(per*workers*batch)/time.Since(start).Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkReadSession reads all 1,000 events of one session out of a store
// of 1,000 sessions whose events were appended interleaved.
func BenchmarkReadSession(b *testing.B) {
	const sessions, per = 1000, 1000
	s := benchOpen(b, sqlite.WithSynchronous(sqlite.Normal))
	ctx := context.Background()
	batch := make([]event.Event, sessions)
	for i := range per {
		for j := range batch {
			batch[j] = benchEvent(fmt.Sprintf("session-%04d", j), i)
		}
		if err := s.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	k := 0
	for b.Loop() {
		n := 0
		for _, err := range s.Read(ctx, store.Query{Session: fmt.Sprintf("session-%04d", k%sessions)}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != per {
			b.Fatalf("read %d events", n)
		}
		k += 7
	}
	b.ReportMetric(float64(b.N*per)/b.Elapsed().Seconds(), "events/s")
}
