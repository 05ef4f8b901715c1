package storetest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// lastPositions returns each session's last position, as ReadAll shows it.
func lastPositions(t *testing.T, st store.Store) map[string]uint64 {
	t.Helper()
	last := map[string]uint64{}
	for _, e := range collectAll(t, st, store.AllQuery{}) {
		last[e.Event.Meta.SessionID] = e.Pos
	}
	return last
}

// byActivity lists every session ByActivity (with prefix) in pages of
// size, following the Before cursor, and fails on a page that breaks the
// order.
func byActivity(t *testing.T, st store.Store, prefix string, size int) []store.SessionInfo {
	t.Helper()
	var out []store.SessionInfo
	q := store.SessionQuery{Order: store.ByActivity, Prefix: prefix, Limit: size}
	for range 1000 {
		page, err := st.Sessions(ctx(t), q)
		if err != nil {
			t.Fatalf("Sessions(%+v): %v", q, err)
		}
		if len(page) > size {
			t.Fatalf("Sessions(%+v): %d sessions, more than the limit", q, len(page))
		}
		out = append(out, page...)
		if len(page) < size {
			return out
		}
		q.Before = page[len(page)-1].LastPos
	}
	t.Fatal("Sessions ByActivity: paging does not end")
	return nil
}

func ids(infos []store.SessionInfo) []string {
	out := make([]string, len(infos))
	for i, si := range infos {
		out[i] = si.ID
	}
	return out
}

// sessionsByActivityFarApart lists sessions whose last events lie next to
// each other and 17,000 positions apart, so that a store that keeps the
// activity order coarsely (PostgreSQL: by groups of 16,384 positions) is
// walked both across its groups and within one.
func (s *suite) sessionsByActivityFarApart(t *testing.T) {
	st := s.new(t)
	fill := func(n int) {
		for i := 0; i < n; i += 1000 {
			evs := make([]event.Event, min(1000, n-i))
			for j := range evs {
				evs[j] = text("filler", i+j)
			}
			mustAppend(t, st, evs...)
		}
	}
	// a 1; b 17,002; c 17,004; d 34,005; b again 34,006; e 51,007.
	for i, step := range []struct {
		gap int
		id  string
	}{{0, "a"}, {17000, "b"}, {1, "c"}, {17000, "d"}, {0, "b"}, {17000, "e"}} {
		fill(step.gap)
		mustAppend(t, st, text(step.id, i))
	}
	want := []string{"e", "filler", "b", "d", "c", "a"}
	last := lastPositions(t, st)
	if last["e"] != 51007 || last["b"] != 34006 {
		t.Fatalf("last positions %v; want e at 51007, b at 34006", last)
	}
	for _, size := range []int{1, 2, 4, 10} {
		got := byActivity(t, st, "", size)
		if !slices.Equal(ids(got), want) {
			t.Fatalf("ByActivity in pages of %d = %q, want %q", size, ids(got), want)
		}
		for _, si := range got {
			if si.LastPos != last[si.ID] {
				t.Fatalf("session %s: LastPos %d, want %d", si.ID, si.LastPos, last[si.ID])
			}
		}
	}
	for before, want := range map[uint64][]string{
		last["d"] + 1: {"d", "c", "a"},
		last["d"]:     {"c", "a"},
		32768:         {"c", "a"},
		last["c"]:     {"a"},
	} {
		got, err := st.Sessions(ctx(t), store.SessionQuery{Order: store.ByActivity, Before: before})
		if err != nil || !slices.Equal(ids(got), want) {
			t.Fatalf("ByActivity before %d = %q, %v; want %q", before, ids(got), err, want)
		}
	}
}

