// Package guard holds sinks that act on the events of a run: a budget
// that stops a run when its tokens or cost pass a limit, a loop detector
// that stops a run calling the same tool with the same arguments again and
// again, and a circuit breaker that refuses provider calls after too many
// failures.
//
// A guard wraps the sink a run publishes to: it passes every event on,
// watches the ones it cares about, and acts by publishing an event of its
// own to the same sink and, for a budget or a loop, by canceling the run's
// context with a cause:
//
//	ctx, stop := context.WithCancelCause(ctx)
//	budget, err := guard.NewBudget(b, stop, guard.WithMaxTokens(50_000))
//	em := sluice.NewEmitter(budget, meta)
//	… run with ctx and em; context.Cause(ctx) wraps guard.ErrBudgetExceeded if it tripped
//
// A guard that is not attached costs nothing: there is no global hook.
package guard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/option"
)

// Errors a guard cancels a run with (wrapped, with details), and the
// sentinel for invalid options.
var (
	ErrBudgetExceeded = errors.New("guard: budget exceeded")
	ErrLoop           = errors.New("guard: tool call loop")
	ErrOpen           = errors.New("guard: circuit open")
	ErrInvalid        = errors.New("invalid argument")
)

// Option configures a guard. Each constructor accepts the options that
// mean something for its guard (and WithClock) and refuses the others with
// ErrInvalid.
type Option func(*config) error

type config struct {
	now       func() time.Time
	maxTokens int64
	maxCost   float64
	repeats   int
	failures  int
	window    time.Duration
	cooldown  time.Duration
	set       map[string]bool
}

func (c *config) mark(name string) {
	if c.set == nil {
		c.set = map[string]bool{}
	}
	c.set[name] = true
}

// only refuses options other than allowed, for the guard named what.
func (c *config) only(what string, allowed ...string) error {
	for name := range c.set {
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		if !ok {
			return fmt.Errorf("guard: %s: %w: %s does not apply", what, ErrInvalid, name)
		}
	}
	return nil
}

func apply(what string, opts []Option, allowed ...string) (config, error) {
	c := config{now: time.Now}
	if err := option.Apply(&c, opts, ErrInvalid); err != nil {
		return c, fmt.Errorf("guard: %s: %w", what, err)
	}
	return c, c.only(what, append(allowed, "WithClock")...)
}

// WithClock sets the clock of a guard (default time.Now), for tests.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		c.now = now
		c.mark("WithClock")
		return nil
	}
}

// WithMaxTokens sets a Budget's limit on input plus output tokens.
func WithMaxTokens(n int64) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: max tokens %d", ErrInvalid, n)
		}
		c.maxTokens = n
		c.mark("WithMaxTokens")
		return nil
	}
}

// WithMaxCost sets a Budget's limit on cost, in US dollars.
func WithMaxCost(usd float64) Option {
	return func(c *config) error {
		if !(usd > 0) {
			return fmt.Errorf("%w: max cost %v", ErrInvalid, usd)
		}
		c.maxCost = usd
		c.mark("WithMaxCost")
		return nil
	}
}

// WithRepeats sets how many calls in a row of the same tool with the same
// arguments a Loop allows before it acts (default 3: the third identical
// call trips it).
func WithRepeats(n int) Option {
	return func(c *config) error {
		if n < 2 {
			return fmt.Errorf("%w: repeats %d (at least 2)", ErrInvalid, n)
		}
		c.repeats = n
		c.mark("WithRepeats")
		return nil
	}
}

// WithFailures sets how many failures within window open a Breaker
// (default 5 in a minute).
func WithFailures(n int, window time.Duration) Option {
	return func(c *config) error {
		if n < 1 || window <= 0 {
			return fmt.Errorf("%w: %d failures in %v", ErrInvalid, n, window)
		}
		c.failures, c.window = n, window
		c.mark("WithFailures")
		return nil
	}
}

// WithCooldown sets how long an open Breaker refuses calls before it lets
// one trial call through (default 30 seconds).
func WithCooldown(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("%w: cooldown %v", ErrInvalid, d)
		}
		c.cooldown = d
		c.mark("WithCooldown")
		return nil
	}
}

// base is what every guard has: the sink it wraps and its options.
type base struct {
	next sluice.Sink
	cfg  config
}

func newBase(what string, next sluice.Sink, opts []Option, allowed ...string) (base, error) {
	c, err := apply(what, opts, allowed...)
	if err != nil {
		return base{}, err
	}
	if next == nil {
		return base{}, fmt.Errorf("guard: %s: %w: nil sink", what, ErrInvalid)
	}
	return base{next: next, cfg: c}, nil
}

// enabled reports whether the guard takes events of type t: the ones it
// watches, and the ones its sink wants.
func (b *base) enabled(ctx context.Context, t event.Type, watched bool) bool {
	return watched || b.next.Enabled(ctx, t)
}

// forward passes ev on to the wrapped sink if it wants it.
func (b *base) forward(ctx context.Context, ev *event.Event) error {
	if !b.next.Enabled(ctx, ev.Type) {
		return nil
	}
	return b.next.Publish(ctx, ev)
}

// emit publishes p with meta to the wrapped sink, with a context that is
// not canceled: the guard may be about to cancel the run's.
func (b *base) emit(ctx context.Context, meta event.Meta, p event.Payload) error {
	if !b.next.Enabled(ctx, p.EventType()) {
		return nil
	}
	ev := event.Source{Now: b.cfg.now}.New(p, meta.Clone())
	return b.next.Publish(context.WithoutCancel(ctx), &ev)
}

func nilEvent(what string) error { return fmt.Errorf("guard: %s: %w", what, sluice.ErrNilEvent) }
