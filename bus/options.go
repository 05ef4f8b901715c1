package bus

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/sluice-events/sluice/event"
)

// DefaultQueue is the queue capacity of an asynchronous subscription made
// without the WithQueue option.
const DefaultQueue = 1024

// ErrInvalid is wrapped (with "bus: new:" or "bus: subscribe:" in front)
// by the error New and Subscribe return for an invalid argument: a nil
// option, an option value out of range, a zero pattern (that one wraps
// event.ErrPattern too) or a nil handler.
var ErrInvalid = errors.New("invalid argument")

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Option configures a Bus; pass options to New.
type Option func(*config) error

type config struct {
	logger  *slog.Logger
	onPanic func(*Subscription, *event.Event, any)
}

// WithLogger makes the bus report recovered handler panics to l; l must not
// be nil. Without it the bus logs to slog.Default() at the time of the
// panic.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return invalidf("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithPanicHandler makes the bus call f after it recovered a panic in a
// handler: sub is the subscription whose handler panicked, ev the event it
// was handling (valid only during the call) and recovered the value recover
// returned. f runs in the goroutine the handler ran in; a panic in f is
// recovered and ignored. f must not be nil.
func WithPanicHandler(f func(sub *Subscription, ev *event.Event, recovered any)) Option {
	return func(c *config) error {
		if f == nil {
			return invalidf("nil panic handler")
		}
		c.onPanic = f
		return nil
	}
}

// SubscribeOption configures one subscription; pass options to
// Bus.Subscribe.
type SubscribeOption func(*subscribeConfig) error

type subscribeConfig struct {
	sync    bool
	queue   int
	policy  Policy
	async   string // the name of an option that applies only to asynchronous subscriptions, if given
	filters []func(*event.Event) bool
	session string
	bySess  bool
}

// WithSync makes the handler synchronous: it runs in the publisher's
// goroutine, inside Publish, and Publish returns after it (and every other
// synchronous handler matching the event, in subscription order) has
// returned. Use it for hooks that must see an event before the publisher
// goes on; a slow synchronous handler slows the publisher. WithQueue and
// WithPolicy do not apply: Subscribe refuses them with ErrInvalid.
func WithSync() SubscribeOption {
	return func(c *subscribeConfig) error { c.sync = true; return nil }
}

// WithQueue sets how many events may wait in an asynchronous subscription's
// queue, n ≥ 1 (DefaultQueue without this option). The subscription's
// goroutine takes every waiting event at once, so up to n more events may be
// in its hands, being delivered one after the other. Memory for the queue
// grows only as events wait.
func WithQueue(n int) SubscribeOption {
	return func(c *subscribeConfig) error {
		if n < 1 {
			return invalidf("queue capacity %d, want at least 1", n)
		}
		c.queue, c.async = n, "WithQueue"
		return nil
	}
}

// WithPolicy sets what an asynchronous subscription does when an event
// arrives and its queue is full: Block (the default), DropNewest or
// DropOldest.
func WithPolicy(p Policy) SubscribeOption {
	return func(c *subscribeConfig) error {
		if err := p.check(); err != nil {
			return err
		}
		c.policy, c.async = p, "WithPolicy"
		return nil
	}
}

// WithFilter adds a predicate: the subscription receives only the events
// matching its pattern for which f returns true. f runs in the publisher's
// goroutine, possibly in many at once; it must be fast, must not keep ev and
// must not modify it. Several filters must all hold. f must not be nil.
func WithFilter(f func(ev *event.Event) bool) SubscribeOption {
	return func(c *subscribeConfig) error {
		if f == nil {
			return invalidf("nil filter")
		}
		c.filters = append(c.filters, f)
		return nil
	}
}

// WithSession restricts the subscription to the events whose
// Meta.SessionID is id. It is a cheaper WithFilter.
func WithSession(id string) SubscribeOption {
	return func(c *subscribeConfig) error { c.session, c.bySess = id, true; return nil }
}

// Policy says what a bounded queue does when an event arrives and the queue
// is full. It is the one delivery-policy vocabulary of Sluice: package stream
// uses the same type for its buffers.
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

// String returns the policy's name: "block", "drop_newest" or
// "drop_oldest".
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

// ParsePolicy returns the policy named s ("block", "drop_newest" or
// "drop_oldest", as String writes them); another name gives an error
// wrapping ErrInvalid.
func ParsePolicy(s string) (Policy, error) {
	for p := Block; p <= DropOldest; p++ {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, invalidf("unknown policy %q", s)
}

// check returns an error wrapping ErrInvalid unless p is a known policy.
func (p Policy) check() error {
	if p > DropOldest {
		return invalidf("unknown %v", p)
	}
	return nil
}
