// Package bus is Sluice's in-process event bus: it fans events out to
// subscriptions, in order and without loss unless a subscriber asks for
// lossy delivery.
//
// A Bus is a sluice.Sink. Subscribe registers a Handler for the event types
// matching an event.Pattern ("tool.call.completed", "tool.call.*",
// "message.>", event.All for everything), optionally narrowed by predicates
// (WithFilter, WithSession).
//
// A handler is asynchronous by default: the subscription has its own bounded
// FIFO queue and one goroutine, so it sees the events of each publisher in
// the order they were published, and a slow handler never delays another
// subscriber. When the queue is full its Policy (WithPolicy) decides: Block (the default)
// makes the publisher wait, bounded by the publisher's context, so that
// nothing is lost; DropNewest and DropOldest discard an event instead, count
// it, and tell the handler how many events it missed with an event.Dropped
// event just before the next event it receives. A WithSync handler runs in the
// publisher's goroutine instead, inside Publish, in subscription order: the
// semantics of hooks.
//
// A panicking handler is recovered, counted and reported (WithLogger,
// WithPanicHandler); the publisher and the other subscribers do not notice, and an
// asynchronous subscription goes on with its next event.
//
// Close stops the bus: it refuses new events and subscriptions, and delivers
// every event it had accepted before it returns.
//
// Publishing costs nothing when nobody listens: Publish and Enabled read a
// copy-on-write table of subscriptions without a lock, and with no
// subscription Publish returns at once without allocating. Per event type,
// the table caches the matching subscriptions, so patterns are matched once
// per type, not once per event; the cache keeps its own copies of type
// names, so it never keeps an event's memory alive. Asynchronous delivery
// hands events over in batches: the publisher copies an event into the
// subscription's queue under a short lock and wakes the subscription's
// goroutine only if it is parked; the goroutine takes every waiting event
// per wake-up.
//
// # Options
//
// New and Subscribe take functional options (WithLogger, WithQueue,
// WithPolicy, …) over an unexported configuration, the style of every
// Sluice package: the zero configuration is the documented default, a call
// site names only what it changes, options can be added without breaking
// callers, and each option checks its value, so that an invalid one (a
// queue of 0, a nil option) is an error wrapping ErrInvalid at
// construction, never silently ignored.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/option"
)

// ErrClosed is returned (wrapped) by Publish and Subscribe once the bus is
// closed.
var ErrClosed = errors.New("bus: closed")

// Handler receives events. ev belongs to the bus and is valid only during the
// call: a handler that keeps the event copies *ev, and it never modifies it.
// ctx is the publisher's context for a synchronous handler; an asynchronous handler
// gets a context of the bus, canceled when Close gives up waiting.
type Handler func(ctx context.Context, ev *event.Event)

// Bus fans events out to subscriptions. Create it with New; it is safe for
// concurrent use. A Bus implements sluice.Sink.
type Bus struct {
	tab atomic.Pointer[table]

	mu      sync.Mutex // serializes Subscribe, Cancel and Close
	nextID  uint64
	closed  atomic.Bool
	running map[*Subscription]struct{} // async subscriptions whose goroutine runs

	ctx    context.Context // handed to asynchronous handlers
	cancel context.CancelFunc
	cfg    config
}

// table is an immutable snapshot of the subscriptions, replaced as a whole
// on Subscribe, Cancel and Close. Only its match cache changes.
type table struct {
	subs   []*Subscription // in subscription order
	closed bool
	idle   bool // no subscriptions, not closed: Publish has nothing to do

	// The match cache, keyed by the type's name: cache is read without a
	// lock and replaced as a whole; new entries wait in pending, under mu,
	// until they are merged into a new cache. A merge happens once pending,
	// or the lookups that had to lock mu, are as many as cache's entries,
	// so each new type costs O(1) copies, amortized.
	cache   atomic.Pointer[map[event.Type][]*Subscription]
	mu      sync.Mutex
	pending map[event.Type][]*Subscription
	locked  int // lookups answered from pending since the last merge
}

// maxCached bounds the match cache; past it, the cache starts over.
const maxCached = 1024

// maxCachedLen is the longest type name the match cache keeps; longer ones
// are matched on every event. With maxCached it bounds the cache's memory.
const maxCachedLen = 256

// match returns the subscriptions whose pattern matches typ, in subscription
// order. The result is shared and must not be modified.
//
// Pattern matching runs once per type and table: a map keyed by the type's
// name, read without a lock, keeps the answers. The map's keys are its own
// copies, never the caller's string, which may be a piece of a big decoded
// document. (An earlier cache keyed by the address of the string's bytes
// saved a hash per lookup but did not pay on events decoded from the wire;
// see BenchmarkPublishDecoded in BENCHMARKS.md.)
func (t *table) match(typ event.Type) []*Subscription {
	if m := t.cache.Load(); m != nil {
		if subs, ok := (*m)[typ]; ok {
			return subs
		}
	}
	if len(typ) > maxCachedLen {
		return t.scan(typ)
	}
	return t.miss(typ)
}

