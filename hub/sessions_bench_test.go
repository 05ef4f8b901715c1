package hub_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/postgres"
	"github.com/sluice-events/sluice/store/sqlite"
)

// benchStores opens a fresh store of each kind for BenchmarkSessions:
// memory, SQLite with synchronous FULL (the default) and NORMAL, and
// PostgreSQL in a schema of its own when SLUICE_TEST_POSTGRES is set.
func benchStores() []struct {
	name string
	open func(b *testing.B) store.Store
} {
	openSQLite := func(sync sqlite.Synchronous) func(b *testing.B) store.Store {
		return func(b *testing.B) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlite.WithSynchronous(sync))
			if err != nil {
				b.Fatal(err)
			}
			return st
		}
	}
	return []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"memory", func(b *testing.B) store.Store { return memStore(b) }},
		{"sqlite-full", openSQLite(sqlite.Full)},
		{"sqlite-normal", openSQLite(sqlite.Normal)},
		{"postgres", func(b *testing.B) store.Store {
			dsn := os.Getenv("SLUICE_TEST_POSTGRES")
			if dsn == "" {
				b.Skip("set SLUICE_TEST_POSTGRES to run the PostgreSQL benchmarks")
			}
			ctx := context.Background()
			schema := fmt.Sprintf("sluice_bench_%d_%x", os.Getpid(), rand.Uint64())
			b.Cleanup(func() {
				conn, err := pgx.Connect(ctx, dsn)
				if err != nil {
					b.Errorf("drop schema %s: %v", schema, err)
					return
				}
				defer conn.Close(ctx)
				if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
					b.Errorf("drop schema %s: %v", schema, err)
				}
			})
			st, err := postgres.Open(ctx, dsn, postgres.WithSchema(schema))
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
}

// BenchmarkSessions is token streaming at the scale of real traffic: a hub
// over each store, many sessions, each publishing one event per call
// through sluice.NewEmitter(h, meta).TextDelta, as an agent streaming a
// model's answer does. One op is one published event.
//
//   - load=unpaced: 200 sessions publish as fast as they can.
//   - load=paced: 500 sessions publish 50 events/s each (25,000/s offered);
//     a store that keeps up shows about 40 µs/op and events/s near 25,000,
//     one that falls behind shows fewer events/s and long latencies. Run it
//     with -benchtime=75000x (3 s of offered load).
//
// It reports the events/s reached, the p50 and p99 latency of one publish
// call (p50-ms, p99-ms) and the CPU time the process spent per event
// (cpu-µs/op: on a shared machine, less disturbed by other processes than
// the wall time), and afterwards checks that every session
// holds exactly the events published to it, numbered 1, 2, 3, … without a
// gap.
func BenchmarkSessions(b *testing.B) {
	loads := []struct {
		name     string
		sessions int
		rate     float64 // events/s per session; 0 is unpaced
	}{{"unpaced", 200, 0}, {"paced", 500, 50}}
	for _, st := range benchStores() {
		for _, load := range loads {
			b.Run(fmt.Sprintf("store=%s/load=%s", st.name, load.name), func(b *testing.B) {
				s := st.open(b)
				defer s.Close()
				benchSessions(b, s, load.sessions, load.rate)
			})
		}
	}
}

func benchSessions(b *testing.B, st store.Store, sessions int, rate float64) {
	h, err := hub.New(st, hub.WithPoll(0))
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close(context.Background())
	ctx := context.Background()
	per := make([]int, sessions)
	for i := range b.N {
		per[i%sessions]++
	}
	lat := make([][]time.Duration, sessions)
	run := fmt.Sprintf("%x", rand.Uint64())
	name := func(s int) string { return fmt.Sprintf("bench-%s-%04d", run, s) }
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	for s := range sessions {
		lat[s] = make([]time.Duration, 0, per[s])
		wg.Go(func() {
			em := sluice.NewEmitter(h, event.Meta{SessionID: name(s), RunID: "run-" + name(s), TurnID: "turn-1", MessageID: "msg-1", Provider: "openai", Model: "gpt-5"})
			// Paced sessions start spread over one interval, as
			// independent streams would.
			next := start
			if interval > 0 {
				next = start.Add(time.Duration(s) * interval / time.Duration(sessions))
			}
			for i := range per[s] {
				if interval > 0 {
					time.Sleep(time.Until(next))
					next = next.Add(interval)
				}
				t0 := time.Now()
				if err := em.TextDelta(ctx, 0, int64(i*24), "the quick brown fox jum"); err != nil {
					b.Error(err)
					return
				}
				lat[s] = append(lat[s], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	q := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(cpu)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
	for s := range sessions {
		want := uint64(0)
		for ev, err := range st.Read(ctx, store.Query{Session: name(s)}) {
			if err != nil {
				b.Fatal(err)
			}
			if want++; ev.Seq != want {
				b.Fatalf("session %s: event %d has seq %d", name(s), want, ev.Seq)
			}
		}
		if want != uint64(per[s]) {
			b.Fatalf("session %s: %d events stored, %d published", name(s), want, per[s])
		}
	}
}
