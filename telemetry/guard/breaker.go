package guard

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// Breaker is a circuit breaker for provider calls, one circuit per
// provider. It counts the provider.call.failed events it is given; after
// WithFailures failures within the window it opens: it publishes
// guard.circuit_opened and Allow refuses calls to that provider with
// ErrOpen. After the cooldown it is half-open: Allow lets one trial call
// through; if it completes, the circuit closes (guard.circuit_closed), if
// it fails, the circuit opens again.
//
// Publish the events of every run that uses the providers through it, and
// call Allow before each call.
type Breaker struct {
	base

	mu       sync.Mutex
	circuits map[string]*circuit
}

type circuit struct {
	fails    []time.Time // failures within the window, oldest first
	openedAt time.Time   // zero when closed
	trial    time.Time   // when the half-open trial call was let through
}

// NewBreaker returns a closed Breaker that passes events on to next (see
// WithFailures and WithCooldown).
func NewBreaker(next sluice.Sink, opts ...Option) (*Breaker, error) {
	b, err := newBase("breaker", next, opts, "WithFailures", "WithCooldown")
	if err != nil {
		return nil, err
	}
	if b.cfg.failures == 0 {
		b.cfg.failures, b.cfg.window = 5, time.Minute
	}
	if b.cfg.cooldown == 0 {
		b.cfg.cooldown = 30 * time.Second
	}
	return &Breaker{base: b, circuits: map[string]*circuit{}}, nil
}

// Allow reports whether a call to provider may go ahead: nil when the
// circuit is closed, or half-open and no trial call is under way (the
// caller's call is then the trial); otherwise an error wrapping ErrOpen.
func (b *Breaker) Allow(provider string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.circuits[provider]
	if c == nil || c.openedAt.IsZero() {
		return nil
	}
	now := b.cfg.now()
	wait := c.openedAt.Add(b.cfg.cooldown).Sub(now)
	if wait <= 0 && (c.trial.IsZero() || now.Sub(c.trial) >= b.cfg.cooldown) {
		c.trial = now // half-open: this call is the trial
		return nil
	}
	return fmt.Errorf("%w: %s (%d failures in %v; retry in %v)", ErrOpen, provider, len(c.fails), b.cfg.window, max(wait, 0).Round(time.Millisecond))
}

// Enabled implements sluice.Sink: it reports true for the ends of provider
// calls, and what the wrapped sink wants.
func (b *Breaker) Enabled(ctx context.Context, t event.Type) bool {
	return b.enabled(ctx, t, t == event.TypeProviderCallCompleted || t == event.TypeProviderCallFailed)
}

// Publish implements sluice.Sink: it passes ev on, then counts it.
func (b *Breaker) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return nilEvent("breaker")
	}
	err := b.forward(ctx, ev)
	var p event.Payload
	b.mu.Lock()
	switch e := ev.Payload.(type) {
	case event.ProviderCallFailed:
		p = b.failed(cmp.Or(ev.Meta.Provider, e.Provider), e.Error)
	case event.ProviderCallCompleted:
		p = b.succeeded(cmp.Or(ev.Meta.Provider, e.Provider))
	}
	b.mu.Unlock()
	if p != nil {
		err = errors.Join(err, b.emit(ctx, ev.Meta, p))
	}
	return err
}

func (b *Breaker) failed(provider string, e event.Error) event.Payload {
	c := b.circuits[provider]
	if c == nil {
		c = &circuit{}
		b.circuits[provider] = c
	}
	now := b.cfg.now()
	if !c.openedAt.IsZero() {
		if !c.trial.IsZero() { // the trial failed: open again
			c.openedAt, c.trial = now, time.Time{}
		}
		return nil
	}
	i := 0
	for i < len(c.fails) && now.Sub(c.fails[i]) > b.cfg.window {
		i++
	}
	c.fails = append(c.fails[i:], now)
	if len(c.fails) < b.cfg.failures {
		return nil
	}
	c.openedAt = now
	return event.CircuitOpened{Name: provider, Failures: len(c.fails), Window: b.cfg.window, Cooldown: b.cfg.cooldown, Error: e}
}

func (b *Breaker) succeeded(provider string) event.Payload {
	c := b.circuits[provider]
	if c == nil {
		return nil
	}
	if c.openedAt.IsZero() {
		return nil
	}
	if c.trial.IsZero() {
		return nil // a call that began before the circuit opened
	}
	delete(b.circuits, provider)
	return event.CircuitClosed{Name: provider}
}
