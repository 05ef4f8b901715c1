package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/storebench"
	"github.com/sluice-events/sluice/store/sqlite"
)

func benchOpen(b *testing.B, opts ...sqlite.Option) *sqlite.Store {
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
	opt  sqlite.Option
} {
	return []struct {
		name string
		opt  sqlite.Option
	}{{"sync=full", sqlite.WithSynchronous(sqlite.Full)}, {"sync=normal", sqlite.WithSynchronous(sqlite.Normal)}}
}

// BenchmarkAppend appends from one goroutine, one Append call per batch
// of 1 or 100 events.
func BenchmarkAppend(b *testing.B) {
	for _, m := range syncModes() {
		for _, batch := range []int{1, 100} {
			b.Run(fmt.Sprintf("%s/batch=%d", m.name, batch), func(b *testing.B) {
				storebench.Append(b, benchOpen(b, m.opt), batch)
			})
		}
	}
}

// BenchmarkAppendRetry appends the same 100 events again and again: every
// one is a duplicate, acknowledged with the sequence number it has (the
// cost of exactly-once when it catches a retry); compare with
// BenchmarkAppend/batch=100, which stores new events.
func BenchmarkAppendRetry(b *testing.B) {
	for _, m := range syncModes() {
		b.Run(m.name+"/batch=100", func(b *testing.B) {
			storebench.AppendRetry(b, benchOpen(b, m.opt), 100)
		})
	}
}

// BenchmarkAppendParallel appends from 8 goroutines at once, each to its
// own session, so that the writer groups their calls into shared commits.
func BenchmarkAppendParallel(b *testing.B) {
	const workers = 8
	for _, m := range syncModes() {
		for _, batch := range []int{1, 100, 500} {
			b.Run(fmt.Sprintf("%s/goroutines=%d/batch=%d", m.name, workers, batch), func(b *testing.B) {
				storebench.AppendParallel(b, benchOpen(b, m.opt), workers, batch)
			})
		}
	}
}

// BenchmarkReadSession reads all 1,000 events of one session out of a store
// of 1,000 sessions whose events were appended interleaved.
func BenchmarkReadSession(b *testing.B) {
	const sessions, per = 1000, 1000
	s := benchOpen(b, sqlite.WithSynchronous(sqlite.Normal))
	storebench.Fill(b, s, sessions, per)
	storebench.ReadSession(b, s, sessions, per)
}

// BenchmarkCatchUp reads a log of 100,000 events from the start with
// ReadAll (the baseline of store/jetstream's BenchmarkCatchUp).
func BenchmarkCatchUp(b *testing.B) {
	storebench.CatchUp(b, benchOpen(b), 100_000)
}

// BenchmarkSessionsPage lists a page of 50 sessions, by ID and by
// activity, out of a store of 20,000 sessions.
func BenchmarkSessionsPage(b *testing.B) {
	const sessions = 20000
	s := benchOpen(b, sqlite.WithSynchronous(sqlite.Normal))
	storebench.Fill(b, s, sessions, 1)
	for _, order := range []store.SessionOrder{store.ByID, store.ByActivity} {
		b.Run("order="+order.String(), func(b *testing.B) { storebench.SessionsPage(b, s, sessions, order) })
	}
}

// BenchmarkTypeProbe looks in a session of 100 events for a type it does
// not hold, as a sessions page filtered by types does for each session it
// examines, out of a store of 1,000 sessions.
func BenchmarkTypeProbe(b *testing.B) {
	const sessions, per = 1000, 100
	s := benchOpen(b, sqlite.WithSynchronous(sqlite.Normal))
	storebench.Fill(b, s, sessions, per)
	storebench.TypeProbe(b, s, sessions, per)
}
