package instrument_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/instrument"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type recorder struct {
	mu  sync.Mutex
	evs []event.Event
}

func (r *recorder) Enabled(context.Context, event.Type) bool { return true }
func (r *recorder) Publish(_ context.Context, ev *event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evs = append(r.evs, *ev)
	return nil
}

func (r *recorder) types() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s []string
	for _, ev := range r.evs {
		s = append(s, string(ev.Type))
	}
	return strings.Join(s, " ")
}

func (r *recorder) payloads() []event.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []event.Payload
	for _, ev := range r.evs {
		out = append(out, ev.Payload)
	}
	return out
}

func withRecorder(meta event.Meta) (context.Context, *recorder) {
	rec := &recorder{}
	return sluice.WithEmitter(context.Background(), sluice.NewEmitter(rec, meta)), rec
}

type state struct{ log []string }

func TestPipelineEmitsStagesAndTotals(t *testing.T) {
	ctx, rec := withRecorder(event.Meta{RunID: "r1"})
	p := instrument.NewPipeline(
		instrument.Stage[*state]{Name: "load", Run: func(ctx context.Context, s *state) error {
			s.log = append(s.log, "load")
			instrument.SetMessageCount(ctx, 3)
			return nil
		}},
		instrument.Stage[*state]{Name: "model", Run: func(ctx context.Context, s *state) error {
			s.log = append(s.log, "model")
			instrument.AddUsage(ctx, event.Usage{InputTokens: 100, OutputTokens: 20}, 0.5)
			instrument.AddUsage(ctx, event.Usage{InputTokens: 10, OutputTokens: 2}, 0.25)
			instrument.SetMessageCount(ctx, 5)
			return nil
		}},
	)
	s := &state{}
	if err := p.Run(ctx, s); err != nil {
		t.Fatal(err)
	}
	if strings.Join(s.log, ",") != "load,model" {
		t.Errorf("stages ran %v", s.log)
	}
	want := "pipeline.started middleware.started middleware.completed middleware.started middleware.completed pipeline.completed"
	if got := rec.types(); got != want {
		t.Fatalf("events\n%s\nwant\n%s", got, want)
	}
	ps := rec.payloads()
	if ps[0] != (event.PipelineStarted{MiddlewareCount: 2}) {
		t.Errorf("started = %+v", ps[0])
	}
	if m := ps[3].(event.MiddlewareStarted); m.Name != "model" || m.Index != 1 {
		t.Errorf("middleware = %+v", m)
	}
	c := ps[5].(event.PipelineCompleted)
	if c.InputTokens != 110 || c.OutputTokens != 22 || c.Cost != 0.75 || c.MessageCount != 5 || c.Duration <= 0 {
		t.Errorf("completed = %+v", c)
	}
	for _, ev := range rec.evs {
		if ev.Meta.RunID != "r1" {
			t.Errorf("%s lost its meta", ev.Type)
		}
	}
}

func TestPipelineStopsAtTheFirstError(t *testing.T) {
	ctx, rec := withRecorder(event.Meta{})
	boom := errors.New("boom")
	ran := false
	p := instrument.NewPipeline(
		instrument.Stage[int]{Name: "a", Run: func(context.Context, int) error { return fmt.Errorf("stage a: %w", boom) }},
		instrument.Stage[int]{Name: "b", Run: func(context.Context, int) error { ran = true; return nil }},
	)
	if err := p.Run(ctx, 0); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if ran {
		t.Error("stage b ran after a failed")
	}
	if got := rec.types(); got != "pipeline.started middleware.started middleware.failed pipeline.failed" {
		t.Fatalf("events %s", got)
	}
	ps := rec.payloads()
	if f := ps[2].(event.MiddlewareFailed); f.Name != "a" || f.Error.Message != "stage a: boom" {
		t.Errorf("middleware failed = %+v", f)
	}
	if f := ps[3].(event.PipelineFailed); f.Error.Message != "stage a: boom" {
		t.Errorf("pipeline failed = %+v", f)
	}
}

