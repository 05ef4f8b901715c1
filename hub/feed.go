package hub

import (
	"context"
	"fmt"
	"iter"
	"sort"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// Selector says what a feed follows.
type Selector struct {
	// Session, if set, makes a feed over that one session, whose cursor is
	// the session's sequence number.
	Session string
	// Types keeps only events whose type matches; the zero Pattern keeps
	// every type.
	Types event.Pattern
	// SessionPrefix, for a feed over all sessions (Session empty), keeps
	// only sessions whose ID starts with it.
	SessionPrefix string
}

func (s *Selector) match(ev *event.Event) bool {
	if s.Session != "" {
		if ev.Meta.SessionID != s.Session {
			return false
		}
	} else if id := ev.Meta.SessionID; len(id) < len(s.SessionPrefix) || id[:len(s.SessionPrefix)] != s.SessionPrefix {
		return false
	}
	return store.MatchTypes(s.Types, ev.Type)
}

// Item is one event of a feed with the cursor to resume after it.
type Item struct {
	// Cursor is the event's sequence number in its session for a session
	// feed, or its store-wide position for a feed over all sessions.
	// Subscribing again with after = Cursor continues with the next event.
	Cursor uint64
	// Event is the event, with its Seq set. Feeds share events read from
	// the live window: treat the payload as read-only.
	Event event.Event

	json []byte // the window's encoding, shared by every feed
}

// JSON returns the event's JSON encoding (as event.Event.AppendJSON makes
// it). An item from the live window carries the encoding the hub made once
// for every feed, which JSON returns as it is: do not modify it. Otherwise
// the event is encoded into scratch (from scratch[:0]), so a caller that
// keeps scratch between calls encodes without allocating.
func (it *Item) JSON(scratch []byte) ([]byte, error) {
	if it.json != nil {
		return it.json, nil
	}
	return it.Event.AppendJSON(scratch[:0])
}

// Feed follows the events a Selector picks, in order, from a cursor on. It
// is for one goroutine at a time: its methods must not be called
// concurrently.
//
// Next and All wait for events. Poll and Notify are for servers that hold
// many idle feeds without a goroutine each: Poll takes what is ready, and
// Notify asks for a call back when more may be.
type Feed struct {
	h      *Hub
	sel    Selector
	last   uint64          // cursor of the last event read
	given  uint64          // cursor of the last event returned to the caller
	scan   uint64          // window position up to which everything was seen
	inTail bool            // caught up: reading the window
	wake   <-chan struct{} // closed when more may be ready, from the last Poll
	buf    []Item
	next   int
	closed bool
}

// Subscribe returns a feed of the events sel picks that come after the
// cursor after (0 for the beginning): first those already stored, then each
// new one as it is appended, each exactly once and in order. Close the feed
// when done with it.
func (h *Hub) Subscribe(sel Selector, after uint64) (*Feed, error) {
	if sel.Session != "" && sel.SessionPrefix != "" {
		return nil, ErrSelector
	}
	if h.isClosed() {
		return nil, ErrClosed
	}
	if sel.Session != "" {
		h.tail.attach(sel.Session)
	}
	return &Feed{h: h, sel: sel, last: after, given: after}, nil
}

// Cursor returns the cursor of the last event the feed returned (or the
// starting cursor): subscribing again after it continues where this feed
// stopped.
func (f *Feed) Cursor() uint64 { return f.given }

// Close releases the feed: a pending Notify is cancelled and later calls
// return ErrClosed. It is idempotent.
func (f *Feed) Close() {
	if f.closed {
		return
	}
	f.closed = true
	f.h.tail.unnotify(f)
	if f.sel.Session != "" {
		f.h.tail.detach(f.sel.Session)
	}
}

// Next returns the next event, waiting for one to be appended if needed. It
// returns ctx's error if ctx ends first, and an error wrapping ErrClosed
// once the hub (or the feed) is closed and every stored event was returned.
func (f *Feed) Next(ctx context.Context) (Item, error) {
	for {
		if f.next < len(f.buf) {
			it := f.buf[f.next]
			f.buf[f.next] = Item{}
			f.next++
			f.given = it.Cursor
			return it, nil
		}
		var err error
		f.buf, err = f.poll(ctx, f.buf[:0])
		f.next = 0
		if len(f.buf) > 0 {
			continue // an error comes back at the next call
		}
		if err != nil {
			return Item{}, err
		}
		select {
		case <-f.wake:
		case <-f.h.tail.done:
		case <-ctx.Done():
			return Item{}, ctx.Err()
		}
	}
}

// All returns an iterator over the feed's events until ctx ends or the hub
// closes; the error that stopped it is yielded last, unless the loop broke
// first.
func (f *Feed) All(ctx context.Context) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		for {
			it, err := f.Next(ctx)
			if err != nil {
				yield(Item{}, err)
				return
			}
			if !yield(it, nil) {
				return
			}
		}
	}
}

