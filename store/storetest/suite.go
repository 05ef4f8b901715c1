package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

type suite struct {
	open OpenFunc
	cfg  config
}

// base is the time of the suite's events: fixed, so that retention by age
// is deterministic with a fake clock.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

// new opens a new store with the default configuration changed by set.
func (s *suite) new(t *testing.T, set ...func(*store.Config)) store.Store {
	t.Helper()
	c := store.DefaultConfig()
	for _, f := range set {
		f(&c)
	}
	st := s.open(t, c)
	if st == nil {
		t.Fatal("open returned a nil store")
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func ctx(t *testing.T) context.Context { return t.Context() }

// ev makes a valid event of session sess with payload p at base+offset.
func ev(sess string, p event.Payload, offset time.Duration) event.Event {
	e := event.New(p, event.Meta{SessionID: sess})
	e.Time = base.Add(offset)
	return e
}

func text(sess string, i int) event.Event {
	return ev(sess, event.TextDelta{Text: fmt.Sprintf("t%d", i), Offset: int64(i)}, time.Duration(i)*time.Second)
}

func mustAppend(t *testing.T, st store.Store, evs ...event.Event) []event.Event {
	t.Helper()
	if err := st.Append(ctx(t), evs); err != nil {
		t.Fatalf("Append: %v", err)
	}
	return evs
}

func collect(t *testing.T, st store.Store, q store.Query) []event.Event {
	t.Helper()
	var out []event.Event
	for e, err := range st.Read(ctx(t), q) {
		if err != nil {
			t.Fatalf("Read(%+v): %v", q, err)
		}
		out = append(out, e)
	}
	return out
}

func collectAll(t *testing.T, st store.Store, q store.AllQuery) []store.Entry {
	t.Helper()
	var out []store.Entry
	for e, err := range st.ReadAll(ctx(t), q) {
		if err != nil {
			t.Fatalf("ReadAll(%+v): %v", q, err)
		}
		out = append(out, e)
	}
	return out
}

func seqs(evs []event.Event) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Seq
	}
	return out
}

func span(from, to uint64) []uint64 {
	var out []uint64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

// checkBatches checks that every batch got consecutive sequence numbers
// and that together they cover 1..n exactly once.
func checkBatches(t *testing.T, sess string, batches [][]event.Event) {
	t.Helper()
	var all []uint64
	for _, b := range batches {
		for i := range b {
			if i > 0 && b[i].Seq != b[i-1].Seq+1 {
				t.Fatalf("session %s: batch got sequence numbers %v, want consecutive", sess, seqs(b))
			}
			all = append(all, b[i].Seq)
		}
	}
	slices.Sort(all)
	if want := span(1, uint64(len(all))); !slices.Equal(all, want) {
		t.Fatalf("session %s: assigned sequence numbers are not 1..%d without gaps or duplicates: %v", sess, len(all), all)
	}
}

// checkStored reads sess back and checks it holds exactly the batches' events
// in sequence order.
func checkStored(t *testing.T, st store.Store, sess string, batches [][]event.Event) {
	t.Helper()
	byID := map[string]uint64{}
	for _, b := range batches {
		for _, e := range b {
			byID[e.ID.String()] = e.Seq
		}
	}
	got := collect(t, st, store.Query{Session: sess})
	if len(got) != len(byID) {
		t.Fatalf("session %s: read %d events, appended %d", sess, len(got), len(byID))
	}
	for i, e := range got {
		if e.Seq != uint64(i+1) {
			t.Fatalf("session %s: event %d has seq %d", sess, i, e.Seq)
		}
		if want, ok := byID[e.ID.String()]; !ok || want != e.Seq {
			t.Fatalf("session %s: read event %s with seq %d, Append assigned %d (known %v)", sess, e.ID, e.Seq, want, ok)
		}
	}
}

func (s *suite) seqOneSession(t *testing.T) {
	st := s.new(t)
	const workers, per = 8, 40
	batches := make([][]event.Event, workers*per)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				n := 1 + (w+i)%3
				b := make([]event.Event, n)
				for j := range b {
					b[j] = text("one", i*10+j)
				}
				if err := st.Append(context.Background(), b); err != nil {
					errs <- err
					return
				}
				batches[w*per+i] = b
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Append: %v", err)
	}
	checkBatches(t, "one", batches)
	checkStored(t, st, "one", batches)
}

