package hub

import (
	"context"
	"fmt"
	"iter"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
)

// seamStore runs during (if set) after a read of the store took its
// snapshot and before the reader sees it: appends committed meanwhile.
type seamStore struct {
	store.Store
	during func()
}

func (s *seamStore) Read(ctx context.Context, q store.Query) iter.Seq2[event.Event, error] {
	var evs []event.Event
	var errs []error
	for ev, err := range s.Store.Read(ctx, q) {
		evs, errs = append(evs, ev), append(errs, err)
	}
	if fn := s.during; fn != nil {
		fn()
	}
	return func(yield func(event.Event, error) bool) {
		for i := range evs {
			if !yield(evs[i], errs[i]) {
				return
			}
		}
	}
}

func (s *seamStore) ReadAll(ctx context.Context, q store.AllQuery) iter.Seq2[store.Entry, error] {
	if q.Limit == tailBatch {
		return s.Store.ReadAll(ctx, q) // the tailer's reads pass
	}
	fn := s.during
	if fn == nil {
		return s.Store.ReadAll(ctx, q)
	}
	var es []store.Entry
	var errs []error
	for e, err := range s.Store.ReadAll(ctx, q) {
		es, errs = append(es, e), append(errs, err)
	}
	fn()
	return func(yield func(store.Entry, error) bool) {
		for i := range es {
			if !yield(es[i], errs[i]) {
				return
			}
		}
	}
}

// TestSeam is the seam argument of the package doc as a property: over
// random interleavings of appends to a few sessions, feeds that start at
// random cursors, read a little, stop and resume after their last cursor,
// every feed sees exactly the events after its cursor, in order, once.
// A tiny window makes feeds fall behind it and go back to the store.
func TestSeam(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		mem, err := memory.New()
		if err != nil {
			rt.Fatal(err)
		}
		defer mem.Close()
		st := &seamStore{Store: mem}
		window := rapid.IntRange(1, 12).Draw(rt, "window")
		h, err := New(st, WithWindow(window, 1<<20), WithBatch(rapid.IntRange(1, 5).Draw(rt, "batch")), WithPoll(0))
		if err != nil {
			rt.Fatal(err)
		}
		defer h.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()

		sessions := []string{"a", "b", "c"}
		var log []event.Event // every appended event, in position order
		type reader struct {
			feed *Feed
			sel  Selector
			seen []uint64 // cursors delivered
		}
		var readers []*reader
		want := func(r *reader, after uint64) []uint64 {
			var out []uint64
			for pos, ev := range log {
				cur := uint64(pos + 1)
				if r.sel.Session != "" {
					if ev.Meta.SessionID != r.sel.Session {
						continue
					}
					cur = ev.Seq
				}
				if !r.sel.Types.IsZero() && !r.sel.Types.Match(ev.Type) {
					continue
				}
				if cur > after {
					out = append(out, cur)
				}
			}
			return out
		}
		types := []event.Pattern{{}, event.MustPattern("message.text.delta"), event.MustPattern("agent.>")}
		steps := rapid.IntRange(1, 40).Draw(rt, "steps")
		for range steps {
			switch rapid.IntRange(0, 3).Draw(rt, "op") {
			case 0, 1: // append a batch
				n := rapid.IntRange(1, 6).Draw(rt, "n")
				batch := make([]event.Event, n)
				for i := range batch {
					s := rapid.SampledFrom(sessions).Draw(rt, "session")
					if rapid.Bool().Draw(rt, "info") {
						batch[i] = event.New(event.Info{Message: "x"}, event.Meta{SessionID: s})
					} else {
						batch[i] = event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: s})
					}
				}
				if err := h.Append(ctx, batch); err != nil {
					rt.Fatal(err)
				}
				log = append(log, batch...)
			case 2: // a new reader at a random cursor
				sel := Selector{Types: rapid.SampledFrom(types).Draw(rt, "types")}
				if rapid.Bool().Draw(rt, "one session") {
					sel.Session = rapid.SampledFrom(sessions).Draw(rt, "feed session")
				}
				after := uint64(rapid.IntRange(0, len(log)+2).Draw(rt, "after"))
				f, err := h.Subscribe(sel, after)
				if err != nil {
					rt.Fatal(err)
				}
				r := &reader{feed: f, sel: sel}
				r.seen = append(r.seen, after) // the starting cursor, dropped when checking
				readers = append(readers, r)
			case 3: // a reader reads what is ready, then maybe reconnects
				if len(readers) == 0 {
					continue
				}
				r := rapid.SampledFrom(readers).Draw(rt, "reader")
				// Appends commit, and the tailer reads them, while
				// the feed reads the store: the seam.
				n := rapid.IntRange(0, 4).Draw(rt, "appends during the read")
				st.during = func() {
					st.during = nil
					for range n {
						e := event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: rapid.SampledFrom(sessions).Draw(rt, "session")})
						one := []event.Event{e}
						if err := h.Append(ctx, one); err != nil {
							rt.Fatal(err)
						}
						log = append(log, one[0])
					}
					for {
						head, _ := mem.Head(ctx)
						h.tail.mu.RLock()
						caught := h.tail.head >= head || !h.tail.ready
						h.tail.mu.RUnlock()
						if caught {
							return
						}
						time.Sleep(100 * time.Microsecond)
					}
				}
				items, err := r.feed.Poll(ctx, nil)
				st.during = nil
				if err != nil {
					rt.Fatal(err)
				}
				for _, it := range items {
					r.seen = append(r.seen, it.Cursor)
				}
				if rapid.Bool().Draw(rt, "reconnect") {
					cur := r.feed.Cursor()
					r.feed.Close()
					if r.feed, err = h.Subscribe(r.sel, cur); err != nil {
						rt.Fatal(err)
					}
				}
			}
		}
		// Drain every reader and compare with the log.
		for i, r := range readers {
			exp := want(r, r.seen[0])
			for len(r.seen)-1 < len(exp) {
				// The tailer reads appends in its own goroutine: wait.
				it, err := r.feed.Next(ctx)
				if err != nil {
					rt.Fatalf("reader %d: %v after %v, want %v", i, err, r.seen[1:], exp)
				}
				r.seen = append(r.seen, it.Cursor)
			}
			got := r.seen[1:]
			if fmt.Sprint(got) != fmt.Sprint(exp) {
				rt.Fatalf("reader %d (%+v after %d): got cursors %v, want %v", i, r.sel, r.seen[0], got, exp)
			}
			r.feed.Close()
		}
	})
}
