package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

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