func (s *suite) seqManySessions(t *testing.T) {
	st := s.new(t)
	const workers, per, nsess = 8, 40, 5
	type batch struct {
		sess string
		evs  []event.Event
	}
	var mu sync.Mutex
	var all []batch
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range per {
				sess := fmt.Sprintf("many-%d", r.IntN(nsess))
				b := make([]event.Event, 1+r.IntN(3))
				for j := range b {
					b[j] = text(sess, i)
				}
				if err := st.Append(context.Background(), b); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				all = append(all, batch{sess, b})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Append: %v", err)
	}
	bySess := map[string][][]event.Event{}
	for _, b := range all {
		bySess[b.sess] = append(bySess[b.sess], b.evs)
	}
	for sess, bs := range bySess {
		checkBatches(t, sess, bs)
		checkStored(t, st, sess, bs)
	}
	// Positions over all sessions are unique and increasing.
	entries := collectAll(t, st, store.AllQuery{})
	total := 0
	for _, b := range all {
		total += len(b.evs)
	}
	if len(entries) != total {
		t.Fatalf("ReadAll: %d entries, appended %d", len(entries), total)
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].Pos <= entries[i-1].Pos {
			t.Fatalf("ReadAll: position %d after %d", entries[i].Pos, entries[i-1].Pos)
		}
	}
}

func (s *suite) batchAllOrNothing(t *testing.T) {
	st := s.new(t)
	mustAppend(t, st, text("b", 0), text("b", 1))

	bad := text("b", 3)
	bad.Time = time.Time{}
	batch := []event.Event{text("b", 2), bad, text("b", 4)}
	err := st.Append(ctx(t), batch)
	if err == nil {
		t.Fatal("Append of a batch with an invalid event succeeded")
	}
	if !errors.Is(err, store.ErrInvalid) || !errors.Is(err, event.ErrInvalid) || !errors.Is(err, event.ErrMissingTime) {
		t.Fatalf("error %q does not wrap store.ErrInvalid, event.ErrInvalid and event.ErrMissingTime", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "event 1") || !strings.Contains(msg, bad.ID.String()) {
		t.Fatalf("error %q does not name the event by index (1) and ID (%s)", msg, bad.ID)
	}
	for i, e := range batch {
		if e.Seq != 0 {
			t.Fatalf("failed batch: event %d got Seq %d", i, e.Seq)
		}
	}

	// An event without a session fails the batch too, in a new session.
	nosess := text("", 0)
	err = st.Append(ctx(t), []event.Event{text("c", 0), nosess})
	if !errors.Is(err, store.ErrInvalid) || !errors.Is(err, store.ErrNoSession) {
		t.Fatalf("Append of an event without session: %v, want ErrInvalid and ErrNoSession", err)
	}
	if _, err := st.Session(ctx(t), "c"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session of a failed batch: %v, want ErrNotFound", err)
	}
	mismatch := text("b", 5)
	mismatch.Type = "tool.call.started"
	if err := st.Append(ctx(t), []event.Event{mismatch}); !errors.Is(err, event.ErrTypeMismatch) {
		t.Fatalf("type mismatch: %v", err)
	}

	if got := seqs(collect(t, st, store.Query{Session: "b"})); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("after failed batches session holds %v, want [1 2]", got)
	}
	next := mustAppend(t, st, text("b", 9))
	if next[0].Seq != 3 {
		t.Fatalf("next append got seq %d, want 3", next[0].Seq)
	}
	if err := st.Append(ctx(t), nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}

func (s *suite) read(t *testing.T) {
	st := s.new(t)
	var evs []event.Event
	for i := range 20 {
		var p event.Payload = event.TextDelta{Text: fmt.Sprint(i)}
		switch i % 4 {
		case 1:
			p = event.ToolCallStarted{CallID: fmt.Sprint(i), Name: "search"}
		case 2:
			p = event.ToolCallCompleted{CallID: fmt.Sprint(i), Name: "search"}
		}
		evs = append(evs, ev("r", p, time.Duration(i)*time.Minute))
	}
	mustAppend(t, st, evs...)
	mustAppend(t, st, text("r-other", 0))

	cases := []struct {
		name string
		q    store.Query
		want []uint64
	}{
		{"all", store.Query{}, span(1, 20)},
		{"after", store.Query{After: 15}, span(16, 20)},
		{"after end", store.Query{After: 20}, nil},
		{"limit", store.Query{Limit: 3}, []uint64{1, 2, 3}},
		{"after limit", store.Query{After: 5, Limit: 2}, []uint64{6, 7}},
		{"exact type", store.Query{Types: event.MustPattern("tool.call.started")}, []uint64{2, 6, 10, 14, 18}},
		{"wildcard", store.Query{Types: event.MustPattern("tool.call.*")}, []uint64{2, 3, 6, 7, 10, 11, 14, 15, 18, 19}},
		{"tail wildcard limit", store.Query{Types: event.MustPattern("tool.>"), After: 6, Limit: 3}, []uint64{7, 10, 11}},
		{"no match", store.Query{Types: event.MustPattern("nothing.here")}, nil},
		{"since", store.Query{Since: base.Add(17 * time.Minute)}, []uint64{18, 19, 20}},
		{"until", store.Query{Until: base.Add(2 * time.Minute)}, []uint64{1, 2}},
		{"range", store.Query{Since: base.Add(5 * time.Minute), Until: base.Add(9 * time.Minute)}, []uint64{6, 7, 8, 9}},
		{"range type limit", store.Query{Since: base.Add(5 * time.Minute), Until: base.Add(19 * time.Minute), Types: event.MustPattern("message.text.delta"), Limit: 2}, []uint64{8, 9}},
	}
	for _, c := range cases {
		q := c.q
		q.Session = "r"
		if got := seqs(collect(t, st, q)); !slices.Equal(got, c.want) {
			t.Errorf("%s: Read(%+v) = %v, want %v", c.name, q, got, c.want)
		}
	}
	got := collect(t, st, store.Query{Session: "r", After: 1, Limit: 1})
	if len(got) != 1 || got[0].ID != evs[1].ID || !got[0].Time.Equal(evs[1].Time) {
		t.Fatalf("Read returned %+v, want the event %s", got, evs[1].ID)
	}
	if got := collect(t, st, store.Query{Session: "unknown"}); len(got) != 0 {
		t.Fatalf("unknown session: %d events", len(got))
	}
	for e, err := range st.Read(ctx(t), store.Query{}) {
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("query without session: %v, %v; want ErrInvalid", e, err)
		}
	}
	for _, err := range st.Read(ctx(t), store.Query{Session: "r", Limit: -1}) {
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("negative limit: %v; want ErrInvalid", err)
		}
	}
	for _, err := range st.Read(ctx(t), store.Query{Session: "r", After: math.MaxUint64}) {
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("after beyond MaxInt64: %v; want ErrInvalid", err)
		}
	}
	for _, err := range st.ReadAll(ctx(t), store.AllQuery{After: math.MaxUint64}) {
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("ReadAll after beyond MaxInt64: %v; want ErrInvalid", err)
		}
	}
	// Stopping early is fine.
	n := 0
	for _, err := range st.Read(ctx(t), store.Query{Session: "r"}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
}