func (s *suite) sessionsByActivity(t *testing.T) {
	st := s.new(t)
	// Sessions s0…s9, appended to in an order that is neither their ID
	// order nor their event times' order.
	order := []int{3, 7, 1, 9, 0, 5, 2, 8, 6, 4, 7, 1, 3}
	for i, n := range order {
		e := text(fmt.Sprintf("s%d", n), 100-i) // times go backwards
		mustAppend(t, st, e)
	}
	mustAppend(t, st, text("other", 0))
	last := lastPositions(t, st)
	// Newest first: other, 3, 1, 7, 4, 6, 8, 2, 5, 0, 9.
	want := []string{"other", "s3", "s1", "s7", "s4", "s6", "s8", "s2", "s5", "s0", "s9"}
	all, err := st.Sessions(ctx(t), store.SessionQuery{Order: store.ByActivity})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(all); !slices.Equal(got, want) {
		t.Fatalf("ByActivity = %q, want %q", got, want)
	}
	for _, si := range all {
		if si.LastPos != last[si.ID] {
			t.Fatalf("session %s: LastPos %d, want %d (the position of its last event)", si.ID, si.LastPos, last[si.ID])
		}
		one, err := st.Session(ctx(t), si.ID)
		if err != nil || one.LastPos != si.LastPos || one.Count != si.Count {
			t.Fatalf("Session(%s) = %+v, %v; listed as %+v", si.ID, one, err, si)
		}
	}
	if si := all[1]; si.Count != 2 || si.LastSeq != 2 {
		t.Fatalf("s3 listed as %+v, want Count 2, LastSeq 2", si)
	}
	// Paging visits every session exactly once, in order, whatever the
	// page size.
	for _, size := range []int{1, 3, 4, 11, 20} {
		if got := ids(byActivity(t, st, "", size)); !slices.Equal(got, want) {
			t.Fatalf("ByActivity in pages of %d = %q, want %q", size, got, want)
		}
	}
	if got := ids(byActivity(t, st, "s", 2)); !slices.Equal(got, want[1:]) {
		t.Fatalf("ByActivity with prefix s in pages of 2 = %q, want %q", got, want[1:])
	}
	got, err := st.Sessions(ctx(t), store.SessionQuery{Order: store.ByActivity, Before: last["s4"], Limit: 2})
	if err != nil || !slices.Equal(ids(got), []string{"s6", "s8"}) {
		t.Fatalf("ByActivity before s4's position = %q, %v; want [s6 s8]", ids(got), err)
	}
	got, err = st.Sessions(ctx(t), store.SessionQuery{Order: store.ByActivity, Before: last["s9"]})
	if err != nil || len(got) != 0 {
		t.Fatalf("ByActivity before the oldest = %+v, %v; want nothing", got, err)
	}

	// A session that gets an event moves to the front; one that gets
	// only an event it already holds does not.
	again := mustAppend(t, st, text("s9", 200))
	mustAppend(t, st, text("s0", 201))
	mustAppend(t, st, again...)
	got, err = st.Sessions(ctx(t), store.SessionQuery{Order: store.ByActivity, Limit: 3})
	if err != nil || !slices.Equal(ids(got), []string{"s0", "s9", "other"}) {
		t.Fatalf("ByActivity after appends to s9 then s0 = %q, %v; want [s0 s9 other]", ids(got), err)
	}
	if h, err := st.Head(ctx(t)); err != nil || got[0].LastPos != h {
		t.Fatalf("the newest session's LastPos = %d, Head = %d, %v", got[0].LastPos, h, err)
	}
	// ByID still lists by ID, with LastPos.
	got, err = st.Sessions(ctx(t), store.SessionQuery{After: "s8"})
	if err != nil || !slices.Equal(ids(got), []string{"s9"}) || got[0].LastPos != all[0].LastPos+1 {
		t.Fatalf("ByID after s8 = %+v, %v", got, err)
	}

	for _, q := range []store.SessionQuery{
		{Order: store.ByActivity, After: "s1"},
		{Order: store.ByID, Before: 3},
		{Order: store.ByActivity, Before: math.MaxInt64 + 1},
		{Order: store.SessionOrder(7)},
		{Order: -1},
		{Order: store.ByActivity, Limit: -1},
	} {
		if _, err := st.Sessions(ctx(t), q); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Sessions(%+v) = %v, want ErrInvalid", q, err)
		}
	}

	if s.cfg.reopen == nil {
		return
	}
	before := byActivity(t, st, "", 4)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2 := s.cfg.reopen(t, st)
	t.Cleanup(func() { _ = st2.Close() })
	after := byActivity(t, st2, "", 4)
	if !slices.EqualFunc(before, after, func(a, b store.SessionInfo) bool { return a.ID == b.ID && a.LastPos == b.LastPos }) {
		t.Fatalf("ByActivity after reopen = %+v, want %+v", after, before)
	}
}

