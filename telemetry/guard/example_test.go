package guard_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/telemetry/guard"
)

// printer prints the types of the events it gets.
var printer = sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
	fmt.Println(ev.Type)
	return nil
})

// A budget wraps the sink a run publishes to and cancels the run's
// context when the run uses too many tokens.
func ExampleNewBudget() {
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	budget, _ := guard.NewBudget(printer, stop, guard.WithMaxTokens(1000))
	em := sluice.NewEmitter(budget, event.Meta{RunID: "run-1"})

	_ = em.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Usage: event.Usage{InputTokens: 900, OutputTokens: 200}})
	fmt.Println(errors.Is(context.Cause(ctx), guard.ErrBudgetExceeded))
	// Output:
	// provider.call.completed
	// context.token_budget_exceeded
	// true
}

// A loop guard stops a run that calls the same tool with the same
// arguments three times in a row.
func ExampleNewLoop() {
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	loop, _ := guard.NewLoop(sluice.FilterTypes(printer, event.MustPattern("guard.>")), stop, guard.WithRepeats(3))
	em := sluice.NewEmitter(loop, event.Meta{RunID: "run-1"})

	for i := range 3 {
		_ = em.ToolCallStarted(ctx, fmt.Sprint("call-", i), "search", json.RawMessage(`{"q":"paris"}`))
	}
	fmt.Println(context.Cause(ctx))
	// Output:
	// guard.loop_detected
	// guard: tool call loop: search called 3 times in a row with {"q":"paris"}
}

// A circuit breaker refuses calls to a provider after too many failures,
// until a trial call succeeds.
func ExampleNewBreaker() {
	breaker, _ := guard.NewBreaker(sluice.FilterTypes(printer, event.MustPattern("guard.>")),
		guard.WithFailures(2, time.Minute), guard.WithCooldown(30*time.Second))
	em := sluice.NewEmitter(breaker, event.Meta{Provider: "openai"})
	ctx := context.Background()

	for range 2 {
		if err := breaker.Allow("openai"); err == nil {
			_ = em.ProviderCallFailed(ctx, "openai", "gpt-5", time.Second, errors.New("503 overloaded"))
		}
	}
	fmt.Println(errors.Is(breaker.Allow("openai"), guard.ErrOpen))
	// Output:
	// guard.circuit_opened
	// true
}
