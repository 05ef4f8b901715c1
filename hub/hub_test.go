package hub_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var _ sluice.Sink = (*hub.Hub)(nil)

// stores lists the stores the hub is tested over.
var stores = map[string]func(t *testing.T) store.Store{
	"memory": func(t *testing.T) store.Store { return memStore(t) },
	"sqlite": func(t *testing.T) store.Store {
		// Durability is the store's business and tested there; here
		// fsyncs would only slow the many small appends down.
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "hub.db"), sqlite.WithSynchronous(sqlite.Normal))
		if err != nil {
			t.Fatal(err)
		}
		return st
	},
}

func forEachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() { st.Close() })
			fn(t, st)
		})
	}
}

func newHub(t testing.TB, st store.Store, opts ...hub.Option) *hub.Hub {
	t.Helper()
	h, err := hub.New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

func ev(session string, n int) event.Event {
	return event.New(event.TextDelta{Text: fmt.Sprint(n)}, event.Meta{SessionID: session})
}

func appendN(t *testing.T, h *hub.Hub, session string, n int) {
	t.Helper()
	for i := range n {
		if err := h.Append(context.Background(), []event.Event{ev(session, i)}); err != nil {
			t.Error(err)
			return
		}
	}
}

// TestFeedHistoryThenLive subscribes in the middle of a session while
// producers keep appending, and checks that each feed gets every later event
// exactly once, in order, across the seam between history and live events.
func TestFeedHistoryThenLive(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st, hub.WithBatch(7))
		appendN(t, h, "s", 100)

		const producers, each = 4, 150
		const total = 100 + producers*each
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()

		var wg sync.WaitGroup
		for range producers {
			wg.Go(func() { appendN(t, h, "s", each) })
		}
		var feeds sync.WaitGroup
		for f := range 8 {
			after := uint64(rand.IntN(120))
			if f == 0 {
				after = 0
			}
			feeds.Go(func() {
				feed, err := h.Subscribe(hub.Selector{Session: "s"}, after)
				if err != nil {
					t.Error(err)
					return
				}
				want := after + 1
				for want <= total {
					it, err := feed.Next(ctx)
					if err != nil {
						t.Errorf("feed after %d: at %d: %v", after, want, err)
						return
					}
					if it.Cursor != want || it.Event.Seq != want || it.Event.Meta.SessionID != "s" {
						t.Errorf("feed after %d: got seq %d (cursor %d), want %d", after, it.Event.Seq, it.Cursor, want)
						return
					}
					want++
				}
			})
		}
		wg.Wait()
		feeds.Wait()
	})
}

// TestFeedAllSessionsResume follows every session by position, stops in the
// middle, and resumes from the last cursor with no gap and no duplicate.
func TestFeedAllSessionsResume(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		for p := range 3 {
			wg.Go(func() { appendN(t, h, fmt.Sprintf("tenant-a/%d", p), 200) })
		}
		wg.Go(func() { appendN(t, h, "tenant-b/x", 200) })

		feed, err := h.Subscribe(hub.Selector{SessionPrefix: "tenant-a/"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]uint64{}
		var last uint64
		take := func(f *hub.Feed, n int) {
			for range n {
				it, err := f.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if it.Cursor <= last {
					t.Fatalf("cursor %d after %d", it.Cursor, last)
				}
				last = it.Cursor
				s := it.Event.Meta.SessionID
				if s == "tenant-b/x" {
					t.Fatalf("prefix filter let %s through", s)
				}
				if it.Event.Seq != seen[s]+1 {
					t.Fatalf("session %s: seq %d after %d", s, it.Event.Seq, seen[s])
				}
				seen[s] = it.Event.Seq
			}
		}
		take(feed, 250)
		resumed, err := h.Subscribe(hub.Selector{SessionPrefix: "tenant-a/"}, feed.Cursor())
		if err != nil {
			t.Fatal(err)
		}
		take(resumed, 350)
		wg.Wait()
		for p := range 3 {
			if s := fmt.Sprintf("tenant-a/%d", p); seen[s] != 200 {
				t.Errorf("%s: saw up to %d", s, seen[s])
			}
		}
	})
}