// readPaging reads more events than an implementation is likely to fetch
// at once, with filters that skip most of them.
func (s *suite) readPaging(t *testing.T) {
	st := s.new(t)
	const n = 1500
	evs := make([]event.Event, n)
	for i := range evs {
		var p event.Payload = event.TextDelta{Text: "x"}
		if i%7 == 0 {
			p = event.Status{Status: "thinking"}
		}
		evs[i] = ev("p", p, time.Duration(i)*time.Millisecond)
	}
	mustAppend(t, st, evs[:700]...)
	mustAppend(t, st, evs[700:]...)
	if got := collect(t, st, store.Query{Session: "p"}); !slices.Equal(seqs(got), span(1, n)) {
		t.Fatalf("read %d events, want 1..%d in order", len(got), n)
	}
	var want []uint64
	for i := 0; i < n; i += 7 {
		want = append(want, uint64(i+1))
	}
	got := seqs(collect(t, st, store.Query{Session: "p", Types: event.MustPattern(string(event.TypeStatus))}))
	if !slices.Equal(got, want) {
		t.Fatalf("filtered read: %d events %v…, want %d", len(got), got[:min(5, len(got))], len(want))
	}
	got = seqs(collect(t, st, store.Query{Session: "p", Types: event.MustPattern(string(event.TypeStatus)), After: 100, Limit: 50}))
	if len(got) != 50 || got[0] != 106 || got[49] != 106+49*7 {
		t.Fatalf("filtered read with after and limit: %d events from %v", len(got), got[:min(3, len(got))])
	}
	all := collectAll(t, st, store.AllQuery{After: 10, Limit: 1200})
	if len(all) != 1200 || all[0].Event.Seq != 11 {
		t.Fatalf("ReadAll after 10 limit 1200: %d entries", len(all))
	}
}