// miss is match for a type not in the cache: it finds or adds the type's
// entry in pending.
func (t *table) miss(typ event.Type) []*Subscription {
	t.mu.Lock()
	defer t.mu.Unlock()
	if subs, ok := t.pending[typ]; ok {
		t.locked++
		t.merge()
		return subs
	}
	m := t.cache.Load()
	if m != nil {
		if subs, ok := (*m)[typ]; ok {
			return subs // merged meanwhile
		}
	}
	subs := t.scan(typ)
	if m != nil && len(*m)+len(t.pending) >= maxCached {
		t.cache.Store(nil) // start over
		t.pending, t.locked = nil, 0
	}
	if t.pending == nil {
		t.pending = make(map[event.Type][]*Subscription)
	}
	t.pending[event.Type(strings.Clone(string(typ)))] = subs
	t.merge()
	return subs
}

// merge moves pending into a new cache once it is worth the copy; t.mu is
// held.
func (t *table) merge() {
	var n int
	m := t.cache.Load()
	if m != nil {
		n = len(*m)
	}
	if len(t.pending) < max(n, 8) && t.locked < max(n, 8) {
		return
	}
	next := make(map[event.Type][]*Subscription, n+len(t.pending))
	if m != nil {
		maps.Copy(next, *m)
	}
	maps.Copy(next, t.pending)
	t.cache.Store(&next)
	t.pending, t.locked = nil, 0
}

// scan matches typ against every subscription's pattern.
func (t *table) scan(typ event.Type) []*Subscription {
	var subs []*Subscription
	for _, s := range t.subs {
		if s.pattern.Match(typ) {
			subs = append(subs, s)
		}
	}
	return subs
}

// New returns an open Bus with no subscriptions. A nil or invalid option
// gives an error wrapping ErrInvalid.
func New(opts ...Option) (*Bus, error) {
	b := &Bus{running: make(map[*Subscription]struct{})}
	if err := option.Apply(&b.cfg, opts, ErrInvalid); err != nil {
		return nil, fmt.Errorf("bus: new: %w", err)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.tab.Store(&table{idle: true})
	return b, nil
}

// Enabled reports whether some subscription's pattern matches t. It takes no
// lock and, once t was seen, does no pattern matching. Predicates (WithFilter,
// WithSession) are not consulted, since they need the event: Enabled may report
// true for an event that no predicate accepts. After Close it reports false.
func (b *Bus) Enabled(_ context.Context, t event.Type) bool {
	tab := b.tab.Load()
	if len(tab.subs) == 0 {
		return false
	}
	return len(tab.match(t)) > 0
}

// Publish hands ev to every subscription that wants it: it runs the matching
// synchronous handlers, in subscription order, and copies ev into the queue of each
// matching asynchronous subscription. ev still belongs to the caller when
// Publish returns.
//
// When an asynchronous subscription with the Block policy has a full queue,
// Publish waits for room; if ctx ends first it returns an error wrapping
// ctx.Err(). After Close, or when Close ends the wait, it returns an error
// wrapping ErrClosed. With such an error ev may have reached the
// subscriptions before the one that refused it, but no later ones. A nil ev
// gives sluice.ErrNilEvent. With no matching subscription Publish does
// nothing and allocates nothing.
func (b *Bus) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return sluice.ErrNilEvent
	}
	if b.tab.Load().idle {
		return nil
	}
	return b.publish(ctx, ev)
}

func (b *Bus) publish(ctx context.Context, ev *event.Event) error {
	t := b.tab.Load()
	if t.closed {
		return ErrClosed
	}
	for _, s := range t.match(ev.Type) {
		if !s.wants(ev) {
			continue
		}
		if s.q == nil {
			if s.cancelled.Load() {
				continue
			}
			if b.closed.Load() {
				return fmt.Errorf("%w: publish %s", ErrClosed, ev.Type)
			}
			s.handed.Add(1)
			s.call(ctx, ev)
			continue
		}
		if err := s.q.push(ctx, ev); err != nil {
			if err == errQueueClosed {
				if s.cancelled.Load() {
					continue // the subscription went away meanwhile
				}
				return fmt.Errorf("%w: publish %s", ErrClosed, ev.Type)
			}
			return fmt.Errorf("bus: publish %s: %w", ev.Type, err)
		}
	}
	return nil
}

