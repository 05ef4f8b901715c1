package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// checkSession checks that sess holds count events numbered 1..count and
// that its summary agrees.
func checkSession(t *testing.T, st store.Store, sess string, count int) {
	t.Helper()
	got := collect(t, st, store.Query{Session: sess})
	if want := span(1, uint64(count)); !slices.Equal(seqs(got), want) {
		t.Fatalf("session %s holds seqs %v, want %v", sess, seqs(got), want)
	}
	info, err := st.Session(ctx(t), sess)
	if err != nil {
		t.Fatal(err)
	}
	if info.Count != uint64(count) || info.LastSeq != uint64(count) {
		t.Fatalf("session %s: Count %d, LastSeq %d, want %d and %d", sess, info.Count, info.LastSeq, count, count)
	}
}

// dedupBatch: an ID that comes twice in one call is stored once, and both
// copies get its sequence number.
func (s *suite) dedupBatch(t *testing.T) {
	st := s.new(t)
	a, b, c := text("d", 0), text("d", 1), text("d", 2)
	got := mustAppend(t, st, a, b, a, c, b)
	if want := []uint64{1, 2, 1, 3, 2}; !slices.Equal(seqs(got), want) {
		t.Fatalf("Append gave seqs %v, want %v", seqs(got), want)
	}
	checkSession(t, st, "d", 3)
	if head, err := st.Head(ctx(t)); err != nil || head != 3 {
		t.Fatalf("Head = %d, %v; want 3 (a duplicate takes no position)", head, err)
	}
}

// dedupAcross: an event appended again in a later call (a producer's retry)
// is acknowledged with the sequence number it has and not stored again,
// also among new events and older than the newest stored ID; an ID is
// unique per session, so the same ID in another session is another event.
func (s *suite) dedupAcross(t *testing.T) {
	st := s.new(t)
	// IDs are UUIDv7, increasing: b was made after a.
	a, b := text("d", 0), text("d", 1)
	mustAppend(t, st, b)
	mustAppend(t, st, a) // an ID below the newest stored one is still new
	c := text("d", 2)
	got := mustAppend(t, st, a, c, b)
	if want := []uint64{2, 3, 1}; !slices.Equal(seqs(got), want) {
		t.Fatalf("retry gave seqs %v, want %v", seqs(got), want)
	}
	got = mustAppend(t, st, b, a, c)
	if want := []uint64{1, 2, 3}; !slices.Equal(seqs(got), want) {
		t.Fatalf("second retry gave seqs %v, want %v", seqs(got), want)
	}
	checkSession(t, st, "d", 3)
	other := a
	other.Meta.SessionID = "other"
	if got := mustAppend(t, st, other); got[0].Seq != 1 {
		t.Fatalf("the same ID in another session got seq %d, want 1", got[0].Seq)
	}
	checkSession(t, st, "other", 1)
	stored := collect(t, st, store.Query{Session: "d"})
	if stored[0].ID != b.ID || stored[1].ID != a.ID || stored[2].ID != c.ID {
		t.Fatalf("stored IDs %v %v %v, want b a c", stored[0].ID, stored[1].ID, stored[2].ID)
	}
}

// dedupConcurrent: many producers retry the same batches at once; every
// copy of an event gets the same sequence number, and each is stored once.
func (s *suite) dedupConcurrent(t *testing.T) {
	st := s.new(t)
	const producers, batches, size = 8, 10, 5
	var want [][]event.Event
	for i := range batches {
		var b []event.Event
		for j := range size {
			b = append(b, text("d", i*size+j))
		}
		want = append(want, b)
	}
	got := make([][][]event.Event, producers)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for _, b := range want {
				b = slices.Clone(b)
				if err := st.Append(ctx(t), b); err != nil {
					t.Error(err)
					return
				}
				got[p] = append(got[p], b)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	seqOf := map[uuid.UUID]uint64{}
	for p := range got {
		for _, b := range got[p] {
			for _, e := range b {
				if seq, ok := seqOf[e.ID]; ok && seq != e.Seq {
					t.Fatalf("event %s got seqs %d and %d", e.ID, seq, e.Seq)
				}
				seqOf[e.ID] = e.Seq
			}
		}
	}
	checkSession(t, st, "d", batches*size)
	for _, e := range collect(t, st, store.Query{Session: "d"}) {
		if seqOf[e.ID] != e.Seq {
			t.Fatalf("event %s is stored with seq %d, acknowledged with %d", e.ID, e.Seq, seqOf[e.ID])
		}
	}
}

// dedupReopen: the IDs stored before Close are recognized after reopening.
func (s *suite) dedupReopen(t *testing.T) {
	if s.cfg.reopen == nil {
		t.Skip("store is not durable (no Reopen given)")
	}
	st := s.new(t)
	a, b := text("d", 0), text("d", 1)
	mustAppend(t, st, a, b)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st2 := s.cfg.reopen(t, st)
	t.Cleanup(func() { _ = st2.Close() })
	c := text("d", 2)
	got := mustAppend(t, st2, b, c, a)
	if want := []uint64{2, 3, 1}; !slices.Equal(seqs(got), want) {
		t.Fatalf("retry after reopen gave seqs %v, want %v", seqs(got), want)
	}
	checkSession(t, st2, "d", 3)
}

// dedupDeleted: after Delete, the session's IDs are not stored any more:
// the same events appended again start the session anew.
func (s *suite) dedupDeleted(t *testing.T) {
	st := s.new(t)
	a, b := text("d", 0), text("d", 1)
	mustAppend(t, st, a, b)
	if err := st.Delete(ctx(t), "d"); err != nil {
		t.Fatal(err)
	}
	got := mustAppend(t, st, b, a, b)
	if want := []uint64{1, 2, 1}; !slices.Equal(seqs(got), want) {
		t.Fatalf("append after Delete gave seqs %v, want %v", seqs(got), want)
	}
	checkSession(t, st, "d", 2)
}

// dedupReport: a store.DupReporter names exactly the duplicates of each
// call, within the call and across calls, and nil when all are new.
func (s *suite) dedupReport(t *testing.T) {
	st := s.new(t)
	d, ok := st.(store.DupReporter)
	if !ok {
		t.Skip("the store is not a store.DupReporter")
	}
	a, b, c, e := text("r", 0), text("r", 1), text("r", 2), text("r", 3)
	other := a
	other.Meta.SessionID = "r2"
	for i, step := range []struct {
		events []event.Event
		dups   []int
		seqs   []uint64
	}{
		{[]event.Event{a, b}, nil, []uint64{1, 2}},
		{[]event.Event{a, c, a, other}, []int{0, 2}, []uint64{1, 3, 1, 1}},
		{[]event.Event{e, b, c, e}, []int{1, 2, 3}, []uint64{4, 2, 3, 4}},
		{[]event.Event{c}, []int{0}, []uint64{3}},
	} {
		dups, err := d.AppendDups(ctx(t), step.events)
		if err != nil {
			t.Fatalf("call %d: AppendDups: %v", i, err)
		}
		if !slices.Equal(dups, step.dups) || !slices.Equal(seqs(step.events), step.seqs) {
			t.Fatalf("call %d: AppendDups gave duplicates %v and seqs %v, want %v and %v", i, dups, seqs(step.events), step.dups, step.seqs)
		}
	}
	checkSession(t, st, "r", 4)
	if _, err := d.AppendDups(ctx(t), []event.Event{{}}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("AppendDups of an invalid event: %v, want ErrInvalid", err)
	}
}
