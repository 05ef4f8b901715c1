package instrument

import (
	"context"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// Validate runs the validator fn (named validator, of the given kind: input,
// output, …) and emits validation.started, then validation.passed when fn
// reports no violations and no error, or validation.failed with the
// violations and the error. It returns what fn returned.
func Validate(ctx context.Context, validator, kind string, fn func(context.Context) (violations []string, err error)) ([]string, error) {
	em := sluice.EmitterFrom(ctx)
	if !enabled(ctx, em, event.TypeValidationStarted, event.TypeValidationPassed, event.TypeValidationFailed) {
		return fn(ctx)
	}
	_ = sluice.Emit(ctx, em, event.ValidationStarted{Validator: validator, Kind: kind})
	start := time.Now()
	violations, err := fn(ctx)
	d := time.Since(start)
	if err != nil || len(violations) > 0 {
		if em.Enabled(ctx, event.TypeValidationFailed) {
			_ = sluice.Emit(ctx, em, event.ValidationFailed{
				Validator: validator, Kind: kind, Duration: d, Error: event.ErrorFrom(err),
				Violations: append([]string(nil), violations...),
			})
		}
		return violations, err
	}
	_ = sluice.Emit(ctx, em, event.ValidationPassed{Validator: validator, Kind: kind, Duration: d})
	return violations, err
}

// ContextInfo describes an assembled context: the messages sent to a model.
type ContextInfo struct {
	Messages  int   // messages in the context
	Tokens    int64 // estimated tokens in the context
	Truncated bool  // messages were dropped to fit the budget
}

// BuildContext runs fn, which assembles the context for a model call, and
// emits context.built with what it reports. With a budget (tokens, 0 for
// none) that the context exceeds, context.token_budget_exceeded comes
// first. An error from fn is returned and emits nothing.
func BuildContext(ctx context.Context, budget int64, fn func(context.Context) (ContextInfo, error)) (ContextInfo, error) {
	info, err := fn(ctx)
	if err != nil {
		return info, err
	}
	ContextBuilt(ctx, info, budget)
	return info, nil
}

// ContextBuilt emits context.built for an assembled context, preceded by
// context.token_budget_exceeded when budget > 0 and the context needs more
// tokens than that.
func ContextBuilt(ctx context.Context, info ContextInfo, budget int64) {
	em := sluice.EmitterFrom(ctx)
	if em == nil {
		return
	}
	if budget > 0 && info.Tokens > budget {
		_ = sluice.Emit(ctx, em, event.ContextTokenBudgetExceeded{RequiredTokens: info.Tokens, Budget: budget, Excess: info.Tokens - budget})
	}
	_ = sluice.Emit(ctx, em, event.ContextBuilt{MessageCount: info.Messages, TokenCount: info.Tokens, TokenBudget: budget, Truncated: info.Truncated})
}
