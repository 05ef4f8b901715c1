package timeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/timeline"
)

// counting is a store that counts the events its Read yields and can
// pretend to be another log (another epoch).
type counting struct {
	store.Store
	read  atomic.Int64
	epoch atomic.Uint64
}

func (c *counting) Read(ctx context.Context, q store.Query) iter.Seq2[event.Event, error] {
	return func(yield func(event.Event, error) bool) {
		for ev, err := range c.Store.Read(ctx, q) {
			if err == nil {
				c.read.Add(1)
			}
			if !yield(ev, err) {
				return
			}
		}
	}
}

func (c *counting) Epoch() uint64 {
	if e := c.epoch.Load(); e != 0 {
		return e
	}
	return c.Store.Epoch()
}

func newCounting(t testing.TB) *counting {
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &counting{Store: st}
}

// renamed returns copies of evs in session with new IDs (a new run of the
// same recording).
func renamed(evs []event.Event, session string) []event.Event {
	out := make([]event.Event, len(evs))
	for i, ev := range evs {
		ev.ID = uuid.Must(uuid.NewV7())
		ev.Meta.SessionID = session
		ev.Seq = 0
		out[i] = ev
	}
	return out
}

func newCache(t testing.TB, st store.Store, opts ...timeline.CacheOption) *timeline.Cache {
	t.Helper()
	c, err := timeline.NewCache(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fresh is what the cache must answer: the session folded from scratch.
func fresh(t testing.TB, st store.Store, session string, upTo uint64) []byte {
	t.Helper()
	tl, err := timeline.Read(context.Background(), st, session, upTo)
	if err != nil {
		t.Fatal(err)
	}
	return js(t, tl)
}

// TestCacheGrowing appends a recorded session in chunks and reads it
// through the cache after each: Read, JSON and Summary equal a fold from
// scratch, and each read after the first reads from the store only the
// new events and the one it checks.
func TestCacheGrowing(t *testing.T) {
	for _, s := range recorded.All(t) {
		t.Run(s.Name, func(t *testing.T) {
			st := newCounting(t)
			c := newCache(t, st)
			ctx := context.Background()
			evs := renamed(s.Events, "g-"+s.Name)
			session := evs[0].Meta.SessionID
			for lo, step := 0, 1; lo < len(evs); lo, step = lo+step, step+1 {
				hi := min(lo+step, len(evs))
				if err := st.Append(ctx, evs[lo:hi]); err != nil {
					t.Fatal(err)
				}
				want := fresh(t, st, session, 0)
				st.read.Store(0)
				tl, err := c.Read(ctx, session, 0)
				if err != nil {
					t.Fatal(err)
				}
				if got := js(t, tl); !bytes.Equal(got, want) {
					t.Fatalf("after %d events: Read differs\n got %s\nwant %s", hi, got, want)
				}
				wantRead := int64(hi)
				if lo > 0 {
					wantRead = int64(hi-lo) + 1
				}
				if n := st.read.Load(); n != wantRead {
					t.Fatalf("after %d events (%d new): read %d events from the store, want %d", hi, hi-lo, n, wantRead)
				}
				b, seq, err := c.JSON(ctx, session, 0)
				if err != nil || seq != uint64(hi) || !bytes.Equal(b, want) {
					t.Fatalf("JSON: seq %d (want %d), %v, equal %v", seq, hi, err, bytes.Equal(b, want))
				}
				sum, err := c.Summary(ctx, session)
				if err != nil || !reflect.DeepEqual(sum, tl.Summary()) || sum.Seq != uint64(hi) {
					t.Fatalf("Summary = %+v, %v; want %+v", sum, err, tl.Summary())
				}
			}
			if s := c.Stats(); s.Misses != 1 || s.Hits == 0 || s.Entries != 1 || s.Bytes <= 0 {
				t.Fatalf("stats %+v: want one miss, hits, one entry", s)
			}
		})
	}
}

// TestCacheReadIsOwned: what Read returns may be folded on and changed
// without changing what the cache answers next.
func TestCacheReadIsOwned(t *testing.T) {
	st := newCounting(t)
	c := newCache(t, st)
	ctx := context.Background()
	s := recorded.Demo(t)
	evs := renamed(s.Events, "owned")
	half := len(evs) / 2
	if err := st.Append(ctx, evs[:half]); err != nil {
		t.Fatal(err)
	}
	want := fresh(t, st, "owned", 0)
	for range 3 {
		tl, err := c.Read(ctx, "owned", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := js(t, tl); !bytes.Equal(got, want) {
			t.Fatalf("Read differs after a reader changed its copy\n got %s\nwant %s", got, want)
		}
		// Fold on into the copy (text deltas append to shared parts if
		// the copy were shallow) and scribble on it.
		for i := half; i < len(evs); i++ {
			ev := evs[i]
			ev.Seq = uint64(i + 1)
			tl.Apply(&ev)
		}
		// A whole text replaces the parts' bytes in place.
		for i, m := range tl.Messages {
			over := event.New(event.TextCompleted{Text: "overwritten"}, event.Meta{SessionID: "owned", MessageID: m.ID})
			over.Seq = tl.Seq + 1
			tl.Apply(&over)
			tl.Messages[i].Status = "scribbled"
		}
		tl.Usage = nil
	}
	b, _, err := c.JSON(ctx, "owned", 0)
	if err != nil || !bytes.Equal(b, want) {
		t.Fatalf("JSON after readers changed their copies: %v\n got %s\nwant %s", err, b, want)
	}
}

// TestCacheClone: a clone folds on apart from its original.
func TestCacheClone(t *testing.T) {
	s := recorded.Demo(t)
	half := len(s.Events) / 2
	orig := fold(s.Events[:half])
	want := js(t, orig)
	c := orig.Clone()
	for i := half; i < len(s.Events); i++ {
		c.Apply(&s.Events[i])
	}
	if got := js(t, orig); !bytes.Equal(got, want) {
		t.Fatalf("folding into a clone changed the original\n got %s\nwant %s", got, want)
	}
	if got, whole := js(t, c), js(t, fold(s.Events)); !bytes.Equal(got, whole) {
		t.Fatalf("the clone folded on differs from the whole fold")
	}
}

// TestCacheUpTo: reads up to a sequence number below, between and above
// the kept folds equal folds from scratch.
func TestCacheUpTo(t *testing.T) {
	st := newCounting(t)
	c := newCache(t, st)
	ctx := context.Background()
	evs := renamed(recorded.Demo(t).Events, "upto")
	if err := st.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	n := uint64(len(evs))
	for _, upTo := range []uint64{0, n / 2, n / 4, n/2 + 3, n / 8, 3 * n / 4, n, n + 10, 1, 0} {
		tl, err := c.Read(ctx, "upto", upTo)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := js(t, tl), fresh(t, st, "upto", upTo); !bytes.Equal(got, want) {
			t.Fatalf("up to %d: differs\n got %s\nwant %s", upTo, got, want)
		}
		b, seq, err := c.JSON(ctx, "upto", upTo)
		if err != nil || seq != tl.Seq || !bytes.Equal(b, js(t, tl)) {
			t.Fatalf("JSON up to %d: seq %d (want %d), %v", upTo, seq, tl.Seq, err)
		}
	}
}

// TestCacheDeletedSession: a session deleted and started again (at
// sequence number 1) is folded from scratch, whether the new one is
// shorter, as long or longer than the fold kept; so is one whose kept
// folds were forgotten.
func TestCacheDeletedSession(t *testing.T) {
	st := newCounting(t)
	c := newCache(t, st)
	ctx := context.Background()
	demo := recorded.Demo(t).Events
	n := len(demo)
	for _, again := range []int{n / 3, n, n - 1, n + n/2} {
		t.Run(fmt.Sprint(again), func(t *testing.T) {
			if err := st.Append(ctx, renamed(demo, "del")); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Read(ctx, "del", 0); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Read(ctx, "del", uint64(n/2)); err != nil { // an older fold too
				t.Fatal(err)
			}
			if err := st.Delete(ctx, "del"); err != nil {
				t.Fatal(err)
			}
			next := renamed(append(append([]event.Event(nil), demo...), demo...)[:again], "del")
			if err := st.Append(ctx, next); err != nil {
				t.Fatal(err)
			}
			stale := c.Stats().Stale
			for _, upTo := range []uint64{0, uint64(n / 2), uint64(again)} {
				tl, err := c.Read(ctx, "del", upTo)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := js(t, tl), fresh(t, st, "del", upTo); !bytes.Equal(got, want) {
					t.Fatalf("after delete, %d events again, up to %d: differs\n got %s\nwant %s", again, upTo, got, want)
				}
			}
			if c.Stats().Stale == stale {
				t.Fatal("no stale fold detected")
			}
			if err := st.Delete(ctx, "del"); err != nil {
				t.Fatal(err)
			}
			c.Forget("del")
			if s := c.Stats(); s.Entries != 0 || s.Bytes != 0 {
				t.Fatalf("after Forget: %+v", s)
			}
		})
	}
}

// TestCacheEpoch: after the log's epoch changes, nothing kept is reused.
func TestCacheEpoch(t *testing.T) {
	st := newCounting(t)
	c := newCache(t, st)
	ctx := context.Background()
	if err := st.Append(ctx, renamed(recorded.Demo(t).Events, "ep")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Read(ctx, "ep", 0); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); s.Misses != 1 || s.Hits != 1 {
		t.Fatalf("stats %+v, want 1 miss 1 hit", s)
	}
	st.epoch.Store(st.Store.Epoch() + 1)
	if _, err := c.Read(ctx, "ep", 0); err != nil {
		t.Fatal(err)
	}
	if s := c.Stats(); s.Misses != 2 || s.Hits != 1 || s.Entries != 1 {
		t.Fatalf("stats %+v after the epoch changed, want 2 misses 1 hit 1 entry", s)
	}
}

// TestCacheBounds: the cache holds at most its entries and about its
// bytes, and keeps no fold over the per-entry bound.
func TestCacheBounds(t *testing.T) {
	st := newCounting(t)
	ctx := context.Background()
	demo := recorded.Demo(t).Events
	for i := range 5 {
		if err := st.Append(ctx, renamed(demo, fmt.Sprint("b", i))); err != nil {
			t.Fatal(err)
		}
	}
	one := int64(len(fresh(t, st, "b0", 0)))

	c := newCache(t, st, timeline.WithMaxEntries(2))
	for i := range 5 {
		if _, _, err := c.JSON(ctx, fmt.Sprint("b", i), 0); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); s.Entries != 2 || s.Evicted != 3 {
		t.Fatalf("max 2 entries: %+v", s)
	}
	// b4 and b3 are kept, b0 is not.
	before := c.Stats()
	c.Read(ctx, "b4", 0)
	c.Read(ctx, "b0", 0)
	if s := c.Stats(); s.Hits != before.Hits+1 || s.Misses != before.Misses+1 {
		t.Fatalf("after reading b4 (kept) and b0 (evicted): %+v, before %+v", s, before)
	}

	c = newCache(t, st, timeline.WithMaxBytes(3*one), timeline.WithMaxEntryBytes(3*one))
	for i := range 5 {
		if _, _, err := c.JSON(ctx, fmt.Sprint("b", i), 0); err != nil {
			t.Fatal(err)
		}
		if s := c.Stats(); s.Bytes > 3*one {
			t.Fatalf("holds %d bytes, bound %d", s.Bytes, 3*one)
		}
	}
	if s := c.Stats(); s.Entries == 0 || s.Entries >= 3 {
		t.Fatalf("max %d bytes (one fold with its JSON is about %d): %+v", 3*one, 2*one, s)
	}

	c = newCache(t, st, timeline.WithMaxEntryBytes(one/2))
	for range 3 {
		tl, err := c.Read(ctx, "b1", 0)
		if err != nil || !bytes.Equal(js(t, tl), fresh(t, st, "b1", 0)) {
			t.Fatalf("uncached read: %v", err)
		}
	}
	if s := c.Stats(); s.Entries != 0 || s.Misses != 3 || s.Hits != 0 {
		t.Fatalf("entry bound below the fold's size: %+v", s)
	}
}

// TestCacheConcurrent: readers of every kind read sessions that writers
// are appending to (and one that is deleted and started again); every
// answer equals a fold from scratch up to its Seq. Run with -race.
func TestCacheConcurrent(t *testing.T) {
	st := newCounting(t)
	c := newCache(t, st, timeline.WithMaxEntries(2))
	ctx := context.Background()
	demo := recorded.Demo(t).Events
	sessions := []string{"c0", "c1", "c2"}
	var wg sync.WaitGroup
	for _, s := range sessions {
		wg.Go(func() {
			evs := renamed(demo, s)
			for i := 0; i < len(evs); i += 7 {
				if err := st.Append(ctx, evs[i:min(i+7, len(evs))]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	type answer struct {
		session string
		seq     uint64
		json    []byte
	}
	answers := make(chan answer, 10000)
	for r := range 4 {
		wg.Go(func() {
			for i := range 150 {
				s := sessions[(r+i)%len(sessions)]
				switch i % 3 {
				case 0:
					tl, err := c.Read(ctx, s, 0)
					if err != nil {
						t.Error(err)
						return
					}
					b := js(t, tl)
					answers <- answer{s, tl.Seq, b}
					mine := event.New(event.TextDelta{Text: "mine"})
					mine.Seq = tl.Seq + 1
					tl.Apply(&mine)
				case 1:
					b, seq, err := c.JSON(ctx, s, 0)
					if err != nil {
						t.Error(err)
						return
					}
					answers <- answer{s, seq, bytes.Clone(b)}
				case 2:
					sum, err := c.Summary(ctx, s)
					if err != nil {
						t.Error(err)
						return
					}
					b, _ := json.Marshal(sum)
					answers <- answer{s + "#sum", sum.Seq, b}
				}
			}
		})
	}
	wg.Wait()
	close(answers)
	n := 0
	for a := range answers {
		session, sum := a.session, false
		if len(session) > 4 {
			session, sum = session[:2], true
		}
		if a.seq == 0 {
			continue // read before the first append
		}
		tl, err := timeline.Read(ctx, st, session, a.seq)
		if err != nil {
			t.Fatal(err)
		}
		want := js(t, tl)
		if sum {
			want, _ = json.Marshal(tl.Summary())
		}
		if !bytes.Equal(a.json, want) {
			t.Fatalf("%s at %d differs\n got %s\nwant %s", a.session, a.seq, a.json, want)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no answer checked")
	}
}

func TestCacheOptions(t *testing.T) {
	st := newCounting(t)
	for _, opt := range []timeline.CacheOption{timeline.WithMaxEntries(0), timeline.WithMaxBytes(-1), timeline.WithMaxEntryBytes(0), nil} {
		if _, err := timeline.NewCache(st, opt); !errors.Is(err, timeline.ErrInvalid) {
			t.Fatalf("NewCache with a bad option: %v, want ErrInvalid", err)
		}
	}
	if _, err := timeline.NewCache(nil); !errors.Is(err, timeline.ErrInvalid) {
		t.Fatalf("NewCache(nil): %v", err)
	}
	c := newCache(t, st)
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Read(cctx, "x", 0); err == nil {
		t.Fatal("Read with a cancelled context succeeded")
	}
	if tl, err := c.Read(context.Background(), "unknown", 0); err != nil || tl.Seq != 0 || c.Stats().Entries != 0 {
		t.Fatalf("unknown session: %+v, %v, %+v", tl, err, c.Stats())
	}
}

// gated is a store whose first Read waits until open is closed.
type gated struct {
	*counting
	calls atomic.Int64
	in    chan struct{} // closed when the first Read started
	open  chan struct{}
}

func (g *gated) Read(ctx context.Context, q store.Query) iter.Seq2[event.Event, error] {
	if g.calls.Add(1) == 1 {
		close(g.in)
		<-g.open
	}
	return g.counting.Read(ctx, q)
}

// TestCacheFoldsOnce: readers that arrive together at a session nobody
// folded yet fold it once; the others wait and reuse that fold.
func TestCacheFoldsOnce(t *testing.T) {
	st := &gated{counting: newCounting(t), in: make(chan struct{}), open: make(chan struct{})}
	ctx := context.Background()
	evs := renamed(recorded.Demo(t).Events, "herd")
	if err := st.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	want := fresh(t, st.counting, "herd", 0)
	st.read.Store(0)
	c := newCache(t, st)
	const readers = 8
	got := make(chan []byte, readers)
	var wg sync.WaitGroup
	read := func() {
		b, _, err := c.JSON(ctx, "herd", 0)
		if err != nil {
			t.Error(err)
		}
		got <- b
	}
	wg.Go(read)
	<-st.in // the first reader is folding
	for range readers - 1 {
		wg.Go(read)
	}
	waiting(t, c, readers-1)
	close(st.open)
	wg.Wait()
	close(got)
	for b := range got {
		if !bytes.Equal(b, want) {
			t.Fatalf("a reader got\n%s\nwant %s", b, want)
		}
	}
	s := c.Stats()
	if s.Misses != 1 || s.Hits != readers-1 || s.Waiting != 0 {
		t.Fatalf("stats %+v: want 1 miss, %d hits, none waiting", s, readers-1)
	}
	// One fold of every event, and one check of the last for each other reader.
	if n, want := st.read.Load(), int64(len(evs)+readers-1); n != want {
		t.Fatalf("read %d events from the store, want %d", n, want)
	}
}

// TestCacheWaitCancelled: a reader waiting for another's fold gives up
// when its context ends.
func TestCacheWaitCancelled(t *testing.T) {
	st := &gated{counting: newCounting(t), in: make(chan struct{}), open: make(chan struct{})}
	ctx := context.Background()
	if err := st.Append(ctx, renamed(recorded.Demo(t).Events, "slow")); err != nil {
		t.Fatal(err)
	}
	c := newCache(t, st)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := c.Read(ctx, "slow", 0); err != nil {
			t.Error(err)
		}
	})
	<-st.in
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	wg.Go(func() { _, err := c.Read(cctx, "slow", 0); errc <- err })
	waiting(t, c, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled waiter: %v, want context.Canceled", err)
	}
	close(st.open)
	wg.Wait()
}

// waiting waits until n readers of c wait for another's fold (failing
// after a long while: they never will).
func waiting(t *testing.T, c *timeline.Cache, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Waiting != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d readers waiting, want %d", c.Stats().Waiting, n)
		}
		runtime.Gosched()
	}
}

// TestCacheOlderFold: a read below every kept fold is kept as the older
// one, so a reader resuming a little later reuses it, while the latest
// stays for readers of the whole session.
func TestCacheOlderFold(t *testing.T) {
	st := newCounting(t)
	c := newCache(t, st)
	ctx := context.Background()
	evs := renamed(recorded.Demo(t).Events, "older")
	if err := st.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	n := uint64(len(evs))
	steps := []struct {
		upTo uint64
		hit  bool
		read int64 // events read from the store
	}{
		{0, false, int64(n)},         // the latest
		{n / 2, false, int64(n / 2)}, // below it: from scratch, kept as the older
		{n / 4, false, int64(n / 4)}, // below both: from scratch, replaces the older
		{n/4 + 2, true, 3},           // the older, and 2 more
		{0, true, 1},                 // the latest, unchanged
	}
	for _, s := range steps {
		before := c.Stats().Hits
		st.read.Store(0)
		tl, err := c.Read(ctx, "older", s.upTo)
		if err != nil {
			t.Fatal(err)
		}
		read := st.read.Load()
		if got, want := js(t, tl), fresh(t, st, "older", s.upTo); !bytes.Equal(got, want) {
			t.Fatalf("up to %d differs", s.upTo)
		}
		if hit := c.Stats().Hits > before; hit != s.hit {
			t.Fatalf("up to %d: hit %v, want %v", s.upTo, hit, s.hit)
		}
		if read != s.read {
			t.Fatalf("up to %d: read %d events, want %d", s.upTo, read, s.read)
		}
	}
}

// BenchmarkClone copies the timeline of a 10,000-event session: Clone
// (a structural copy) against the JSON round trip Clone used to be.
func BenchmarkClone(b *testing.B) {
	tl := fold(recorded.Repeat(b, 10000))
	b.Run("clone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tl.Clone()
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw, _ := json.Marshal(tl)
			var c timeline.Timeline
			if err := json.Unmarshal(raw, &c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
