package jetstream_test

import (
	"fmt"
	"testing"

	"github.com/sluice-events/sluice/internal/natstest"
	"github.com/sluice-events/sluice/store/internal/storebench"
	"github.com/sluice-events/sluice/store/jetstream"
)

// benchOpen opens a store in a new stream of an embedded server (file
// storage, one replica) in the benchmark's process.
func benchOpen(b *testing.B) *jetstream.Store {
	b.Helper()
	return open(b, natstest.Start(b).ClientURL(), jetstream.WithStream(freshStream()))
}

// BenchmarkAppend appends from one goroutine, one Append call per batch
// of 1 or 100 events (compare store/sqlite's BenchmarkAppend).
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			storebench.Append(b, benchOpen(b), batch)
		})
	}
}

// BenchmarkAppendParallel appends from 8 goroutines at once, each to its
// own session, one event or a batch per call (compare store/sqlite's
// BenchmarkAppendParallel).
func BenchmarkAppendParallel(b *testing.B) {
	const workers = 8
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("goroutines=%d/batch=%d", workers, batch), func(b *testing.B) {
			storebench.AppendParallel(b, benchOpen(b), workers, batch)
		})
	}
}

// BenchmarkCatchUp reads a log of 100,000 events from the start with
// ReadAll (compare store/sqlite's BenchmarkCatchUp).
func BenchmarkCatchUp(b *testing.B) {
	storebench.CatchUp(b, benchOpen(b), 100_000)
}
