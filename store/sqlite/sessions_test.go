package sqlite_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/store/sqlite"
)

// TestSessionsMatchModel: what SQLite says of its sessions (Session, and
// Sessions in both orders, whole and paged, with a prefix) is what the
// memory store says after the same appends, every few steps, wherever the
// events lie (a recent table, one being merged, events): single appends,
// batches that go into events directly, bursts that carry positions across
// activity groups, duplicates, deletions and reopening, under several merge
// settings. Afterwards every session's activity group is that of its last
// position.
func TestSessionsMatchModel(t *testing.T) {
	for _, c := range []struct {
		name      string
		at, slice int64
	}{{"never-merged", 1 << 40, 1}, {"merged-every-commit", 1, 1 << 20}, {"small-slices", 7, 2}, {"default", 0, 0}} {
		t.Run(c.name, func(t *testing.T) {
			var opts []sqlite.Option
			if c.at > 0 {
				opts = append(opts, sqlite.WithMerge(c.at, c.slice))
			}
			opts = append(opts, sqlite.WithSynchronous(sqlite.Normal))
			path := filepath.Join(t.TempDir(), "model.db")
			s := open(t, path, opts...)
			m, err := memory.New()
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, uint64(len(c.name))))
			names := []string{"a0", "a1", "a2", "a3", "b0", "b1", "b2", "c0"}
			var appended []event.Event
			both := func(evs []event.Event) {
				t.Helper()
				mine := slices.Clone(evs)
				if err := s.Append(t.Context(), mine); err != nil {
					t.Fatal(err)
				}
				if err := m.Append(t.Context(), evs); err != nil {
					t.Fatal(err)
				}
				for i := range evs {
					if mine[i].Seq != evs[i].Seq {
						t.Fatalf("event %d of the append: seq %d, the model says %d", i, mine[i].Seq, evs[i].Seq)
					}
				}
				appended = append(appended, evs...)
			}
			newEvent := func(sess string) event.Event {
				return event.New(event.TextDelta{Text: sess}, event.Meta{SessionID: sess})
			}
			const steps = 200
			for step := range steps {
				switch op := rng.IntN(20); {
				case step%25 == 24: // a burst, carrying positions on by almost a third of an activity group
					name := names[rng.IntN(len(names))]
					evs := make([]event.Event, 5000)
					for i := range evs {
						evs[i] = newEvent(name)
					}
					both(evs)
				case op < 11: // one event, as a streaming producer sends
					both([]event.Event{newEvent(names[rng.IntN(len(names))])})
				case op < 15: // a batch: a session with 4 or more goes direct
					var evs []event.Event
					for range 1 + rng.IntN(9) {
						evs = append(evs, newEvent(names[rng.IntN(3)]))
					}
					both(evs)
				case op < 17 && len(appended) > 0: // a retry of stored events, and one new
					old := appended[rng.IntN(len(appended))]
					both([]event.Event{old, newEvent(old.Meta.SessionID)})
				case op < 18: // a deleted session, whose name may come back
					name := names[rng.IntN(len(names))]
					errS, errM := s.Delete(t.Context(), name), m.Delete(t.Context(), name)
					if (errS == nil) != (errM == nil) {
						t.Fatalf("step %d: Delete(%s) = %v, the model says %v", step, name, errS, errM)
					}
					appended = slices.DeleteFunc(appended, func(e event.Event) bool { return e.Meta.SessionID == name })
				case op < 19: // reopened: the writer reads what is pending
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					s = open(t, path, opts...)
				default:
					both([]event.Event{newEvent(names[rng.IntN(len(names))])})
				}
				// Every few steps (a whole comparison under -race costs
				// about as much as 30 steps), and at the end.
				if step%5 == 4 || step == steps-1 {
					compareSessions(t, step, s, m, names)
				}
			}
			if h, err := s.Head(t.Context()); err != nil || h < 2<<14 {
				t.Fatalf("Head = %d, %v: the bursts did not cross two activity groups", h, err)
			}
			if n := staleActivity(t, path); n != 0 {
				t.Fatalf("sessions whose activity is not last_pos >> 14: %d", n)
			}
		})
	}
}

// listSessions reads q from st page by page, following the cursor of each
// full page, and fails the test (saying where, as at) after maxPages pages.
func listSessions(t *testing.T, at string, st store.Store, q store.SessionQuery, maxPages int) []store.SessionInfo {
	t.Helper()
	var all []store.SessionInfo
	for pages := 0; ; pages++ {
		if pages == maxPages {
			t.Fatalf("%s: Sessions(%+v): more pages than sessions: %+v", at, q, all)
		}
		page, err := st.Sessions(t.Context(), q)
		if err != nil {
			t.Fatalf("%s: Sessions(%+v): %v", at, q, err)
		}
		all = append(all, page...)
		if q.Limit == 0 || len(page) < q.Limit {
			return all
		}
		last := page[len(page)-1]
		if q.Order == store.ByActivity {
			q.Before = last.LastPos
		} else {
			q.After = last.ID
		}
	}
}

// staleActivity counts the sessions of the store at path whose activity
// group is not that of their last position.
func staleActivity(t *testing.T, path string) int {
	t.Helper()
	var n int
	if err := rawDB(t, path).QueryRowContext(t.Context(), "SELECT count(*) FROM sessions WHERE activity != last_pos >> 14").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// compareSessions checks that got says of its sessions what want does.
func compareSessions(t *testing.T, step int, got, want store.Store, names []string) {
	t.Helper()
	at := fmt.Sprintf("step %d", step)
	list := func(st store.Store, q store.SessionQuery) []store.SessionInfo {
		t.Helper()
		return listSessions(t, at, st, q, len(names)+1)
	}
	for _, q := range []store.SessionQuery{
		{Limit: 3}, {Prefix: "a"},
		{Order: store.ByActivity, Limit: 3}, {Order: store.ByActivity, Prefix: "b", Limit: 1},
		// at the edges of activity groups (16,384 positions)
		{Order: store.ByActivity, Before: 1 << 14, Limit: 2}, {Order: store.ByActivity, Before: 1<<14 + 1, Limit: 2},
		{Order: store.ByActivity, Before: 2 << 14}, {Order: store.ByActivity, Before: 2<<14 + 1},
	} {
		if g, w := list(got, q), list(want, q); !slices.Equal(g, w) {
			t.Fatalf("step %d: Sessions(%+v)\n got %+v\nwant %+v", step, q, g, w)
		}
	}
	for _, name := range names {
		g, errG := got.Session(t.Context(), name)
		w, errW := want.Session(t.Context(), name)
		if g != w || (errG == nil) != (errW == nil) {
			t.Fatalf("step %d: Session(%s) = %+v, %v; the model says %+v, %v", step, name, g, errG, w, errW)
		}
	}
}
