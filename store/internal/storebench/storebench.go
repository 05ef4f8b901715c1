// Package storebench holds the bodies of the benchmarks that the durable
// stores run alike, so that their figures measure the same work.
package storebench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// Event is a typical streamed event: a text delta with correlation
// metadata, about 330 bytes of JSON.
func Event(sess string, i int) event.Event {
	return event.New(event.TextDelta{Index: 0, Offset: int64(i * 24), Text: "the quick brown fox jum"},
		event.Meta{SessionID: sess, RunID: "run-0192d7c2-3b5e-7c1a", TurnID: "turn-7", MessageID: "msg-0192d7c2", Provider: "openai", Model: "gpt-5"})
}

// restamp gives reused events a new ID and the current time, as fresh
// events would have (a store keeps an ID once per session): the time
// index then grows at its end, as it does in production.
func restamp(evs []event.Event) {
	now := time.Now().UTC()
	for i := range evs {
		evs[i].ID = event.NewID()
		evs[i].Time = now.Add(time.Duration(i))
	}
}

// Append appends to s from one goroutine, one Append call per batch of
// batch events, and reports events/s.
func Append(b *testing.B, s store.Store, batch int) {
	evs := make([]event.Event, batch)
	for i := range evs {
		evs[i] = Event("s1", i)
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
}

// AppendRetry appends one batch of batch events, then appends the same
// events again and again, as a producer retrying a request would: every
// event is a duplicate, found and acknowledged with its stored sequence
// number. It reports events/s acknowledged.
func AppendRetry(b *testing.B, s store.Store, batch int) {
	evs := make([]event.Event, batch)
	for i := range evs {
		evs[i] = Event("s1", i)
	}
	restamp(evs)
	ctx := context.Background()
	if err := s.Append(ctx, evs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := s.Append(ctx, evs); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if evs[0].Seq != 1 || evs[batch-1].Seq != uint64(batch) {
		b.Fatalf("retried events got seqs %d..%d, want 1..%d", evs[0].Seq, evs[batch-1].Seq, batch)
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "events/s")
}

// AppendParallel appends to s from workers goroutines at once, each to its
// own session in batches of batch events, and reports events/s.
func AppendParallel(b *testing.B, s store.Store, workers, batch int) {
	batches := make([][]event.Event, workers)
	for w := range batches {
		batches[w] = make([]event.Event, batch)
		for i := range batches[w] {
			batches[w][i] = Event(fmt.Sprintf("s%d", w), i)
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
}

// Fill appends per events to each of sessions sessions, interleaved:
// one Append call holds one event of every session.
func Fill(b *testing.B, s store.Store, sessions, per int) {
	ctx := context.Background()
	batch := make([]event.Event, sessions)
	for i := range per {
		for j := range batch {
			batch[j] = Event(fmt.Sprintf("session-%04d", j), i)
		}
		if err := s.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
}

// ReadSession reads all per events of one session at a time out of a store
// that Fill filled, and reports events/s.
func ReadSession(b *testing.B, s store.Store, sessions, per int) {
	ctx := context.Background()
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