func TestNestedPipelineAddsToTheOuterTally(t *testing.T) {
	ctx, rec := withRecorder(event.Meta{})
	inner := instrument.NewPipeline(instrument.Stage[int]{Name: "call", Run: func(ctx context.Context, _ int) error {
		instrument.AddUsage(ctx, event.Usage{InputTokens: 7}, 1)
		return nil
	}})
	outer := instrument.NewPipeline(
		instrument.Stage[int]{Name: "inner", Run: inner.Run},
		instrument.Stage[int]{Name: "inner again", Run: inner.Run},
	)
	if err := outer.Run(ctx, 0); err != nil {
		t.Fatal(err)
	}
	var completed []event.PipelineCompleted
	for _, p := range rec.payloads() {
		if c, ok := p.(event.PipelineCompleted); ok {
			completed = append(completed, c)
		}
	}
	if len(completed) != 3 || completed[2].InputTokens != 14 || completed[2].Cost != 2 {
		t.Errorf("completed = %+v", completed)
	}
}

func TestPanicsAreReportedAndGoOn(t *testing.T) {
	ctx, rec := withRecorder(event.Meta{})
	p := instrument.NewPipeline(instrument.Stage[int]{Name: "bad", Run: func(context.Context, int) error { panic("oops") }})
	func() {
		defer func() {
			if r := recover(); r != "oops" {
				t.Errorf("recovered %v", r)
			}
		}()
		_ = p.Run(ctx, 0)
	}()
	if got := rec.types(); got != "pipeline.started middleware.started middleware.failed pipeline.failed" {
		t.Fatalf("events %s", got)
	}
	if f := rec.payloads()[3].(event.PipelineFailed); f.Error.Message != "panic: oops" {
		t.Errorf("failed = %+v", f)
	}
}

func TestMiddlewareAndWrap(t *testing.T) {
	ctx, rec := withRecorder(event.Meta{})
	if err := instrument.Middleware(ctx, "auth", 0, func(context.Context) error { time.Sleep(time.Millisecond); return nil }); err != nil {
		t.Fatal(err)
	}
	stage := instrument.Wrap("log", 4, func(_ context.Context, s string) error { return errors.New(s) })
	if err := stage(ctx, "denied"); err == nil || err.Error() != "denied" {
		t.Fatalf("err = %v", err)
	}
	ps := rec.payloads()
	if len(ps) != 4 {
		t.Fatalf("events %s", rec.types())
	}
	if c := ps[1].(event.MiddlewareCompleted); c.Name != "auth" || c.Duration < time.Millisecond {
		t.Errorf("completed = %+v", c)
	}
	if f := ps[3].(event.MiddlewareFailed); f.Name != "log" || f.Index != 4 || f.Error.Message != "denied" {
		t.Errorf("failed = %+v", f)
	}
}

type weatherArgs struct {
	City string `json:"city"`
}

type weather struct {
	TempC float64 `json:"temp_c"`
}

