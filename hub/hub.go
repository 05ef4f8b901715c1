// Package hub joins the durable log and the bus: publishing through a Hub
// appends events to a store.Store (which numbers them) and then fans them
// out, and a Feed follows a session, or every session, from any point in
// its history into the live stream without a gap or a duplicate.
//
// A hub is the one way to follow the log: Sluice's server, its CLI and
// remote nodes all read through feeds, and so can any program.
//
// # How a feed follows the log
//
// A Feed keeps a cursor: a session's sequence number, or the store-wide
// position for a feed over all sessions. It first reads what comes after
// its cursor from the store, in batches. Once it has caught up it reads
// from the hub's live window instead: one tailer per hub reads every newly
// appended event from the store once, encodes it to JSON once, and keeps
// the newest ones in memory, indexed by session, waking only the feeds of
// the sessions that changed. A feed that falls behind the window goes back
// to the store, so a slow reader costs producers nothing and nothing is
// buffered per feed. Because positions strictly increase in commit order,
// the window is always a contiguous stretch of the log, and a feed that
// notes the tailer's position before it reads the store can move into the
// window without a gap or a duplicate (TestSeam checks this over random
// interleavings).
//
// The tailer starts with the first feed that needs it and stops with the
// hub. Appends through the hub wake it at once. Appends made elsewhere
// (another node sharing a PostgreSQL database or a JetStream stream) wake
// it at once too when the store is a store.Watcher (store/jetstream and
// store/postgres are); then polling is only a slow fallback (WatchPoll).
// With other stores they are found by polling (WithPoll).
//
// # Options
//
// Hubs are configured with functional options over an unexported config,
// the style of every Sluice package: New checks every value and refuses a
// bad one with an error wrapping ErrInvalid.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/option"
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
	// ErrInvalid reports an invalid argument to New: a nil store or an
	// invalid option value.
	ErrInvalid = errors.New("hub: invalid argument")
	// ErrSelector reports a Selector that sets both Session and SessionPrefix.
	ErrSelector = errors.New("hub: a selector takes a session or a session prefix, not both")
)

// Defaults of the options.
const (
	DefaultBatch        = 512
	DefaultPoll         = time.Second
	DefaultWindowEvents = 16_384
	DefaultWindowBytes  = 64 << 20
)

type config struct {
	bus         *bus.Bus
	batch       int
	poll        time.Duration
	coalesce    time.Duration
	windowN     int
	windowBytes int
	logger      *slog.Logger
}

// Option configures a Hub.
type Option func(*config) error

// WithBus makes the hub fan appended events out to b instead of a bus of
// its own. The caller keeps b: Close does not close it.
func WithBus(b *bus.Bus) Option {
	return func(c *config) error {
		if b == nil {
			return fmt.Errorf("%w: WithBus(nil)", ErrInvalid)
		}
		c.bus = b
		return nil
	}
}

// WithPoll sets how often the hub looks in the store for events that did
// not come through it: appends by another process sharing a PostgreSQL
// database, or by code that writes to the store directly. The default is
// one second; 0 turns polling off, for a store only this hub writes to or
// one that is a store.Watcher. With a store.Watcher polling is a fallback
// that runs at most every WatchPoll.
// Appends through the hub are seen at once either way.
func WithPoll(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: WithPoll(%v): negative interval", ErrInvalid, d)
		}
		c.poll = d
		return nil
	}
}

// WithBatch sets how many events a feed reads from the store at a time
// (default 512).
func WithBatch(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: WithBatch(%d): want at least 1", ErrInvalid, n)
		}
		c.batch = n
		return nil
	}
}

// WithWindow sizes the live window that caught-up feeds read from: at most
// events events and about bytes bytes of their JSON (defaults 16,384 and
// 64 MiB). A feed further behind than the window reads from the store.
func WithWindow(events, bytes int) Option {
	return func(c *config) error {
		if events <= 0 || bytes <= 0 {
			return fmt.Errorf("%w: WithWindow(%d, %d): want positive sizes", ErrInvalid, events, bytes)
		}
		c.windowN, c.windowBytes = events, bytes
		return nil
	}
}

// WithCoalesce sets the shortest time between two wake-ups of the feeds
// (default 0: every append wakes them). Under load, a few milliseconds let
// each wake-up carry many events, which servers with thousands of
// streaming clients want.
func WithCoalesce(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: WithCoalesce(%v): negative interval", ErrInvalid, d)
		}
		c.coalesce = d
		return nil
	}
}

// WithLogger sets the logger for delivery problems (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("%w: WithLogger(nil)", ErrInvalid)
		}
		c.logger = l
		return nil
	}
}

// Hub is a store with live fan-out. It is safe for concurrent use and
// implements sluice.Sink.
type Hub struct {
	st     store.Store
	bus    *bus.Bus
	ownBus bool // the hub made bus, so Close closes it
	cfg    config
	tail   *tail

	mu     sync.Mutex
	closed bool
	unsure unsure
}