// TestSlowFeedDoesNotBlockProducers appends many events while a feed reads
// nothing, then checks the feed still gets them all.
func TestSlowFeedDoesNotBlockProducers(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		feed, err := h.Subscribe(hub.Selector{Session: "s", Types: event.MustPattern("message.text.*")}, 0)
		if err != nil {
			t.Fatal(err)
		}
		const n = 5000
		batch := make([]event.Event, 0, 100)
		for i := range n {
			batch = append(batch, ev("s", i))
			if len(batch) == cap(batch) {
				if err := h.Append(context.Background(), batch); err != nil {
					t.Fatal(err)
				}
				batch = batch[:0]
			}
		}
		info := event.New(event.Info{Message: "filtered out"}, event.Meta{SessionID: "s"})
		if err := h.Publish(context.Background(), &info); err != nil {
			t.Fatal(err)
		}
		if info.Seq != 0 {
			t.Error("Publish changed the caller's event")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for want := uint64(1); want <= n; want++ {
			it, err := feed.Next(ctx)
			if err != nil || it.Event.Seq != want {
				t.Fatalf("got %d, %v; want seq %d", it.Event.Seq, err, want)
			}
		}
		short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel2()
		if it, err := feed.Next(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("filtered feed returned %s, %v", it.Event.Type, err)
		}
	})
}

func TestBusGetsNumberedEvents(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		got := make(chan event.Event, 10)
		if _, err := h.Bus().Subscribe(event.All, func(_ context.Context, ev *event.Event) { got <- *ev }); err != nil {
			t.Fatal(err)
		}
		appendN(t, h, "s", 3)
		for want := uint64(1); want <= 3; want++ {
			select {
			case e := <-got:
				if e.Seq != want {
					t.Fatalf("bus event seq %d, want %d", e.Seq, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("bus subscriber got nothing")
			}
		}
	})
}

// TestBusGetsDuplicatesOnce appends events again, as a producer that
// retries does, and checks that bus subscribers get each event once, with
// the sequence number the store gave it, while every Append succeeds.
func TestBusGetsDuplicatesOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h, err := hub.New(st)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		got := map[string][]uint64{} // payload text -> the seqs delivered
		if _, err := h.Bus().Subscribe(event.All, func(_ context.Context, e *event.Event) {
			mu.Lock()
			defer mu.Unlock()
			got[e.Payload.(event.TextDelta).Text] = append(got[e.Payload.(event.TextDelta).Text], e.Seq)
		}); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		a, b, c := ev("s", 0), ev("s", 1), ev("s", 2)
		steps := [][]event.Event{
			{a, b, a}, // a twice in one call
			{a, b},    // a retry of what is stored
			{b, c, a}, // new among duplicates
		}
		for i, batch := range steps {
			if err := h.Append(ctx, batch); err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		if err := h.Publish(ctx, &c); err != nil {
			t.Fatal(err)
		}
		if err := h.Close(ctx); err != nil { // delivers what the bus accepted
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		want := map[string][]uint64{"0": {1}, "1": {2}, "2": {3}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("bus deliveries (text -> seqs) %v, want %v", got, want)
		}
	})
}

// lostAnswer is a store whose first append stores the events but
// reports an error, as a remote log does when its answer is lost.
type lostAnswer struct {
	*memory.Store
	lost bool
}

func (s *lostAnswer) AppendDups(ctx context.Context, events []event.Event) ([]int, error) {
	dups, err := s.Store.AppendDups(ctx, events)
	if err == nil && !s.lost {
		s.lost = true
		return nil, errors.New("the answer was lost")
	}
	return dups, err
}