func TestToolEmitsArgumentsResultAndErrors(t *testing.T) {
	ctx, rec := withRecorder(event.Meta{RunID: "r"})
	ctx = instrument.WithToolCall(ctx, "call_1")
	get := instrument.Tool("get_weather", func(_ context.Context, a weatherArgs) (weather, error) {
		if a.City == "" {
			return weather{}, context.DeadlineExceeded
		}
		return weather{TempC: 21.5}, nil
	})
	if w, err := get(ctx, weatherArgs{City: "Paris"}); err != nil || w.TempC != 21.5 {
		t.Fatalf("got %v, %v", w, err)
	}
	if _, err := get(ctx, weatherArgs{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if got := rec.types(); got != "tool.call.started tool.call.completed tool.call.started tool.call.failed" {
		t.Fatalf("events %s", got)
	}
	ps := rec.payloads()
	s := ps[0].(event.ToolCallStarted)
	if s.CallID != "call_1" || s.Name != "get_weather" || string(s.Arguments) != `{"city":"Paris"}` {
		t.Errorf("started = %+v", s)
	}
	c := ps[1].(event.ToolCallCompleted)
	if c.CallID != "call_1" || string(c.Result) != `{"temp_c":21.5}` || c.Duration <= 0 {
		t.Errorf("completed = %+v", c)
	}
	f := ps[3].(event.ToolCallFailed)
	if f.Error.Kind != event.KindDeadline || !f.Error.Retryable || f.CallID != "call_1" {
		t.Errorf("failed = %+v", f)
	}
	if rec.evs[0].Meta.ToolCallID != "call_1" || rec.evs[0].Meta.RunID != "r" {
		t.Errorf("meta = %+v", rec.evs[0].Meta)
	}
}

func TestToolWithRawJSON(t *testing.T) {
	ctx, rec := withRecorder(event.Meta{})
	echo := instrument.Tool("echo", func(_ context.Context, a json.RawMessage) (json.RawMessage, error) { return a, nil })
	if _, err := echo(ctx, json.RawMessage(`{"x": 1}`)); err != nil {
		t.Fatal(err)
	}
	ps := rec.payloads()
	if string(ps[0].(event.ToolCallStarted).Arguments) != `{"x": 1}` || string(ps[1].(event.ToolCallCompleted).Result) != `{"x": 1}` {
		t.Errorf("events = %+v", ps)
	}
}

func TestNothingIsEmittedWithoutAnEmitter(t *testing.T) {
	ctx := context.Background()
	calls := 0
	tool := instrument.Tool("t", func(context.Context, int) (int, error) { calls++; return 1, nil })
	p := instrument.NewPipeline(instrument.Stage[int]{Name: "s", Run: func(ctx context.Context, _ int) error {
		calls++
		instrument.AddUsage(ctx, event.Usage{InputTokens: 1}, 1) // no tally: ignored
		return nil
	}})
	_, _ = tool(ctx, 0)
	_ = p.Run(ctx, 0)
	_ = instrument.Middleware(ctx, "m", 0, func(context.Context) error { calls++; return nil })
	_, _ = instrument.Validate(ctx, "v", "input", func(context.Context) ([]string, error) { calls++; return nil, nil })
	instrument.ContextBuilt(ctx, instrument.ContextInfo{Tokens: 10}, 5)
	if calls != 4 {
		t.Errorf("%d calls, want 4", calls)
	}
}

func TestValidate(t *testing.T) {
	ctx, rec := withRecorder(event.Meta{})
	_, _ = instrument.Validate(ctx, "length", "output", func(context.Context) ([]string, error) { return nil, nil })
	v, err := instrument.Validate(ctx, "pii", "output", func(context.Context) ([]string, error) {
		return []string{"email address", "phone number"}, nil
	})
	if len(v) != 2 || err != nil {
		t.Fatalf("got %v, %v", v, err)
	}
	_, err = instrument.Validate(ctx, "remote", "input", func(context.Context) ([]string, error) { return nil, errors.New("unreachable") })
	if err == nil {
		t.Fatal("error lost")
	}
	want := "validation.started validation.passed validation.started validation.failed validation.started validation.failed"
	if got := rec.types(); got != want {
		t.Fatalf("events %s", got)
	}
	ps := rec.payloads()
	if f := ps[3].(event.ValidationFailed); f.Validator != "pii" || strings.Join(f.Violations, ",") != "email address,phone number" || !f.Error.IsZero() {
		t.Errorf("failed = %+v", f)
	}
	if f := ps[5].(event.ValidationFailed); f.Error.Message != "unreachable" || f.Kind != "input" {
		t.Errorf("failed = %+v", f)
	}
}

func TestBuildContext(t *testing.T) {
	ctx, rec := withRecorder(event.Meta{})
	_, _ = instrument.BuildContext(ctx, 1000, func(context.Context) (instrument.ContextInfo, error) {
		return instrument.ContextInfo{Messages: 4, Tokens: 800}, nil
	})
	_, _ = instrument.BuildContext(ctx, 1000, func(context.Context) (instrument.ContextInfo, error) {
		return instrument.ContextInfo{Messages: 9, Tokens: 1200, Truncated: true}, nil
	})
	if _, err := instrument.BuildContext(ctx, 1000, func(context.Context) (instrument.ContextInfo, error) {
		return instrument.ContextInfo{}, errors.New("store down")
	}); err == nil {
		t.Fatal("error lost")
	}
	if got := rec.types(); got != "context.built context.token_budget_exceeded context.built" {
		t.Fatalf("events %s", got)
	}
	ps := rec.payloads()
	if e := ps[1].(event.ContextTokenBudgetExceeded); e.RequiredTokens != 1200 || e.Budget != 1000 || e.Excess != 200 {
		t.Errorf("exceeded = %+v", e)
	}
	if b := ps[2].(event.ContextBuilt); b.MessageCount != 9 || b.TokenCount != 1200 || b.TokenBudget != 1000 || !b.Truncated {
		t.Errorf("built = %+v", b)
	}
}