// New returns a hub over st. The hub does not own st: close the hub first,
// then the store.
func New(st store.Store, opts ...Option) (*Hub, error) {
	if st == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalid)
	}
	cfg := config{batch: DefaultBatch, poll: DefaultPoll, windowN: DefaultWindowEvents, windowBytes: DefaultWindowBytes}
	if err := option.Apply(&cfg, opts, ErrInvalid); err != nil {
		return nil, err
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	h := &Hub{st: st, bus: cfg.bus, cfg: cfg}
	if h.bus == nil {
		b, err := bus.New()
		if err != nil {
			return nil, err
		}
		h.bus, h.ownBus = b, true
	}
	h.tail = newTail(h)
	return h, nil
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
		return fmt.Errorf("hub: %w (%w)", sluice.ErrNilEvent, store.ErrInvalid)
	}
	batch := [1]event.Event{*ev}
	return h.Append(ctx, batch[:])
}

// Append appends events to the store, which sets each one's Seq, wakes the
// feeds, and publishes the events to the hub's bus. If the store refuses the
// batch, nothing is stored or published and the store's error is returned.
// If the events are stored but the bus cannot take them all, Append returns
// an error wrapping ErrNotDelivered: do not append them again.
//
// An event whose ID the store already holds in its session (a producer's
// retry; see store.Store) is not stored again and gets the Seq it has. If
// the store is a store.DupReporter (every store of Sluice is), such a
// duplicate is not published to the bus again either, so bus subscribers
// see each event once, as feeds do; with another store it is published
// again. An append that failed may still have stored its events (an
// answer lost on the way back from a remote log): the hub remembers the
// IDs of the last maxUnsure events of failed appends, and publishes such an
// event when a retry finds it stored, since nobody published it then.
func (h *Hub) Append(ctx context.Context, events []event.Event) error {
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return ErrClosed
	}
	var dups []int
	var err error
	if d, ok := h.st.(store.DupReporter); ok {
		dups, err = d.AppendDups(ctx, events)
	} else {
		err = h.st.Append(ctx, events)
	}
	if err != nil {
		h.unsure.add(events)
		return err
	}
	dups = h.unsure.settle(events, dups)
	if len(dups) == len(events) {
		return nil // nothing new: nothing to wake or publish
	}
	h.tail.kick()
	for i := range events {
		if len(dups) > 0 && dups[0] == i {
			dups = dups[1:]
			continue
		}
		if err := h.bus.Publish(ctx, &events[i]); err != nil {
			return fmt.Errorf("%w: %w", ErrNotDelivered, err)
		}
	}
	return nil
}

// maxUnsure bounds how many events of failed appends a hub remembers.
const maxUnsure = 4096

// unsureKey is an event as the store de-duplicates it: its ID in its
// session.
type unsureKey struct {
	session string
	id      uuid.UUID
}

// unsure holds the events of failed appends, which the store may have
// stored without the hub publishing them; past maxUnsure, the oldest are
// forgotten first. An append that succeeds reads one atomic counter when
// no append failed, so the common path takes no lock.
type unsure struct {
	n    atomic.Int64 // len(set)
	mu   sync.Mutex
	set  map[unsureKey]struct{}
	ring []unsureKey // the keys in the order they came, maxUnsure at most
	next int         // the ring's oldest slot, the next to reuse
}

// add remembers the events of a failed append.
func (u *unsure) add(events []event.Event) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.set == nil {
		u.set, u.ring = make(map[unsureKey]struct{}), make([]unsureKey, maxUnsure)
	}
	for i := range events {
		k := unsureKey{events[i].Meta.SessionID, events[i].ID}
		if _, ok := u.set[k]; ok {
			continue
		}
		delete(u.set, u.ring[u.next]) // forget the oldest (if still held)
		u.ring[u.next], u.next = k, (u.next+1)%maxUnsure
		u.set[k] = struct{}{}
	}
	u.n.Store(int64(len(u.set)))
}

// settle forgets the events of a successful append and returns dups (the
// indexes of the events the store already held) without those that a
// failed append stored unpublished: they are to be published now.
func (u *unsure) settle(events []event.Event, dups []int) []int {
	if u.n.Load() == 0 {
		return dups
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	keep := dups[:0:0]
	for _, i := range dups {
		if _, ok := u.set[unsureKey{events[i].Meta.SessionID, events[i].ID}]; !ok {
			keep = append(keep, i)
		}
	}
	for i := range events {
		delete(u.set, unsureKey{events[i].Meta.SessionID, events[i].ID})
	}
	u.n.Store(int64(len(u.set)))
	return keep
}

// Close stops the hub: later appends fail with ErrClosed, feeds return
// ErrClosed once they have read what was stored, and the hub's own bus is
// closed (delivering what it accepted, bounded by ctx). A bus given with
// WithBus and the store stay open.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.mu.Unlock()
	h.tail.stop()
	if !h.ownBus {
		return nil
	}
	return h.bus.Close(ctx)
}

func (h *Hub) isClosed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.closed
}
