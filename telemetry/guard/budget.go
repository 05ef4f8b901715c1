package guard

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// Budget stops a run when its tokens (input plus output) or its cost pass
// a limit. It counts the provider calls of the events published through
// it: usage reports while a call streams (so that a runaway answer is
// stopped mid-stream) and the final usage and cost of each completed call.
// Publish the events of one run through it.
//
// When the budget is passed it publishes context.token_budget_exceeded (or
// guard.cost_budget_exceeded), after the event that passed it, and calls
// stop with an error wrapping ErrBudgetExceeded, once.
type Budget struct {
	base
	stop context.CancelCauseFunc

	mu       sync.Mutex
	done     int64            // tokens of ended calls
	inflight map[string]int64 // tokens reported so far by calls still streaming
	cost     float64
	tripped  bool
}

// NewBudget returns a Budget that passes events on to next and calls stop
// when passed. It needs WithMaxTokens, WithMaxCost or both.
func NewBudget(next sluice.Sink, stop context.CancelCauseFunc, opts ...Option) (*Budget, error) {
	b, err := newBase("budget", next, opts, "WithMaxTokens", "WithMaxCost")
	if err != nil {
		return nil, err
	}
	if stop == nil || (b.cfg.maxTokens == 0 && b.cfg.maxCost == 0) {
		return nil, fmt.Errorf("guard: budget: %w: needs a stop function and WithMaxTokens or WithMaxCost", ErrInvalid)
	}
	return &Budget{base: b, stop: stop, inflight: map[string]int64{}}, nil
}

// Enabled implements sluice.Sink: it reports true for usage reports, the
// ends of provider calls, and what the wrapped sink wants.
func (b *Budget) Enabled(ctx context.Context, t event.Type) bool {
	return b.enabled(ctx, t, t == event.TypeUsageReported || t == event.TypeProviderCallCompleted || t == event.TypeProviderCallFailed)
}

// Publish implements sluice.Sink: it passes ev on, then counts it.
func (b *Budget) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return nilEvent("budget")
	}
	err := b.forward(ctx, ev)
	p, cause := b.count(ev)
	if p != nil {
		err = errors.Join(err, b.emit(ctx, ev.Meta, p))
		b.stop(cause)
	}
	return err
}

func (b *Budget) count(ev *event.Event) (event.Payload, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tripped {
		return nil, nil
	}
	id := ev.Meta.InferenceID
	switch p := ev.Payload.(type) {
	case event.UsageReported:
		n := p.Usage.InputTokens + p.Usage.OutputTokens
		if p.Usage.Cumulative {
			b.inflight[id] = n
		} else {
			b.inflight[id] += n
		}
	case event.ProviderCallCompleted:
		delete(b.inflight, id)
		b.done += p.Usage.InputTokens + p.Usage.OutputTokens
		if !p.CostUnknown {
			b.cost += p.Cost
		}
	case event.ProviderCallFailed:
		// What a failed call streamed was used: it stays counted.
		b.done += b.inflight[id]
		delete(b.inflight, id)
	default:
		return nil, nil
	}
	tokens := b.done
	for _, n := range b.inflight {
		tokens += n
	}
	switch {
	case b.cfg.maxTokens > 0 && tokens > b.cfg.maxTokens:
		b.tripped = true
		return event.ContextTokenBudgetExceeded{RequiredTokens: tokens, Budget: b.cfg.maxTokens, Excess: tokens - b.cfg.maxTokens},
			fmt.Errorf("%w: %d tokens, budget %d", ErrBudgetExceeded, tokens, b.cfg.maxTokens)
	case b.cfg.maxCost > 0 && b.cost > b.cfg.maxCost:
		b.tripped = true
		return event.CostBudgetExceeded{Cost: b.cost, Budget: b.cfg.maxCost},
			fmt.Errorf("%w: cost $%.6f, budget $%.6f", ErrBudgetExceeded, b.cost, b.cfg.maxCost)
	}
	return nil, nil
}