// sessionsByActivityRetention checks that a session emptied by retention
// keeps its place in the ByActivity order.
func (s *suite) sessionsByActivityRetention(t *testing.T) {
	var now atomic.Int64
	now.Store(base.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	st := s.new(t, func(c *store.Config) {
		c.Clock, c.Retention = clock, store.Retention{MaxAge: 5 * time.Minute, Interval: time.Hour}
	})
	mustAppend(t, st, ev("gone", event.TextDelta{Text: "x"}, 0))
	mustAppend(t, st, ev("kept", event.TextDelta{Text: "x"}, 0))
	mustAppend(t, st, ev("gone", event.TextDelta{Text: "y"}, time.Minute))
	mustAppend(t, st, ev("kept", event.TextDelta{Text: "y"}, 10*time.Minute))
	mustAppend(t, st, ev("new", event.TextDelta{Text: "y"}, 10*time.Minute))
	last := lastPositions(t, st)
	now.Store(base.Add(10 * time.Minute).UnixNano())
	if n, err := st.Prune(ctx(t)); err != nil || n != 3 {
		t.Fatalf("Prune = %d, %v; want 3", n, err)
	}
	for _, size := range []int{1, 2, 5} {
		got := byActivity(t, st, "", size)
		if !slices.Equal(ids(got), []string{"new", "kept", "gone"}) {
			t.Fatalf("ByActivity after retention in pages of %d = %+v, want new, kept, gone", size, got)
		}
		if g := got[2]; g.Count != 0 || g.LastSeq != 2 || g.LastPos != last["gone"] {
			t.Fatalf("emptied session listed as %+v, want Count 0, LastSeq 2, LastPos %d", g, last["gone"])
		}
		if k := got[1]; k.Count != 1 || k.LastPos != last["kept"] {
			t.Fatalf("kept session listed as %+v, want Count 1, LastPos %d", k, last["kept"])
		}
	}
	mustAppend(t, st, ev("gone", event.TextDelta{Text: "z"}, 11*time.Minute))
	got, err := st.Sessions(ctx(t), store.SessionQuery{Order: store.ByActivity, Limit: 1})
	if err != nil || len(got) != 1 || got[0].ID != "gone" || got[0].LastSeq != 3 || got[0].Count != 1 {
		t.Fatalf("after a new event in the emptied session: %+v, %v", got, err)
	}
}

// lastPosMigration opens data in a layout without LastPos (with sessions
// emptied by retention) and checks that the sessions list by activity as
// if the store had always kept it.
func (s *suite) lastPosMigration(t *testing.T) {
	if s.cfg.legacy == nil {
		t.Skip("the store has no earlier layout (see WithLegacyReopen)")
	}
	var now atomic.Int64
	now.Store(base.UnixNano())
	st := s.new(t, func(c *store.Config) {
		c.Clock = func() time.Time { return time.Unix(0, now.Load()) }
		c.Retention = store.Retention{MaxAge: time.Hour, Interval: time.Hour}
	})
	for _, e := range []event.Event{
		ev("gone2", event.TextDelta{Text: "x"}, 0), ev("gone", event.TextDelta{Text: "x"}, time.Minute),
		ev("b", event.TextDelta{Text: "x"}, 2*time.Hour), ev("a", event.TextDelta{Text: "x"}, 2*time.Hour),
		ev("gone", event.TextDelta{Text: "x"}, 2*time.Minute), ev("b", event.TextDelta{Text: "x"}, 3*time.Hour),
	} {
		mustAppend(t, st, e)
	}
	now.Store(base.Add(90 * time.Minute).UnixNano())
	if n, err := st.Prune(ctx(t)); err != nil || n != 3 {
		t.Fatalf("Prune = %d, %v; want 3", n, err)
	}
	before := map[string]store.SessionInfo{}
	all, err := st.Sessions(ctx(t), store.SessionQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, si := range all {
		before[si.ID] = si
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2 := s.cfg.legacy(t, st)
	t.Cleanup(func() { _ = st2.Close() })
	got := byActivity(t, st2, "", 100)
	if !slices.Equal(ids(got), []string{"b", "a", "gone", "gone2"}) {
		t.Fatalf("ByActivity after the migration = %+v, want b, a, gone, gone2", got)
	}
	// Sessions that hold events get their real last position back; the
	// emptied ones distinct positions below, oldest last.
	for _, si := range got {
		want := before[si.ID]
		if si.Count != want.Count || si.LastSeq != want.LastSeq || !si.Last.Equal(want.Last) ||
			(si.Count > 0 && si.LastPos != want.LastPos) {
			t.Fatalf("session %s after the migration = %+v, want %+v", si.ID, si, want)
		}
	}
	for _, size := range []int{1, 3} {
		if paged := byActivity(t, st2, "", size); !slices.Equal(paged, got) {
			t.Fatalf("paging by %d after the migration = %+v, want %+v", size, paged, got)
		}
	}
	mustAppend(t, st2, ev("gone2", event.TextDelta{Text: "x"}, 4*time.Hour))
	head, err := st2.Head(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	first, err := st2.Sessions(ctx(t), store.SessionQuery{Order: store.ByActivity, Limit: 1})
	if err != nil || len(first) != 1 || first[0].ID != "gone2" || first[0].LastPos != head || first[0].LastSeq != 2 {
		t.Fatalf("after an append to gone2: %+v, %v; want gone2 first at position %d", first, err, head)
	}
}