// TestBusGetsARetryOfALostAppend: an append that failed although the
// store kept its events published nothing; the producer's retry finds
// them stored, and the hub publishes them then, once (a second retry
// publishes nothing).
func TestBusGetsARetryOfALostAppend(t *testing.T) {
	mem, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	h, err := hub.New(&lostAnswer{Store: mem})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	if _, err := h.Bus().Subscribe(event.All, func(_ context.Context, e *event.Event) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%s@%d", e.Payload.(event.TextDelta).Text, e.Seq))
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	batch := []event.Event{ev("s", 0), ev("s", 1)}
	if err := h.Append(ctx, batch); err == nil {
		t.Fatal("the first append reported no error")
	}
	for i := range 2 {
		retry := append([]event.Event(nil), batch...)
		if err := h.Append(ctx, retry); err != nil || retry[0].Seq != 1 || retry[1].Seq != 2 {
			t.Fatalf("retry %d: %v, seqs %d %d", i, err, retry[0].Seq, retry[1].Seq)
		}
	}
	if err := h.Close(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != "[0@1 1@2]" {
		t.Fatalf("bus deliveries %v, want [0@1 1@2]", got)
	}
}

func TestClose(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h, err := hub.New(st)
		if err != nil {
			t.Fatal(err)
		}
		feed, err := h.Subscribe(hub.Selector{Session: "s"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, h, "s", 2)
		errc := make(chan error, 1)
		go func() {
			ctx := context.Background()
			for {
				if _, err := feed.Next(ctx); err != nil {
					errc <- err
					return
				}
			}
		}()
		time.Sleep(10 * time.Millisecond)
		if err := h.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, hub.ErrClosed) {
				t.Errorf("Next after Close = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Next did not return after Close")
		}
		if err := h.Append(context.Background(), []event.Event{ev("s", 9)}); !errors.Is(err, hub.ErrClosed) {
			t.Errorf("Append after Close = %v", err)
		}
		if _, err := h.Subscribe(hub.Selector{}, 0); !errors.Is(err, hub.ErrClosed) {
			t.Errorf("Subscribe after Close = %v", err)
		}
		// All iterates over what is stored
		h2 := newHub(t, st)
		late, _ := h2.Subscribe(hub.Selector{Session: "s"}, 0)
		n := 0
		for _, err := range late.All(context.Background()) {
			if err != nil {
				break
			}
			if n++; n == 2 {
				break
			}
		}
		if n != 2 {
			t.Errorf("All yielded %d stored events", n)
		}
	})
}

func TestInvalidEventIsRefused(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		bad := event.New(event.TextDelta{Offset: -1}, event.Meta{SessionID: "s"})
		good := ev("s", 1)
		err := h.Append(context.Background(), []event.Event{good, bad})
		if !errors.Is(err, store.ErrInvalid) || !errors.Is(err, event.ErrInvalid) {
			t.Fatalf("Append = %v", err)
		}
		if infos, _ := st.Sessions(context.Background(), store.SessionQuery{}); len(infos) != 0 {
			t.Errorf("a refused batch left %v", infos)
		}
	})
}

// TestFeedSeesOtherWriters follows a store that another hub (standing in for
// another process) appends to: polling finds those events.
func TestFeedSeesOtherWriters(t *testing.T) {
	forEachStore(t, func(t *testing.T, st store.Store) {
		reader := newHub(t, st, hub.WithPoll(5*time.Millisecond))
		writer := newHub(t, st)
		feed, err := reader.Subscribe(hub.Selector{Session: "s"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		defer wg.Wait()
		wg.Go(func() { appendN(t, writer, "s", 3) })
		for want := uint64(1); want <= 3; want++ {
			it, err := feed.Next(ctx)
			if err != nil || it.Event.Seq != want {
				t.Fatalf("got seq %d, %v; want %d", it.Event.Seq, err, want)
			}
		}
	})
}

func TestHubLeavesAGivenBusOpen(t *testing.T) {
	b, err := bus.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(context.Background())
	h := newHub(t, memStore(t), hub.WithBus(b))
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(event.All, func(context.Context, *event.Event) {}); err != nil {
		t.Errorf("the caller's bus was closed: %v", err)
	}
	if _, err := newHub(t, memStore(t)).Subscribe(hub.Selector{Session: "a", SessionPrefix: "b"}, 0); !errors.Is(err, hub.ErrSelector) {
		t.Errorf("Subscribe with session and prefix = %v", err)
	}
}

// memStore returns a new memory store or ends the test.
func memStore(tb testing.TB) *memory.Store {
	tb.Helper()
	st, err := memory.New()
	if err != nil {
		tb.Fatal(err)
	}
	return st
}
