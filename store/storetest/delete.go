package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/sluice-events/sluice/store"
)

// deleteSession checks Delete: the session's events and summary go, the
// other sessions stay, positions are not reused, a new session of the same
// ID starts again at 1, and an unknown, invalid or closed case fails with
// the right sentinel.
func (s *suite) deleteSession(t *testing.T) {
	st := s.new(t)
	mustAppend(t, st, text("del", 0), text("keep", 0), text("del", 1), text("keep", 1))
	before := collectAll(t, st, store.AllQuery{})
	if err := st.Delete(ctx(t), "del"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got := collect(t, st, store.Query{Session: "del"}); len(got) != 0 {
		t.Fatalf("Read after Delete: %d events", len(got))
	}
	if _, err := st.Session(ctx(t), "del"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Session after Delete: %v", err)
	}
	infos, err := st.Sessions(ctx(t), store.SessionQuery{})
	if err != nil || len(infos) != 1 || infos[0].ID != "keep" || infos[0].Count != 2 {
		t.Fatalf("Sessions after Delete: %+v, %v", infos, err)
	}
	all := collectAll(t, st, store.AllQuery{})
	if len(all) != 2 || all[0].Event.Meta.SessionID != "keep" || all[1].Pos != before[3].Pos {
		t.Fatalf("ReadAll after Delete: %+v", all)
	}
	// The ID can be used again; it starts at 1, after every old position.
	again := mustAppend(t, st, text("del", 5), text("del", 6))
	if got := seqs(collect(t, st, store.Query{Session: "del"})); !slices.Equal(got, []uint64{1, 2}) || again[0].Seq != 1 {
		t.Fatalf("a deleted session used again has seqs %v", got)
	}
	if all := collectAll(t, st, store.AllQuery{}); all[len(all)-2].Pos <= before[len(before)-1].Pos {
		t.Fatalf("positions reused after Delete: %+v", all)
	}
	if err := st.Delete(ctx(t), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete of an unknown session: %v", err)
	}
	if err := st.Delete(ctx(t), "a\x00b"); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("Delete of an invalid ID: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx(t), "keep"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Delete after Close: %v", err)
	}
}