// Subscribe registers h for the events whose type matches pattern (made
// with event.ParsePattern or event.MustPattern: an exact type, "*" for one
// segment, ">" for the rest; event.All for everything). The zero Pattern
// gives an error wrapping event.ErrPattern and ErrInvalid; a nil handler or
// a nil or invalid option gives an error wrapping ErrInvalid; a closed bus
// gives ErrClosed.
//
// Without options the subscription is asynchronous with a queue of
// DefaultQueue events and the Block policy. A subscription receives the
// events published after Subscribe returns, until it is cancelled.
//
// A handler may publish to the bus, subscribe and cancel, but an
// asynchronous handler that publishes into its own full Block queue waits
// for itself: it would stay blocked until its context (the bus's) ends.
func (b *Bus) Subscribe(pattern event.Pattern, h Handler, opts ...SubscribeOption) (*Subscription, error) {
	if pattern.IsZero() {
		return nil, fmt.Errorf("bus: subscribe: %w: %w: zero pattern", ErrInvalid, event.ErrPattern)
	}
	if h == nil {
		return nil, fmt.Errorf("bus: subscribe: %w", invalidf("nil handler"))
	}
	cfg := subscribeConfig{queue: DefaultQueue}
	err := option.Apply(&cfg, opts, ErrInvalid)
	if err == nil && cfg.sync && cfg.async != "" {
		err = invalidf("%s does not apply to a synchronous subscription", cfg.async)
	}
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe %s: %w", pattern, err)
	}
	s := &Subscription{
		bus:     b,
		pattern: pattern,
		handler: h,
		filters: cfg.filters,
		session: cfg.session,
		bySess:  cfg.bySess,
		policy:  cfg.policy,
		done:    make(chan struct{}),
	}
	if !cfg.sync {
		s.q = &queue{capacity: cfg.queue, policy: cfg.policy, wake: make(chan struct{}, 1)}
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return nil, ErrClosed
	}
	b.nextID++
	s.id = b.nextID
	old := b.tab.Load()
	subs := make([]*Subscription, len(old.subs), len(old.subs)+1)
	copy(subs, old.subs)
	b.tab.Store(&table{subs: append(subs, s)})
	if s.q != nil {
		b.running[s] = struct{}{}
		go s.run()
	}
	return s, nil
}

// remove takes s out of the table; b.mu is held.
func (b *Bus) remove(s *Subscription) {
	old := b.tab.Load()
	if old.closed {
		return
	}
	subs := make([]*Subscription, 0, len(old.subs))
	for _, o := range old.subs {
		if o != s {
			subs = append(subs, o)
		}
	}
	b.tab.Store(&table{subs: subs, idle: len(subs) == 0})
}

// Close closes the bus. Publish and Subscribe fail with ErrClosed from now
// on, and publishers waiting for room in a full queue give up with
// ErrClosed (what they had already handed over stays accepted). Close then
// waits until every asynchronous subscription has delivered every event it
// accepted, and returns nil.
//
// If ctx ends first, Close stops delivery: each subscription's goroutine
// ends once its current handler call returns, the context handed to
// asynchronous handlers is canceled, and Close returns an error wrapping
// ctx.Err() that says how many accepted events were not delivered.
//
// Synchronous handlers already running in publishers' goroutines are not waited
// for. Do not call Close from an asynchronous handler: it would wait for
// that very handler. Closing a closed bus waits again and returns nil once
// everything was delivered.
func (b *Bus) Close(ctx context.Context) error {
	b.mu.Lock()
	if !b.closed.Load() {
		b.closed.Store(true)
		old := b.tab.Load()
		b.tab.Store(&table{closed: true})
		for _, s := range old.subs {
			if s.q == nil {
				s.finishSync()
			} else {
				s.q.close()
			}
		}
	}
	running := make([]*Subscription, 0, len(b.running))
	for s := range b.running {
		running = append(running, s)
	}
	b.mu.Unlock()

	for _, s := range running {
		select {
		case <-s.done:
		case <-ctx.Done():
			var lost uint64
			for _, s := range running {
				lost += s.abort()
			}
			b.cancel()
			return fmt.Errorf("bus: close: %d accepted events not delivered: %w", lost, ctx.Err())
		}
	}
	b.cancel()
	return nil
}

// Stats returns totals over the bus's current subscriptions: the sums of
// their Stats. Subscriptions counts them.
func (b *Bus) Stats() Stats {
	var st Stats
	for _, s := range b.tab.Load().subs {
		st.add(s.Stats())
		st.Subscriptions++
	}
	return st
}

// report tells the logger and the WithPanicHandler callback about a recovered panic.
func (b *Bus) report(s *Subscription, ev *event.Event, r any) {
	l := b.cfg.logger
	if l == nil {
		l = slog.Default()
	}
	l.Error("bus: handler panicked",
		slog.Uint64("subscription", s.id),
		slog.String("pattern", s.pattern.String()),
		slog.String("type", string(ev.Type)),
		slog.String("event_id", ev.ID.String()),
		slog.Any("panic", r),
		slog.String("stack", string(debug.Stack())))
	if f := b.cfg.onPanic; f != nil {
		func() {
			defer func() { _ = recover() }()
			f(s, ev, r)
		}()
	}
}
