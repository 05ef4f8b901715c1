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

// CatchUp reads the whole log of n events with ReadAll, as a node or a
// client that catches up from the start does, after filling it with n
// events of 100 sessions, and reports events/s.
func CatchUp(b *testing.B, s store.Store, n int) {
	const sessions = 100
	Fill(b, s, sessions, n/sessions)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got := 0
		for _, err := range s.ReadAll(ctx, store.AllQuery{}) {
			if err != nil {
				b.Fatal(err)
			}
			got++
		}
		if got != sessions*(n/sessions) {
			b.Fatalf("read %d events, want %d", got, n)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}

// SessionsPage lists pages of 50 sessions in order out of a store that
// Fill filled with sessions sessions, each page at another cursor (spread
// over the whole listing), and reports the pages per second.
func SessionsPage(b *testing.B, s store.Store, sessions int, order store.SessionOrder) {
	ctx := context.Background()
	const page = 50
	head, err := s.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	all, err := s.Sessions(ctx, store.SessionQuery{})
	if err != nil || len(all) != sessions {
		b.Fatalf("Sessions: %d sessions, %v; want %d", len(all), err, sessions)
	}
	b.ReportAllocs()
	b.ResetTimer()
	k := 0
	for b.Loop() {
		q := store.SessionQuery{Order: order, Limit: page}
		if order == store.ByActivity {
			q.Before = head - uint64(k%(sessions-page))
		} else {
			q.After = all[k%(sessions-page)].ID
		}
		infos, err := s.Sessions(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if len(infos) != page {
			b.Fatalf("Sessions(%+v): %d sessions, want %d", q, len(infos), page)
		}
		k += 997
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}

// TypeProbe looks for an event of a type that no session holds in one
// session at a time, with a read that would stop at the first match,
// out of a store that Fill filled with per events in each of sessions
// sessions: what a sessions page filtered by types pays, at worst, per
// session it examines (see server.Config.MaxSessionScan).
func TypeProbe(b *testing.B, s store.Store, sessions, per int) {
	ctx := context.Background()
	types := event.MustPattern("tool.call.>")
	b.ReportAllocs()
	b.ResetTimer()
	k := 0
	for b.Loop() {
		for _, err := range s.Read(ctx, store.Query{Session: fmt.Sprintf("session-%04d", k%sessions), Types: types, Limit: 1}) {
			if err != nil {
				b.Fatal(err)
			}
			b.Fatal("found an event no session holds")
		}
		k += 7
	}
}
