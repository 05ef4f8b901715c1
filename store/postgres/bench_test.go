package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/storebench"
	"github.com/sluice-events/sluice/store/postgres"
)

// The benchmarks' work (in store/internal/storebench) is the same as in
// the SQLite benchmarks: typical streamed text deltas with correlation
// metadata.

func benchOpen(b *testing.B) *postgres.Store {
	dsn := testDSN(b)
	return open(b, dsn, freshSchema(b, dsn))
}

// BenchmarkAppend appends from one goroutine, one Append call per batch.
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			storebench.Append(b, benchOpen(b), batch)
		})
	}
}

// BenchmarkAppendRetry appends the same 100 events again and again: every
// one is a duplicate, acknowledged with the sequence number it has.
func BenchmarkAppendRetry(b *testing.B) {
	storebench.AppendRetry(b, benchOpen(b), 100)
}

// BenchmarkAppendParallel appends from 8 goroutines at once, each to its
// own session; the writer groups their calls into shared commits.
func BenchmarkAppendParallel(b *testing.B) {
	const workers = 8
	for _, batch := range []int{1, 100, 500} {
		b.Run(fmt.Sprintf("goroutines=%d/batch=%d", workers, batch), func(b *testing.B) {
			storebench.AppendParallel(b, benchOpen(b), workers, batch)
		})
	}
}

// BenchmarkReadSession reads all 1,000 events of one session out of a store
// of 1,000 sessions whose events were appended interleaved.
func BenchmarkReadSession(b *testing.B) {
	const sessions, per = 1000, 1000
	s := benchOpen(b)
	storebench.Fill(b, s, sessions, per)
	if _, err := s.Pool().Exec(context.Background(), "VACUUM ANALYZE "+s.Schema()+".events"); err != nil {
		b.Fatal(err)
	}
	storebench.ReadSession(b, s, sessions, per)
}

// BenchmarkSessionsPage lists a page of 50 sessions, by ID and by
// activity, out of a store of 20,000 sessions.
func BenchmarkSessionsPage(b *testing.B) {
	const sessions = 20000
	s := benchOpen(b)
	storebench.Fill(b, s, sessions, 1)
	if _, err := s.Pool().Exec(context.Background(), "VACUUM ANALYZE "+s.Schema()+".sessions"); err != nil {
		b.Fatal(err)
	}
	for _, order := range []store.SessionOrder{store.ByID, store.ByActivity} {
		b.Run("order="+order.String(), func(b *testing.B) { storebench.SessionsPage(b, s, sessions, order) })
	}
}

// BenchmarkTypeProbe looks in a session of 100 events for a type it does
// not hold, as a sessions page filtered by types does for each session it
// examines, out of a store of 1,000 sessions.
func BenchmarkTypeProbe(b *testing.B) {
	const sessions, per = 1000, 100
	s := benchOpen(b)
	storebench.Fill(b, s, sessions, per)
	storebench.TypeProbe(b, s, sessions, per)
}