func (s *suite) readAll(t *testing.T) {
	st := s.new(t)
	mustAppend(t, st, text("alpha-1", 0), text("alpha-1", 1))
	mustAppend(t, st, text("beta-1", 0))
	mustAppend(t, st, ev("alpha-2", event.Status{Status: "thinking"}, 0), text("alpha-1", 2))

	all := collectAll(t, st, store.AllQuery{})
	if len(all) != 5 {
		t.Fatalf("ReadAll: %d entries, want 5", len(all))
	}
	order := []string{"alpha-1/1", "alpha-1/2", "beta-1/1", "alpha-2/1", "alpha-1/3"}
	for i, e := range all {
		if i > 0 && e.Pos <= all[i-1].Pos {
			t.Fatalf("positions not increasing: %d after %d", e.Pos, all[i-1].Pos)
		}
		if e.Pos == 0 {
			t.Fatal("position 0")
		}
		if got := fmt.Sprintf("%s/%d", e.Event.Meta.SessionID, e.Event.Seq); got != order[i] {
			t.Fatalf("entry %d is %s, want %s (commit order)", i, got, order[i])
		}
	}
	after := collectAll(t, st, store.AllQuery{After: all[2].Pos})
	if len(after) != 2 || after[0].Pos != all[3].Pos {
		t.Fatalf("ReadAll after %d: %+v", all[2].Pos, after)
	}
	pref := collectAll(t, st, store.AllQuery{SessionPrefix: "alpha-"})
	if len(pref) != 4 {
		t.Fatalf("prefix alpha-: %d entries, want 4", len(pref))
	}
	typed := collectAll(t, st, store.AllQuery{Types: event.MustPattern("message.>"), SessionPrefix: "alpha"})
	if len(typed) != 3 {
		t.Fatalf("pattern and prefix: %d entries, want 3", len(typed))
	}
	lim := collectAll(t, st, store.AllQuery{After: all[0].Pos, Limit: 2})
	if len(lim) != 2 || lim[1].Pos != all[2].Pos {
		t.Fatalf("limit: %+v", lim)
	}
	if len(collectAll(t, st, store.AllQuery{After: all[4].Pos})) != 0 {
		t.Fatal("ReadAll after the last position returned entries")
	}
	for _, err := range st.ReadAll(ctx(t), store.AllQuery{Limit: -1}) {
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("negative limit: %v", err)
		}
	}
}

