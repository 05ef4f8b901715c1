// Package hub joins the durable log and the bus: publishing through a Hub
// appends events to a store.Store (which numbers them) and then fans them
// out, and a Feed follows a session, or every session, from any point in
// its history into the live stream without a gap or a duplicate.
//
// A Feed keeps a cursor (a session's sequence number, or the store-wide
// position for a feed over all sessions) and always reads what comes after
// it from the store, in batches; appends only wake it. So a feed that
// starts in the past reads history, then follows new events as they are
// committed, and a reader that falls behind is never a problem for
// producers: it simply reads more from the store when it gets to it. The
// seam between history and live events cannot produce a gap or a duplicate,
// because there is no seam: both come from the log, after the cursor.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// Errors, for errors.Is.
var (
	// ErrClosed reports use of a closed hub or feed.
	ErrClosed = errors.New("hub: closed")
	// ErrNotDelivered reports events that were stored durably but could not
	// all be handed to the hub's bus subscribers (their context ended or
	// the bus closed). Feeds still get them, from the store.
	ErrNotDelivered = errors.New("hub: stored, but not delivered to every bus subscriber")
)

// Hub is a store with live fan-out. It is safe for concurrent use and
// implements sluice.Sink.
type Hub struct {
	st     store.Store
	bus    *bus.Bus
	ownBus bool // the hub made bus, so Close closes it
	batch  int
	poll   time.Duration
	logger *slog.Logger

	mu     sync.Mutex
	wake   chan struct{} // closed and replaced after every append
	closed bool
	done   chan struct{}
}

// Option configures a Hub.
type Option func(*Hub)

// WithBus makes the hub fan appended events out to b instead of a bus of
// its own. The caller keeps b: Close does not close it.
func WithBus(b *bus.Bus) Option { return func(h *Hub) { h.bus = b } }

// WithPoll sets how often a waiting feed looks in the store for events that
// did not come through this hub: appends by another process sharing a
// PostgreSQL database, or by code that writes to the store directly.
// The default is one second; 0 turns polling off, for a store only this hub
// writes to. Appends through the hub wake feeds at once either way.
func WithPoll(d time.Duration) Option {
	return func(h *Hub) {
		if d >= 0 {
			h.poll = d
		}
	}
}

// WithBatch sets how many events a feed reads from the store at a time
// (default 512).
func WithBatch(n int) Option {
	return func(h *Hub) {
		if n > 0 {
			h.batch = n
		}
	}
}

// WithLogger sets the logger for delivery problems (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(h *Hub) { h.logger = l } }

// New returns a hub over st. The hub does not own st: close the hub first,
// then the store.
func New(st store.Store, opts ...Option) *Hub {
	h := &Hub{st: st, batch: 512, poll: time.Second, wake: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(h)
	}
	if h.bus == nil {
		h.bus, _ = bus.New() // without options New cannot fail
		h.ownBus = true
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	return h
}

// Store returns the hub's store.
func (h *Hub) Store() store.Store { return h.st }

// Bus returns the bus the hub fans appended events out to. Subscribe to it
// for live events only: they carry their Seq, and each producer's events
// arrive in the order it appended them, but events that different
// goroutines append at once may reach the bus in another order than their
// sequence numbers. Use Subscribe on the hub for a feed in sequence order
// that starts anywhere in the past and never misses an event.
func (h *Hub) Bus() *bus.Bus { return h.bus }

// Enabled implements sluice.Sink: a hub logs every event.
func (h *Hub) Enabled(context.Context, event.Type) bool { return true }

// Publish implements sluice.Sink: it appends a copy of ev (ev itself is not
// changed) and fans it out. See Append.
func (h *Hub) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return fmt.Errorf("%w: nil event", store.ErrInvalid)
	}
	batch := [1]event.Event{*ev}
	return h.Append(ctx, batch[:])
}

// Append appends events to the store, which sets each one's Seq, wakes the
// feeds, and publishes the events to the hub's bus. If the store refuses the
// batch, nothing is stored or published and the store's error is returned.
// If the events are stored but the bus cannot take them all, Append returns
// an error wrapping ErrNotDelivered: do not append them again.
func (h *Hub) Append(ctx context.Context, events []event.Event) error {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := h.st.Append(ctx, events); err != nil {
		return err
	}
	h.notify()
	var errs []error
	for i := range events {
		if err := h.bus.Publish(ctx, &events[i]); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrNotDelivered, errors.Join(errs...))
	}
	return nil
}

// notify wakes every feed waiting for new events.
func (h *Hub) notify() {
	h.mu.Lock()
	close(h.wake)
	h.wake = make(chan struct{})
	h.mu.Unlock()
}

// waiter returns the channel the next append closes.
func (h *Hub) waiter() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.wake
}

// Close stops the hub: later appends fail with ErrClosed, waiting feeds
// return ErrClosed once they have read what was stored, and the hub's own
// bus is closed (delivering what it accepted, bounded by ctx). A bus given
// with WithBus and the store stay open.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	close(h.done)
	h.mu.Unlock()
	if !h.ownBus {
		return nil
	}
	return h.bus.Close(ctx)
}
