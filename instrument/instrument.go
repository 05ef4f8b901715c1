// Package instrument makes the steps of an agent emit their lifecycle
// events: middleware and pipeline stages (middleware.*), whole pipelines
// (pipeline.*), tool executions (tool.call.started/completed/failed),
// validators (validation.*) and context building (context.built,
// context.token_budget_exceeded). It holds producers only: callbacks on a
// conversation's events, which consume them, are in the package hooks.
//
// # One style: the emitter comes from the context
//
// Every wrapper takes its emitter from the context it is called with
// (sluice.EmitterFrom), at call time, so the same wrapped tool or pipeline
// serves every request, each with its own run, session and conversation
// metadata:
//
//	ctx = sluice.WithEmitter(ctx, em)
//	err := pipeline.Run(ctx, state)
//
// With no emitter in the context, or one whose sinks want none of the
// events, a wrapper calls the wrapped function and nothing else: no clock
// reading, no allocation, no JSON encoding (see the benchmarks).
//
// # Cost, tokens and messages
//
// A Pipeline carries a Tally in the context while it runs. Stages report
// what they spent with AddUsage and the conversation's length with
// SetMessageCount; pipeline.completed carries the totals, and a nested
// pipeline adds its totals to the enclosing one.
package instrument

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// enabled reports whether em wants any of the three types of a lifecycle.
func enabled(ctx context.Context, em *sluice.Emitter, started, completed, failed event.Type) bool {
	return em != nil && (em.Enabled(ctx, started) || em.Enabled(ctx, completed) || em.Enabled(ctx, failed))
}

// PanicError is the error a wrapper reports (in a failed event) when the
// wrapped function panics; the panic then goes on.
type PanicError struct{ Value any }

func (e PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Middleware runs fn as the middleware (pipeline stage) name at position
// index, emitting middleware.started, then middleware.completed or
// middleware.failed with its duration. It returns fn's error.
func Middleware(ctx context.Context, name string, index int, fn func(context.Context) error) error {
	em := sluice.EmitterFrom(ctx)
	if !enabled(ctx, em, event.TypeMiddlewareStarted, event.TypeMiddlewareCompleted, event.TypeMiddlewareFailed) {
		return fn(ctx)
	}
	return middleware(ctx, em, name, index, fn)
}

func middleware(ctx context.Context, em *sluice.Emitter, name string, index int, fn func(context.Context) error) (err error) {
	_ = sluice.Emit(ctx, em, event.MiddlewareStarted{Name: name, Index: index})
	start := time.Now()
	panicking := true
	defer func() {
		d := time.Since(start)
		if panicking {
			r := recover()
			_ = sluice.Emit(ctx, em, event.MiddlewareFailed{Name: name, Index: index, Duration: d, Error: event.ErrorFrom(PanicError{r})})
			panic(r)
		}
		if err != nil {
			_ = sluice.Emit(ctx, em, event.MiddlewareFailed{Name: name, Index: index, Duration: d, Error: event.ErrorFrom(err)})
			return
		}
		_ = sluice.Emit(ctx, em, event.MiddlewareCompleted{Name: name, Index: index, Duration: d})
	}()
	err = fn(ctx)
	panicking = false
	return err
}

// StageFunc is a pipeline stage: it works on the pipeline's state.
type StageFunc[S any] func(ctx context.Context, state S) error

// Stage is a named pipeline stage.
type Stage[S any] struct {
	Name string
	Run  StageFunc[S]
}

// Wrap returns fn instrumented as the middleware name at position index:
// each call emits middleware.started and middleware.completed or
// middleware.failed.
func Wrap[S any](name string, index int, fn StageFunc[S]) StageFunc[S] {
	return func(ctx context.Context, state S) error {
		em := sluice.EmitterFrom(ctx)
		if !enabled(ctx, em, event.TypeMiddlewareStarted, event.TypeMiddlewareCompleted, event.TypeMiddlewareFailed) {
			return fn(ctx, state)
		}
		return middleware(ctx, em, name, index, func(ctx context.Context) error { return fn(ctx, state) })
	}
}

// Pipeline runs stages in order over a state, as one instrumented unit.
type Pipeline[S any] struct {
	stages []Stage[S]
}

// NewPipeline returns a pipeline of the given stages.
func NewPipeline[S any](stages ...Stage[S]) *Pipeline[S] {
	return &Pipeline[S]{stages: stages}
}

// Run runs the stages in order on state and stops at the first error,
// which it returns. It emits pipeline.started (with the number of stages),
// middleware events around each stage, and pipeline.completed (with the
// duration and the Tally's totals) or pipeline.failed.
func (p *Pipeline[S]) Run(ctx context.Context, state S) error {
	em := sluice.EmitterFrom(ctx)
	stagesOn := enabled(ctx, em, event.TypeMiddlewareStarted, event.TypeMiddlewareCompleted, event.TypeMiddlewareFailed)
	if !enabled(ctx, em, event.TypePipelineStarted, event.TypePipelineCompleted, event.TypePipelineFailed) {
		if !stagesOn {
			for _, st := range p.stages {
				if err := st.Run(ctx, state); err != nil {
					return err
				}
			}
			return nil
		}
		return p.run(ctx, em, state)
	}
	parent := TallyFrom(ctx)
	t := &Tally{}
	ctx = context.WithValue(ctx, tallyKey{}, t)
	_ = sluice.Emit(ctx, em, event.PipelineStarted{MiddlewareCount: len(p.stages)})
	start := time.Now()
	panicking := true
	var err error
	defer func() {
		d := time.Since(start)
		parent.add(t.Totals())
		if panicking {
			r := recover()
			_ = sluice.Emit(ctx, em, event.PipelineFailed{Duration: d, Error: event.ErrorFrom(PanicError{r})})
			panic(r)
		}
		if err != nil {
			_ = sluice.Emit(ctx, em, event.PipelineFailed{Duration: d, Error: event.ErrorFrom(err)})
			return
		}
		tot := t.Totals()
		_ = sluice.Emit(ctx, em, event.PipelineCompleted{
			Duration: d, Cost: tot.Cost, InputTokens: tot.Usage.InputTokens, OutputTokens: tot.Usage.OutputTokens,
			MessageCount: tot.Messages,
		})
	}()
	err = p.run(ctx, em, state)
	panicking = false
	return err
}

func (p *Pipeline[S]) run(ctx context.Context, em *sluice.Emitter, state S) error {
	for i, st := range p.stages {
		run := st.Run
		err := middleware(ctx, em, st.Name, i, func(ctx context.Context) error { return run(ctx, state) })
		if err != nil {
			return err
		}
	}
	return nil
}