// Poll appends to out the events that are ready now, in order, without
// waiting for new ones: up to the hub's batch size from the store, or what
// the live window holds. With none ready it returns out unchanged and a nil
// error; then Notify asks for a call back when more may be ready. Once the
// hub is closed and everything stored was returned, Poll returns an error
// wrapping ErrClosed. Items come with an error only if the error hit after
// them; the cursor has moved past them either way.
func (f *Feed) Poll(ctx context.Context, out []Item) ([]Item, error) {
	n := len(out)
	out, err := f.poll(ctx, out)
	if len(out) > n {
		f.given = out[len(out)-1].Cursor
	}
	return out, err
}

func (f *Feed) poll(ctx context.Context, out []Item) ([]Item, error) {
	if f.closed {
		return out, fmt.Errorf("feed: %w", ErrClosed)
	}
	if f.next < len(f.buf) {
		// Items Next buffered come first.
		for ; f.next < len(f.buf); f.next++ {
			out = append(out, f.buf[f.next])
			f.buf[f.next] = Item{}
		}
		return out, nil
	}
	t := f.h.tail
	if err := t.ensure(ctx); err != nil {
		return out, fmt.Errorf("feed: finding the end of the log: %w", err)
	}
	select {
	case <-t.done:
		t.wg.Wait() // the tailer's last read is done: the window is final
	default:
	}
	for {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if !f.inTail {
			n := len(out)
			t.mu.RLock()
			head, ready := t.head, t.ready
			t.mu.RUnlock()
			var full bool
			var err error
			out, full, err = f.readStore(ctx, out)
			if err != nil || full {
				return out, err
			}
			if ready {
				t.mu.RLock()
				if head >= t.base {
					f.inTail, f.scan = true, head
				}
				t.mu.RUnlock()
			}
			if len(out) > n {
				return out, nil
			}
			if !f.inTail {
				if !ready {
					// The hub closed before it followed the log:
					// the store was all there is.
					return out, fmt.Errorf("feed: %w", ErrClosed)
				}
				continue // the window moved on while we read: read again
			}
		}
		n := len(out)
		var wake <-chan struct{}
		t.mu.RLock()
		if f.scan < t.base {
			// Fell behind the window: catch up from the store.
			t.mu.RUnlock()
			f.inTail = false
			continue
		}
		if f.sel.Session != "" {
			wake = t.wake
			if s := t.sess[f.sel.Session]; s != nil {
				ents := s.ents
				i := sort.Search(len(ents), func(i int) bool { return ents[i].pos > f.scan })
				for ; i < len(ents) && len(out)-n < f.h.cfg.batch; i++ {
					e := ents[i]
					if e.ev.Seq > f.last && store.MatchTypes(f.sel.Types, e.ev.Type) {
						out = append(out, Item{Cursor: e.ev.Seq, Event: e.ev, json: e.json})
						f.last = e.ev.Seq
					}
				}
				if i == len(ents) {
					f.scan = t.head
				} else {
					f.scan = ents[i-1].pos
				}
				wake = s.wake
			} else {
				f.scan = t.head
			}
		} else {
			i := sort.Search(t.n, func(i int) bool { return t.at(i).pos > f.scan })
			for ; i < t.n && len(out)-n < f.h.cfg.batch; i++ {
				e := t.at(i)
				f.scan = e.pos
				if e.pos > f.last && f.sel.match(&e.ev) {
					out = append(out, Item{Cursor: e.pos, Event: e.ev, json: e.json})
					f.last = e.pos
				}
			}
			if i == t.n {
				f.scan = t.head
			}
			wake = t.wake
		}
		stopped := t.stopped
		t.mu.RUnlock()
		if len(out) > n {
			return out, nil
		}
		if stopped {
			return out, fmt.Errorf("feed: %w", ErrClosed)
		}
		f.wake = wake
		return out, nil
	}
}

// Notify arranges for fn to be called once, from another goroutine, when
// events may be ready for the feed after a Poll that returned none, or
// when the hub closes; then Poll again. It reports false, arranging
// nothing, if events may be ready already: Poll at once. No goroutine
// waits meanwhile. Close cancels a pending Notify.
func (f *Feed) Notify(fn func()) bool {
	if f.closed {
		return false
	}
	return f.h.tail.notify(f, f.wake, fn)
}

// readStore reads the next batch after the cursor from the store; full
// reports a full batch (more may follow).
func (f *Feed) readStore(ctx context.Context, out []Item) ([]Item, bool, error) {
	n := 0
	batch := f.h.cfg.batch
	if f.sel.Session != "" {
		q := store.Query{Session: f.sel.Session, After: f.last, Types: f.sel.Types, Limit: batch}
		for ev, err := range f.h.st.Read(ctx, q) {
			if err != nil {
				return out, false, fmt.Errorf("feed: read session %q after %d: %w", f.sel.Session, f.last, err)
			}
			out = append(out, Item{Cursor: ev.Seq, Event: ev})
			f.last = ev.Seq
			n++
		}
	} else {
		q := store.AllQuery{After: f.last, Types: f.sel.Types, SessionPrefix: f.sel.SessionPrefix, Limit: batch}
		for e, err := range f.h.st.ReadAll(ctx, q) {
			if err != nil {
				return out, false, fmt.Errorf("feed: read after position %d: %w", f.last, err)
			}
			out = append(out, Item{Cursor: e.Pos, Event: e.Event})
			f.last = e.Pos
			n++
		}
	}
	return out, n == batch, nil
}
