package hub_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/internal/natstest"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/jetstream"
	"github.com/sluice-events/sluice/store/postgres"
)

// TestWatchAcrossNodes: two hubs over two stores of one JetStream log (two
// nodes), with polling off. A feed on node B sees what node A appends,
// told by the store's watcher, within a bounded wait.
func TestWatchAcrossNodes(t *testing.T) {
	url := natstest.Start(t).ClientURL()
	name := fmt.Sprintf("WATCH_%x", rand.Uint64())
	node := func() store.Store {
		st, err := jetstream.Open(context.Background(), url, jetstream.WithStream(name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	crossNodes(t, node(), node())
}

// TestWatchAcrossNodesPostgres: the same over two stores of one
// PostgreSQL schema, told by LISTEN/NOTIFY.
func TestWatchAcrossNodesPostgres(t *testing.T) {
	dsn := os.Getenv("SLUICE_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("set SLUICE_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run against PostgreSQL")
	}
	schema := fmt.Sprintf("sluice_hubwatch_%x", rand.Uint64())
	node := func() store.Store {
		st, err := postgres.Open(context.Background(), dsn, postgres.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	a := node()
	t.Cleanup(func() {
		_, _ = a.(*postgres.Store).Pool().Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
	})
	crossNodes(t, a, node())
}

// crossNodes checks that a feed on a hub over b sees events appended
// through a hub over a, with polling off, each within a few seconds.
func crossNodes(t *testing.T, a, b store.Store) {
	t.Helper()
	hubA := newHub(t, a, hub.WithPoll(0))
	hubB := newHub(t, b, hub.WithPoll(0))
	one, err := hubB.Subscribe(hub.Selector{Session: "s"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	all, err := hubB.Subscribe(hub.Selector{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer all.Close()
	for i := 1; i <= 3; i++ {
		// Catch up first, so that the next event can only come live.
		if i > 1 {
			time.Sleep(20 * time.Millisecond)
		}
		appendN(t, hubA, "s", 1)
		for _, f := range []*hub.Feed{one, all} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			start := time.Now()
			it, err := f.Next(ctx)
			cancel()
			if err != nil || it.Event.Seq != uint64(i) {
				t.Fatalf("event %d on node B: seq %d, %v", i, it.Event.Seq, err)
			}
			t.Logf("event %d on node B after %v", i, time.Since(start))
		}
	}
}
