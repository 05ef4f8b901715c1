package guard_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/sinktest"
	"github.com/sluice-events/sluice/telemetry/guard"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func types(evs []event.Event) []event.Type {
	var out []event.Type
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

func TestBudgetTokensStopsMidStream(t *testing.T) {
	rec := new(sinktest.Recorder)
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	b, err := guard.NewBudget(rec, stop, guard.WithMaxTokens(1000))
	if err != nil {
		t.Fatal(err)
	}
	em := sluice.NewEmitter(b, event.Meta{RunID: "r1", SessionID: "s1"})
	call := em.Inference("i1")
	_ = call.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Usage: event.Usage{InputTokens: 500, OutputTokens: 100}})
	call2 := em.Inference("i2")
	_ = call2.Usage(ctx, event.Usage{InputTokens: 300, OutputTokens: 50, Cumulative: true})
	if ctx.Err() != nil {
		t.Fatalf("stopped at 950 tokens of 1000: %v", context.Cause(ctx))
	}
	_ = call2.Usage(ctx, event.Usage{InputTokens: 300, OutputTokens: 120, Cumulative: true})
	if !errors.Is(context.Cause(ctx), guard.ErrBudgetExceeded) {
		t.Fatalf("cause %v, want ErrBudgetExceeded", context.Cause(ctx))
	}
	_ = call2.ProviderCallFailed(ctx, "openai", "gpt-5", time.Second, ctx.Err())
	got := rec.Events()
	want := []event.Type{event.TypeProviderCallCompleted, event.TypeUsageReported, event.TypeUsageReported, event.TypeContextTokenBudgetExceeded, event.TypeProviderCallFailed}
	if !slices.Equal(types(got), want) {
		t.Fatalf("events %v, want %v", types(got), want)
	}
	ex, _ := event.As[event.ContextTokenBudgetExceeded](got[3])
	if ex != (event.ContextTokenBudgetExceeded{RequiredTokens: 1020, Budget: 1000, Excess: 20}) || got[3].Meta.RunID != "r1" || got[3].Meta.SessionID != "s1" {
		t.Errorf("budget event %+v %+v", ex, got[3].Meta)
	}
}

func TestBudgetCost(t *testing.T) {
	rec := new(sinktest.Recorder)
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	b, err := guard.NewBudget(rec, stop, guard.WithMaxCost(0.05))
	if err != nil {
		t.Fatal(err)
	}
	em := sluice.NewEmitter(b, event.Meta{RunID: "r1"})
	for i := range 3 {
		_ = em.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Cost: 0.02, Usage: event.Usage{InputTokens: 1 << 20}})
		if (i < 2) != (ctx.Err() == nil) {
			t.Fatalf("after %d calls of $0.02: stopped %v", i+1, ctx.Err() != nil)
		}
	}
	got := rec.Events()
	if len(got) != 4 || got[3].Type != event.TypeCostBudgetExceeded {
		t.Fatalf("events %v", types(got))
	}
	if p, _ := event.As[event.CostBudgetExceeded](got[3]); p.Budget != 0.05 || p.Cost < 0.06-1e-9 {
		t.Errorf("cost event %+v", p)
	}
}

func TestLoop(t *testing.T) {
	rec := new(sinktest.Recorder)
	ctx, stop := context.WithCancelCause(context.Background())
	defer stop(nil)
	l, err := guard.NewLoop(rec, stop, guard.WithRepeats(3))
	if err != nil {
		t.Fatal(err)
	}
	em := sluice.NewEmitter(l, event.Meta{RunID: "r1"})
	call := func(id, args string) {
		// The model asks, then the tool runs: one call, counted once.
		_ = em.ToolCallRequested(ctx, id, "search", json.RawMessage(args))
		_ = em.ToolCall(id).ToolCallStarted(ctx, id, "search", json.RawMessage(args))
	}
	call("c1", `{"q": "paris"}`)
	call("c2", `{"q":"paris"}`)
	call("c3", `{"q":"london"}`) // breaks the row
	call("c4", `{"q":"london"}`)
	if ctx.Err() != nil {
		t.Fatalf("stopped after two repeats: %v", context.Cause(ctx))
	}
	call("c5", `{ "q" : "london" }`)
	if !errors.Is(context.Cause(ctx), guard.ErrLoop) {
		t.Fatalf("cause %v, want ErrLoop", context.Cause(ctx))
	}
	got := rec.Events()
	var loops []event.LoopDetected
	for _, ev := range got {
		if p, ok := event.As[event.LoopDetected](ev); ok {
			loops = append(loops, p)
		}
	}
	if len(loops) != 1 || loops[0].Tool != "search" || string(loops[0].Arguments) != `{"q":"london"}` || loops[0].Repeats != 3 {
		t.Fatalf("loop events %+v", loops)
	}
	if got[len(got)-2].Type != event.TypeLoopDetected {
		t.Errorf("loop event not right after the call that tripped it: %v", types(got))
	}
}