// readAllTail resumes ReadAll after the last seen position while appends
// go on: commit order must equal position order, or the tailer misses
// events.
func (s *suite) readAllTail(t *testing.T) {
	st := s.new(t)
	const workers, per = 4, 40
	var wg sync.WaitGroup
	var done atomic.Bool
	errs := make(chan error, workers+1)
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				sess := fmt.Sprintf("tail-%d", (w+i)%3)
				if err := st.Append(context.Background(), []event.Event{text(sess, i), text(sess, i)}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	seen := map[string]bool{}
	var last uint64
	tail := func() error {
		for e, err := range st.ReadAll(context.Background(), store.AllQuery{After: last}) {
			if err != nil {
				return err
			}
			if e.Pos <= last {
				return fmt.Errorf("position %d after %d", e.Pos, last)
			}
			last = e.Pos
			id := e.Event.ID.String()
			if seen[id] {
				return fmt.Errorf("event %s seen twice", id)
			}
			seen[id] = true
		}
		return nil
	}
	tailDone := make(chan struct{})
	go func() {
		defer close(tailDone)
		for !done.Load() {
			if err := tail(); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	done.Store(true)
	<-tailDone
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := tail(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != workers*per*2 {
		t.Fatalf("tailer saw %d events, appended %d: resuming after a position missed events", len(seen), workers*per*2)
	}
}

func (s *suite) head(t *testing.T) {
	st := s.new(t)
	head := func() uint64 {
		t.Helper()
		h, err := st.Head(ctx(t))
		if err != nil {
			t.Fatalf("Head: %v", err)
		}
		return h
	}
	if h := head(); h != 0 {
		t.Fatalf("Head of an empty store = %d, want 0", h)
	}
	mustAppend(t, st, text("a", 1), text("b", 1), text("a", 2))
	all := collectAll(t, st, store.AllQuery{})
	h := head()
	if want := all[len(all)-1].Pos; h != want {
		t.Fatalf("Head = %d, want the last position %d", h, want)
	}
	if got := collectAll(t, st, store.AllQuery{After: h}); len(got) != 0 {
		t.Fatalf("ReadAll after Head yielded %d events, want none", len(got))
	}
	mustAppend(t, st, text("c", 1), text("a", 3))
	later := collectAll(t, st, store.AllQuery{After: h})
	if len(later) != 2 || later[0].Event.Meta.SessionID != "c" || later[1].Event.Seq != 3 {
		t.Fatalf("ReadAll after the old Head = %+v, want exactly the two later events", later)
	}
	if h2 := head(); h2 != later[1].Pos {
		t.Fatalf("Head = %d after more appends, want %d", h2, later[1].Pos)
	}
	if st.Epoch() == 0 || st.Epoch() > math.MaxInt64 {
		t.Errorf("Epoch = %d, want a number in [1, 2^63)", st.Epoch())
	}
	if other := s.new(t); other.Epoch() == st.Epoch() {
		t.Errorf("two new logs share the epoch %d", st.Epoch())
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Head(ctx(t)); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Head after Close = %v, want ErrClosed", err)
	}
}

func (s *suite) sessions(t *testing.T) {
	st := s.new(t)
	mustAppend(t, st, text("s/a", 1), text("s/a", 2), text("s/a", 3))
	mustAppend(t, st, text("s/b", 5))
	mustAppend(t, st, text("t/c", 7), text("t/c", 8))

	got, err := st.Sessions(ctx(t), store.SessionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.SessionInfo{
		{ID: "s/a", Count: 3, LastSeq: 3, First: base.Add(time.Second), Last: base.Add(3 * time.Second)},
		{ID: "s/b", Count: 1, LastSeq: 1, First: base.Add(5 * time.Second), Last: base.Add(5 * time.Second)},
		{ID: "t/c", Count: 2, LastSeq: 2, First: base.Add(7 * time.Second), Last: base.Add(8 * time.Second)},
	}
	checkInfos(t, "all", got, want)
	got, err = st.Sessions(ctx(t), store.SessionQuery{Prefix: "s/"})
	if err != nil {
		t.Fatal(err)
	}
	checkInfos(t, "prefix", got, want[:2])
	got, err = st.Sessions(ctx(t), store.SessionQuery{After: "s/a", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkInfos(t, "after+limit", got, want[1:2])
	got, err = st.Sessions(ctx(t), store.SessionQuery{Prefix: "x"})
	if err != nil || len(got) != 0 {
		t.Fatalf("no match: %v, %v", got, err)
	}
	one, err := st.Session(ctx(t), "t/c")
	if err != nil {
		t.Fatal(err)
	}
	checkInfos(t, "Session", []store.SessionInfo{one}, want[2:])
	if _, err := st.Session(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown session: %v, want ErrNotFound", err)
	}
	if _, err := st.Sessions(ctx(t), store.SessionQuery{Limit: -1}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("negative limit: %v", err)
	}
}

func checkInfos(t *testing.T, name string, got, want []store.SessionInfo) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: Sessions = %+v, want %+v", name, got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Count != w.Count || g.LastSeq != w.LastSeq || !g.First.Equal(w.First) || !g.Last.Equal(w.Last) {
			t.Fatalf("%s: session %d = %+v, want %+v", name, i, g, w)
		}
	}
}

func (s *suite) retentionByCount(t *testing.T) {
	st := s.new(t, func(c *store.Config) { c.Retention = store.Retention{MaxEvents: 3, Interval: time.Hour} })
	for i := range 10 {
		mustAppend(t, st, text("long", i))
	}
	mustAppend(t, st, text("short", 0), text("short", 1))
	n, err := st.Prune(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if n != 7 {
		t.Fatalf("Prune removed %d events, want 7", n)
	}
	if got := seqs(collect(t, st, store.Query{Session: "long"})); !slices.Equal(got, []uint64{8, 9, 10}) {
		t.Fatalf("after retention: %v, want [8 9 10]", got)
	}
	if got := seqs(collect(t, st, store.Query{Session: "short"})); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("short session after retention: %v", got)
	}
	info, err := st.Session(ctx(t), "long")
	if err != nil {
		t.Fatal(err)
	}
	checkInfos(t, "after retention", []store.SessionInfo{info}, []store.SessionInfo{{ID: "long", Count: 3, LastSeq: 10, First: base.Add(7 * time.Second), Last: base.Add(9 * time.Second)}})
	if got := len(collectAll(t, st, store.AllQuery{})); got != 5 {
		t.Fatalf("ReadAll after retention: %d entries, want 5", got)
	}
	if next := mustAppend(t, st, text("long", 10)); next[0].Seq != 11 {
		t.Fatalf("append after retention got seq %d, want 11", next[0].Seq)
	}
	if n, err := st.Prune(ctx(t)); err != nil || n != 1 {
		t.Fatalf("second Prune: %d, %v; want 1", n, err)
	}
}

func (s *suite) retentionByAge(t *testing.T) {
	var now atomic.Int64
	now.Store(base.Add(-time.Hour).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	st := s.new(t, func(c *store.Config) {
		c.Clock, c.Retention = clock, store.Retention{MaxAge: 5 * time.Minute, Interval: time.Hour}
	})
	for i := range 10 {
		mustAppend(t, st, ev("aged", event.TextDelta{Text: "x"}, time.Duration(i)*time.Minute))
	}
	// Out-of-order times: an old event appended late goes too.
	mustAppend(t, st, ev("aged", event.TextDelta{Text: "late"}, -time.Minute))
	mustAppend(t, st, ev("old", event.TextDelta{Text: "x"}, 0))
	if n, err := st.Prune(ctx(t)); err != nil || n != 0 {
		t.Fatalf("Prune before anything is old: %d, %v", n, err)
	}
	now.Store(base.Add(10 * time.Minute).UnixNano()) // cutoff: base+5m
	n, err := st.Prune(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if n != 7 {
		t.Fatalf("Prune removed %d events, want 7", n)
	}
	if got := seqs(collect(t, st, store.Query{Session: "aged"})); !slices.Equal(got, []uint64{6, 7, 8, 9, 10}) {
		t.Fatalf("after retention by age: %v, want [6 7 8 9 10]", got)
	}
	info, err := st.Session(ctx(t), "old")
	if err != nil {
		t.Fatalf("a session whose events all expired: %v", err)
	}
	if info.Count != 0 || info.LastSeq != 1 || !info.First.IsZero() {
		t.Fatalf("emptied session: %+v, want Count 0, LastSeq 1, zero First", info)
	}
	if next := mustAppend(t, st, ev("old", event.TextDelta{Text: "y"}, 10*time.Minute)); next[0].Seq != 2 {
		t.Fatalf("emptied session: next seq %d, want 2 (sequence numbers are never reused)", next[0].Seq)
	}
	info, err = st.Session(ctx(t), "old")
	if err != nil || info.Count != 1 || !info.First.Equal(base.Add(10*time.Minute)) {
		t.Fatalf("emptied session after a new event: %+v, %v", info, err)
	}
	entries := collectAll(t, st, store.AllQuery{})
	if len(entries) != 6 {
		t.Fatalf("ReadAll after retention: %d entries, want 6", len(entries))
	}
	if last := entries[len(entries)-1]; last.Event.Meta.SessionID != "old" {
		t.Fatalf("last entry is %+v", last)
	}
}

func (s *suite) retentionBackground(t *testing.T) {
	st := s.new(t, func(c *store.Config) { c.Retention = store.Retention{MaxEvents: 1, Interval: 5 * time.Millisecond} })
	mustAppend(t, st, text("bg", 0), text("bg", 1), text("bg", 2))
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := seqs(collect(t, st, store.Query{Session: "bg"}))
		if slices.Equal(got, []uint64{3}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("background retention did not run: session holds %v", got)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// custom is a payload type that this package does not register, so a
// store must keep it as it would any unknown type.
const customType = "storetest.unknown.thing"

func (s *suite) roundTrip(t *testing.T) {
	st := s.new(t)
	// A raw payload is kept in compact form, with number spellings,
	// escapes and member order byte for byte (see event.Raw).
	rawData := json.RawMessage(`{"z":[1,2.50,{"é":"\u00e9 <&>"}],"a":null,"big":12345678901234567890}`)
	meta := event.Meta{
		SessionID: "rt", RunID: "run-1", ConversationID: "conv", TurnID: "turn", InferenceID: "inf",
		MessageID: "msg", ToolCallID: "call", RequestID: "req", ParentID: "par",
		Provider: "openai", Model: "gpt", Labels: map[string]string{"k": "v", "ünï": "cödé"},
	}
	in := []event.Event{
		event.New(event.TextDelta{Index: 1, Offset: 42, Text: "héllo \"world\"\n\t<b>&"}, meta),
		event.New(event.ToolCallCompleted{CallID: "c1", Name: "search"}, event.Meta{SessionID: "rt"}),
		event.New(event.Log{Level: "info", Message: "m", Fields: json.RawMessage(`{"a":1,"b":[true,false]}`)}, event.Meta{SessionID: "rt"}),
		event.New(event.ProviderCallFailed{Provider: "anthropic", Model: "m", Error: event.Error{Message: "boom", Code: "429", Retryable: true}, Duration: 1500 * time.Millisecond}, event.Meta{SessionID: "rt"}),
		event.New(event.Raw{Name: customType, Data: rawData}, event.Meta{SessionID: "rt", Labels: map[string]string{"x": ""}}),
	}
	in = append(in, event.New(event.Status{Status: "waiting", Message: "…"}, event.Meta{SessionID: "rt"}))
	in[0].Time = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC) // nanoseconds survive
	mustAppend(t, st, in...)
	got := collect(t, st, store.Query{Session: "rt"})
	if len(got) != len(in) {
		t.Fatalf("read %d events, want %d", len(got), len(in))
	}
	for i := range in {
		if !reflect.DeepEqual(got[i], in[i]) {
			t.Errorf("event %d:\n got %#v\nwant %#v", i, got[i], in[i])
		}
	}
	raw, ok := event.As[event.Raw](got[4])
	if !ok || string(raw.Data) != string(rawData) {
		t.Fatalf("unknown payload came back as %#v, want the raw bytes %s", got[4].Payload, rawData)
	}
	entries := collectAll(t, st, store.AllQuery{})
	for i := range entries {
		if !reflect.DeepEqual(entries[i].Event, in[i]) {
			t.Errorf("ReadAll event %d:\n got %#v\nwant %#v", i, entries[i].Event, in[i])
		}
	}
	// Encoding the read event gives the bytes of the original.
	a, _ := event.Marshal(in[4])
	b, _ := event.Marshal(got[4])
	if string(a) != string(b) {
		t.Fatalf("re-encoded unknown event differs:\n%s\n%s", a, b)
	}
	// White space between tokens, even raw line breaks, does not survive.
	spaced := json.RawMessage("{ \"z\": [1, 2.50, {\"é\":\"\\u00e9 <&>\"}],\r\n\"a\" :null , \"big\": 12345678901234567890 }")
	mustAppend(t, st, event.New(event.Raw{Name: customType, Data: spaced}, event.Meta{SessionID: "rt-spaced"}))
	back := collect(t, st, store.Query{Session: "rt-spaced"})
	if raw, ok := event.As[event.Raw](back[0]); !ok || string(raw.Data) != string(rawData) {
		t.Fatalf("spaced unknown payload came back as %#v, want the compact %s", back[0].Payload, rawData)
	}
}

func (s *suite) context(t *testing.T) {
	st := s.new(t)
	mustAppend(t, st, text("ctx", 0), text("ctx", 1), text("ctx", 2))
	c, cancel := context.WithCancel(context.Background())
	cancel()
	batch := []event.Event{text("ctx", 3)}
	if err := st.Append(c, batch); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a canceled context: %v", err)
	}
	if batch[0].Seq != 0 {
		t.Fatal("canceled Append set Seq")
	}
	if got := seqs(collect(t, st, store.Query{Session: "ctx"})); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Fatalf("after canceled Append: %v", got)
	}
	var last error
	for _, err := range st.Read(c, store.Query{Session: "ctx"}) {
		last = err
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("Read with a canceled context ended with %v", last)
	}
	last = nil
	for _, err := range st.ReadAll(c, store.AllQuery{}) {
		last = err
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("ReadAll with a canceled context ended with %v", last)
	}
	if _, err := st.Sessions(c, store.SessionQuery{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sessions with a canceled context: %v", err)
	}
	// Canceled while iterating: the iterator ends with the context's error.
	many := make([]event.Event, 1200)
	for i := range many {
		many[i] = text("ctx2", i)
	}
	mustAppend(t, st, many...)
	c2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	n := 0
	last = nil
	for _, err := range st.Read(c2, store.Query{Session: "ctx2"}) {
		if err != nil {
			last = err
			break
		}
		if n++; n == 10 {
			cancel2()
		}
	}
	if !errors.Is(last, context.Canceled) || n >= len(many) {
		t.Fatalf("Read canceled after 10 events: read %d, ended with %v", n, last)
	}
	// Many appends racing with their contexts' ends: each either stored
	// (nil) or not (an error), never half.
	var wg sync.WaitGroup
	var stored atomic.Int64
	for i := range 40 {
		wg.Go(func() {
			c, cancel := context.WithTimeout(context.Background(), time.Duration(i%5)*100*time.Microsecond)
			defer cancel()
			if err := st.Append(c, []event.Event{text("race", i), text("race", i)}); err == nil {
				stored.Add(2)
			} else if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Append: %v", err)
			}
		})
	}
	wg.Wait()
	got := collect(t, st, store.Query{Session: "race"})
	if int64(len(got)) != stored.Load() || !slices.Equal(seqs(got), span(1, uint64(len(got)))) {
		t.Fatalf("racing cancellations: %d acknowledged, %d stored (%v)", stored.Load(), len(got), seqs(got))
	}
}

func (s *suite) closed(t *testing.T) {
	st := s.new(t)
	mustAppend(t, st, text("cl", 0))
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := st.Append(ctx(t), []event.Event{text("cl", 1)}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	var last error
	for _, err := range st.Read(ctx(t), store.Query{Session: "cl"}) {
		last = err
	}
	if !errors.Is(last, store.ErrClosed) {
		t.Fatalf("Read after Close: %v", last)
	}
	last = nil
	for _, err := range st.ReadAll(ctx(t), store.AllQuery{}) {
		last = err
	}
	if !errors.Is(last, store.ErrClosed) {
		t.Fatalf("ReadAll after Close: %v", last)
	}
	if _, err := st.Sessions(ctx(t), store.SessionQuery{}); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Sessions after Close: %v", err)
	}
	if _, err := st.Session(ctx(t), "cl"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Session after Close: %v", err)
	}
	if _, err := st.Prune(ctx(t)); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Prune after Close: %v", err)
	}
}

func (s *suite) reopen(t *testing.T) {
	if s.cfg.reopen == nil {
		t.Skip("store is not durable (no Reopen given)")
	}
	st := s.new(t)
	first := mustAppend(t, st, text("keep", 0), text("keep", 1), ev("keep", event.Raw{Name: customType, Data: json.RawMessage(`[1,2]`)}, 0))
	mustAppend(t, st, text("keep2", 0))
	before := collectAll(t, st, store.AllQuery{})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2 := s.cfg.reopen(t, st)
	t.Cleanup(func() { _ = st2.Close() })
	if st2.Epoch() != st.Epoch() {
		t.Errorf("epoch after reopen = %d, want %d (the same log)", st2.Epoch(), st.Epoch())
	}
	got := collect(t, st2, store.Query{Session: "keep"})
	if len(got) != 3 || !reflect.DeepEqual(got, first) {
		t.Fatalf("after reopen:\n got %#v\nwant %#v", got, first)
	}
	if next := mustAppend(t, st2, text("keep", 5)); next[0].Seq != 4 {
		t.Fatalf("after reopen next seq is %d, want 4", next[0].Seq)
	}
	after := collectAll(t, st2, store.AllQuery{After: before[len(before)-1].Pos})
	if len(after) != 1 || after[0].Pos <= before[len(before)-1].Pos {
		t.Fatalf("after reopen positions go on: %+v after %d", after, before[len(before)-1].Pos)
	}
	infos, err := st2.Sessions(ctx(t), store.SessionQuery{})
	if err != nil || len(infos) != 2 || infos[0].Count != 4 || infos[0].LastSeq != 4 {
		t.Fatalf("Sessions after reopen: %+v, %v", infos, err)
	}
}
