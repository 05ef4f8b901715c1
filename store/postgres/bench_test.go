package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/postgres"
)

// benchEvent is the same typical streamed event as in the SQLite
// benchmarks: a text delta with correlation metadata.
func benchEvent(sess string, i int) event.Event {
	return event.New(event.TextDelta{Index: 0, Offset: int64(i * 24), Text: "the quick brown fox jum"},
		event.Meta{SessionID: sess, RunID: "run-0192d7c2-3b5e-7c1a", TurnID: "turn-7", MessageID: "msg-0192d7c2", Provider: "openai", Model: "gpt-5"})
}

func restamp(evs []event.Event) {
	now := time.Now().UTC()
	for i := range evs {
		evs[i].Time = now.Add(time.Duration(i))
	}
}

func benchOpen(b *testing.B) *postgres.Store {
	dsn := testDSN(b)
	return open(b, dsn, freshSchema(b, dsn))
}

// BenchmarkAppend appends from one goroutine, one Append call per batch.
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			s := benchOpen(b)
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

// BenchmarkAppendParallel appends from 8 goroutines at once, each to its
// own session; the writer groups their calls into shared commits.
func BenchmarkAppendParallel(b *testing.B) {
	const workers = 8
	for _, batch := range []int{1, 100, 500} {
		b.Run(fmt.Sprintf("goroutines=%d/batch=%d", workers, batch), func(b *testing.B) {
			s := benchOpen(b)
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

// BenchmarkReadSession reads all 1,000 events of one session out of a store
// of 1,000 sessions whose events were appended interleaved.
func BenchmarkReadSession(b *testing.B) {
	const sessions, per = 1000, 1000
	s := benchOpen(b)
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
	if _, err := s.Pool().Exec(ctx, "VACUUM ANALYZE "+s.Schema()+".events"); err != nil {
		b.Fatal(err)
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