func TestBreaker(t *testing.T) {
	rec := new(sinktest.Recorder)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	br, err := guard.NewBreaker(rec, guard.WithFailures(3, time.Minute), guard.WithCooldown(10*time.Second), guard.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	em := sluice.NewEmitter(br, event.Meta{Provider: "openai"})
	fail := func() {
		_ = em.ProviderCallFailed(ctx, "openai", "gpt-5", time.Second, event.Error{Message: "overloaded", Code: "server_error"})
	}
	fail()
	now = now.Add(2 * time.Minute) // the first failure leaves the window
	fail()
	fail()
	if err := br.Allow("openai"); err != nil {
		t.Fatalf("open after 2 failures in the window: %v", err)
	}
	fail()
	if err := br.Allow("openai"); !errors.Is(err, guard.ErrOpen) {
		t.Fatalf("Allow after 3 failures = %v, want ErrOpen", err)
	}
	if err := br.Allow("anthropic"); err != nil {
		t.Errorf("another provider refused: %v", err)
	}
	now = now.Add(10 * time.Second) // half-open: one trial
	if err := br.Allow("openai"); err != nil {
		t.Fatalf("half-open refused the trial: %v", err)
	}
	if err := br.Allow("openai"); !errors.Is(err, guard.ErrOpen) {
		t.Fatalf("half-open let a second call through: %v", err)
	}
	fail() // the trial fails: open again
	now = now.Add(5 * time.Second)
	if err := br.Allow("openai"); !errors.Is(err, guard.ErrOpen) {
		t.Fatalf("Allow after a failed trial = %v, want ErrOpen", err)
	}
	now = now.Add(5 * time.Second)
	if err := br.Allow("openai"); err != nil {
		t.Fatalf("second trial refused: %v", err)
	}
	_ = em.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Provider: "openai"})
	if err := br.Allow("openai"); err != nil {
		t.Fatalf("closed after a good trial, yet %v", err)
	}
	var opened, closed int
	for _, ev := range rec.Events() {
		switch p := ev.Payload.(type) {
		case event.CircuitOpened:
			opened++
			if p.Name != "openai" || p.Failures != 3 || p.Error.Code != "server_error" || p.Cooldown != 10*time.Second {
				t.Errorf("opened %+v", p)
			}
		case event.CircuitClosed:
			closed++
		}
	}
	if opened != 1 || closed != 1 {
		t.Errorf("%d opened, %d closed events; want 1, 1", opened, closed)
	}
}

func TestOptions(t *testing.T) {
	rec := new(sinktest.Recorder)
	stop := func(error) {}
	for name, err := range map[string]error{
		"budget without limit":   second(guard.NewBudget(rec, stop)),
		"budget nil stop":        second(guard.NewBudget(rec, nil, guard.WithMaxTokens(1))),
		"budget nil sink":        second(guard.NewBudget(nil, stop, guard.WithMaxTokens(1))),
		"budget with repeats":    second(guard.NewBudget(rec, stop, guard.WithMaxTokens(1), guard.WithRepeats(3))),
		"budget negative tokens": second(guard.NewBudget(rec, stop, guard.WithMaxTokens(-1))),
		"loop repeats 1":         second(guard.NewLoop(rec, stop, guard.WithRepeats(1))),
		"loop with cooldown":     second(guard.NewLoop(rec, stop, guard.WithCooldown(time.Second))),
		"breaker zero window":    second(guard.NewBreaker(rec, guard.WithFailures(1, 0))),
		"breaker nil option":     second(guard.NewBreaker(rec, nil)),
	} {
		if !errors.Is(err, guard.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestConformance(t *testing.T) {
	for name, wrap := range map[string]func(sluice.Sink) (sluice.Sink, error){
		"Budget": func(s sluice.Sink) (sluice.Sink, error) {
			return guard.NewBudget(s, func(error) {}, guard.WithMaxTokens(1e9))
		},
		"Loop": func(s sluice.Sink) (sluice.Sink, error) {
			return guard.NewLoop(s, func(error) {}, guard.WithRepeats(1<<30))
		},
		"Breaker": func(s sluice.Sink) (sluice.Sink, error) { return guard.NewBreaker(s) },
	} {
		t.Run(name, func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) sinktest.Harness {
				rec := new(sinktest.Recorder)
				s, err := wrap(rec)
				if err != nil {
					t.Fatal(err)
				}
				return sinktest.Harness{Sink: s, Delivered: rec.Events}
			})
		})
	}
}
