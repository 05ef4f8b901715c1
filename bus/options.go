package bus

import (
	"fmt"
	"log/slog"

	"github.com/sluice-events/sluice/event"
)

// DefaultQueue is the queue capacity of an asynchronous subscription made
// without the Queue option.
const DefaultQueue = 1024

// Option configures a Bus; pass options to New.
type Option func(*options)

type options struct {
	logger  *slog.Logger
	onPanic func(*Subscription, *event.Event, any)
}

// WithLogger makes the bus report recovered handler panics to l. Without it
// (or with a nil l) the bus logs to slog.Default() at the time of the panic.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// OnPanic makes the bus call f after it recovered a panic in a handler: sub
// is the subscription whose handler panicked, ev the event it was handling
// (valid only during the call) and recovered the value recover returned. f
// runs in the goroutine the handler ran in; a panic in f is recovered and
// ignored.
func OnPanic(f func(sub *Subscription, ev *event.Event, recovered any)) Option {
	return func(o *options) { o.onPanic = f }
}

// SubscribeOption configures one subscription; pass options to
// Bus.Subscribe. Policy values (Block, DropNewest, DropOldest) are
// SubscribeOptions themselves.
type SubscribeOption interface {
	apply(*subConfig)
}

type subConfig struct {
	sync    bool
	queue   int
	policy  Policy
	filters []func(*event.Event) bool
	session string
	bySess  bool
}

type subOptionFunc func(*subConfig)

func (f subOptionFunc) apply(c *subConfig) { f(c) }

// Sync makes the handler synchronous: it runs in the publisher's goroutine,
// inside Publish, and Publish returns after it (and every other synchronous
// handler matching the event, in subscription order) has returned. Use it for
// hooks that must see an event before the publisher goes on; a slow
// synchronous handler slows the publisher. Queue and Policy do not apply.
func Sync() SubscribeOption {
	return subOptionFunc(func(c *subConfig) { c.sync = true })
}

// Queue sets how many events may wait in an asynchronous subscription's
// queue, n ≥ 1 (DefaultQueue without this option). The subscription's
// goroutine takes every waiting event at once, so up to n more events may be
// in its hands, being delivered one after the other. Memory for the queue
// grows only as events wait.
func Queue(n int) SubscribeOption {
	return subOptionFunc(func(c *subConfig) { c.queue = n })
}

// Where adds a predicate: the subscription receives only the events
// matching its pattern for which f returns true. f runs in the publisher's
// goroutine, possibly in many at once; it must be fast, must not keep ev and
// must not modify it. Several Where options must all hold.
func Where(f func(ev *event.Event) bool) SubscribeOption {
	return subOptionFunc(func(c *subConfig) {
		if f != nil {
			c.filters = append(c.filters, f)
		}
	})
}

// Session restricts the subscription to the events whose Meta.SessionID is
// id. It is a cheaper Where.
func Session(id string) SubscribeOption {
	return subOptionFunc(func(c *subConfig) { c.session, c.bySess = id, true })
}

// Policy says what an asynchronous subscription does when an event arrives
// and its queue is full. A Policy is a SubscribeOption: pass Block,
// DropNewest or DropOldest to Subscribe.
type Policy uint8

const (
	// Block makes the publisher wait until the queue has room, as long as
	// the publisher's context allows. Nothing is lost. It is the default.
	Block Policy = iota
	// DropNewest discards the arriving event and keeps the queue as it is.
	DropNewest
	// DropOldest discards the oldest waiting event to make room for the
	// arriving one.
	DropOldest
)

func (p Policy) apply(c *subConfig) { c.policy = p }

// String returns the policy's name.
func (p Policy) String() string {
	switch p {
	case Block:
		return "block"
	case DropNewest:
		return "drop_newest"
	case DropOldest:
		return "drop_oldest"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}
