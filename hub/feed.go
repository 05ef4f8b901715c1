package hub

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

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

// Item is one event of a feed with the cursor to resume after it.
type Item struct {
	// Cursor is the event's sequence number in its session for a session
	// feed, or its store-wide position for a feed over all sessions.
	// Subscribing again with after = Cursor continues with the next event.
	Cursor uint64
	// Event is the event, with its Seq set.
	Event event.Event
}

// Feed follows the events a Selector picks, in order, from a cursor on. It
// is for one goroutine: Next must not be called concurrently.
type Feed struct {
	h      *Hub
	sel    Selector
	cursor uint64
	buf    []Item
	next   int
}

// ErrSelector reports a Selector that sets both Session and SessionPrefix.
var ErrSelector = errors.New("hub: a selector takes a session or a session prefix, not both")

// Subscribe returns a feed of the events sel picks that come after the
// cursor after (0 for the beginning): first those already stored, then each
// new one as it is appended, each exactly once and in order.
func (h *Hub) Subscribe(sel Selector, after uint64) (*Feed, error) {
	if sel.Session != "" && sel.SessionPrefix != "" {
		return nil, ErrSelector
	}
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return &Feed{h: h, sel: sel, cursor: after}, nil
}

// Cursor returns the cursor of the last event Next returned (or the
// starting cursor).
func (f *Feed) Cursor() uint64 { return f.cursor }

// Next returns the next event, waiting for one to be appended if needed. It
// returns ctx's error if ctx ends first, and an error wrapping ErrClosed
// once the hub is closed and every stored event was returned.
func (f *Feed) Next(ctx context.Context) (Item, error) {
	for {
		if f.next < len(f.buf) {
			it := f.buf[f.next]
			f.buf[f.next] = Item{}
			f.next++
			f.cursor = it.Cursor
			return it, nil
		}
		// Take the wake-up channel before reading, so that an append
		// committed after the read cannot be missed.
		wake := f.h.waiter()
		n, err := f.fill(ctx)
		if err != nil {
			return Item{}, err
		}
		if n > 0 {
			continue
		}
		switch err := f.wait(ctx, wake); {
		case errors.Is(err, ErrClosed):
			// Read once more: events appended before Close still count.
			if n, err := f.fill(ctx); err != nil || n > 0 {
				if err != nil {
					return Item{}, err
				}
				continue
			}
			return Item{}, fmt.Errorf("feed: %w", ErrClosed)
		case err != nil:
			return Item{}, err
		}
	}
}

// wait blocks until an append wakes the feed, the poll interval passes, ctx
// ends (its error) or the hub closes (ErrClosed).
func (f *Feed) wait(ctx context.Context, wake <-chan struct{}) error {
	var poll <-chan time.Time
	if f.h.poll > 0 {
		t := time.NewTimer(f.h.poll)
		defer t.Stop()
		poll = t.C
	}
	select {
	case <-wake:
		return nil
	case <-poll:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-f.h.done:
		return ErrClosed
	}
}

// fill reads the next batch after the cursor from the store.
func (f *Feed) fill(ctx context.Context) (int, error) {
	f.buf, f.next = f.buf[:0], 0
	if f.sel.Session != "" {
		q := store.Query{Session: f.sel.Session, After: f.cursor, Types: f.sel.Types, Limit: f.h.batch}
		for ev, err := range f.h.st.Read(ctx, q) {
			if err != nil {
				return 0, fmt.Errorf("feed: read session %q after %d: %w", f.sel.Session, f.cursor, err)
			}
			f.buf = append(f.buf, Item{Cursor: ev.Seq, Event: ev})
		}
		return len(f.buf), nil
	}
	q := store.AllQuery{After: f.cursor, Types: f.sel.Types, SessionPrefix: f.sel.SessionPrefix, Limit: f.h.batch}
	for e, err := range f.h.st.ReadAll(ctx, q) {
		if err != nil {
			return 0, fmt.Errorf("feed: read after position %d: %w", f.cursor, err)
		}
		f.buf = append(f.buf, Item{Cursor: e.Pos, Event: e.Event})
	}
	return len(f.buf), nil
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
