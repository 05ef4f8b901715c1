package instrument

import (
	"context"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/jsonvalue"
)

// WithToolCall returns a context whose emitter is scoped to the tool call
// callID (sluice.Emitter.ToolCall), so that the events of an instrumented
// tool carry the call's ID. Without an emitter in ctx it returns ctx.
func WithToolCall(ctx context.Context, callID string) context.Context {
	em := sluice.EmitterFrom(ctx)
	if em == nil {
		return ctx
	}
	return sluice.WithEmitter(ctx, em.ToolCall(callID))
}

// Tool returns fn instrumented as the tool name: each call emits
// tool.call.started with the arguments as JSON, then tool.call.completed
// with the result as JSON, or tool.call.failed with the error as a
// structured event.Error; both carry the duration. The call ID is the
// emitter's Meta.ToolCallID (see WithToolCall). Arguments or results that
// do not encode as JSON are left out of the events.
func Tool[A, R any](name string, fn func(ctx context.Context, args A) (R, error)) func(ctx context.Context, args A) (R, error) {
	return func(ctx context.Context, args A) (R, error) {
		em := sluice.EmitterFrom(ctx)
		if !enabled(ctx, em, event.TypeToolCallStarted, event.TypeToolCallCompleted, event.TypeToolCallFailed) {
			return fn(ctx, args)
		}
		callID := em.Meta().ToolCallID
		if em.Enabled(ctx, event.TypeToolCallStarted) {
			_ = sluice.Emit(ctx, em, event.ToolCallStarted{CallID: callID, Name: name, Arguments: jsonvalue.Of(args)})
		}
		start := time.Now()
		panicking := true
		var (
			res R
			err error
		)
		defer func() {
			d := time.Since(start)
			switch {
			case panicking:
				r := recover()
				_ = sluice.Emit(ctx, em, event.ToolCallFailed{CallID: callID, Name: name, Duration: d, Error: event.ErrorFrom(PanicError{r})})
				panic(r)
			case err != nil:
				_ = sluice.Emit(ctx, em, event.ToolCallFailed{CallID: callID, Name: name, Duration: d, Error: event.ErrorFrom(err)})
			case em.Enabled(ctx, event.TypeToolCallCompleted):
				_ = sluice.Emit(ctx, em, event.ToolCallCompleted{CallID: callID, Name: name, Duration: d, Result: jsonvalue.Of(res)})
			}
		}()
		res, err = fn(ctx, args)
		panicking = false
		return res, err
	}
}
