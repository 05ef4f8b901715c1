package storetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// sessionIDs checks that session IDs that cannot read back byte for byte
// (invalid UTF-8, NUL) are refused everywhere, and that prefix queries are
// exact for characters that are special in SQL patterns.
func (s *suite) sessionIDs(t *testing.T) {
	st := s.new(t)
	for _, id := range []string{"bad\xffutf8", "nul\x00x", "\x00", "\xc3"} {
		err := st.Append(ctx(t), []event.Event{text("fine", 0), text(id, 0)})
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("Append to session %q: %v, want ErrInvalid", id, err)
		}
		if _, err := st.Session(ctx(t), id); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("Session(%q): %v, want ErrInvalid", id, err)
		}
		for _, err := range st.Read(ctx(t), store.Query{Session: id}) {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("Read of session %q: %v, want ErrInvalid", id, err)
			}
		}
		for _, err := range st.ReadAll(ctx(t), store.AllQuery{SessionPrefix: id}) {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("ReadAll with session prefix %q: %v, want ErrInvalid", id, err)
			}
		}
		if _, err := st.Sessions(ctx(t), store.SessionQuery{Prefix: id}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("Sessions with prefix %q: %v, want ErrInvalid", id, err)
		}
		if _, err := st.Sessions(ctx(t), store.SessionQuery{After: id}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("Sessions after %q: %v, want ErrInvalid", id, err)
		}
	}
	if infos, err := st.Sessions(ctx(t), store.SessionQuery{}); err != nil || len(infos) != 0 {
		t.Fatalf("refused batches stored sessions: %+v, %v", infos, err)
	}

	ids := []string{"g*1", "g?1", "g[1]", "g[x", "g]1", "g%1", "g_1", `g\1`, "gx1", "G*1", "gé1", "g^1", "g-1"}
	for _, id := range ids {
		mustAppend(t, st, text(id, 0))
	}
	cases := map[string][]string{
		"g*":    {"g*1"},
		"g?":    {"g?1"},
		"g[":    {"g[1]", "g[x"},
		"g[1":   {"g[1]"},
		"g[1]":  {"g[1]"},
		"g]":    {"g]1"},
		"g%":    {"g%1"},
		"g_":    {"g_1"},
		`g\`:    {`g\1`},
		"G":     {"G*1"},
		"gé":    {"gé1"},
		"g^":    {"g^1"},
		"g[^":   nil,
		"g[a-z": nil,
		"g*2":   nil,
	}
	for prefix, want := range cases {
		infos, err := st.Sessions(ctx(t), store.SessionQuery{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, si := range infos {
			got = append(got, si.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Sessions with prefix %q: %q, want %q", prefix, got, want)
		}
		got = nil
		for _, e := range collectAll(t, st, store.AllQuery{SessionPrefix: prefix}) {
			got = append(got, e.Event.Meta.SessionID)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("ReadAll with session prefix %q: sessions %q, want %q", prefix, got, want)
		}
	}
	for _, id := range ids {
		got := collect(t, st, store.Query{Session: id})
		if len(got) != 1 || got[0].Meta.SessionID != id {
			t.Errorf("Read of session %q: %d events (%+v)", id, len(got), got)
		}
	}
}
