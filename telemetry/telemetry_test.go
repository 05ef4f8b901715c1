package telemetry_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/sinktest"
	"github.com/sluice-events/sluice/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// traced is a Sink wired to an in-memory span recorder and metric reader.
type traced struct {
	sink   *telemetry.Sink
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
}

func newTraced(t testing.TB, sampler sdktrace.Sampler, opts ...telemetry.Option) *traced {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSampler(sampler),
		sdktrace.WithRawSpanLimits(sdktrace.SpanLimits{EventCountLimit: -1, AttributeCountLimit: -1,
			AttributeValueLengthLimit: -1, AttributePerEventCountLimit: -1, LinkCountLimit: -1, AttributePerLinkCountLimit: -1}))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	s, err := telemetry.New(append([]telemetry.Option{telemetry.WithTracerProvider(tp), telemetry.WithMeterProvider(mp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &traced{sink: s, spans: rec, reader: reader}
}

func (tr *traced) ended() map[string]sdktrace.ReadOnlySpan {
	out := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range tr.spans.Ended() {
		if out[s.Name()] == nil {
			out[s.Name()] = s
		}
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

// TestConformance runs the Sink conformance suite. The Sink's output is its
// spans; with WithSpanEvents every event it takes becomes a span event that
// names the event, which is what the suite reads back, from the spans as
// they are recorded (open or ended).
func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		tr := newTraced(t, sdktrace.AlwaysSample(), telemetry.WithSpanEvents())
		t.Cleanup(func() { _ = tr.sink.Close(context.Background()) })
		delivered := func() []event.Event {
			var out []event.Event
			for _, s := range tr.spans.Started() {
				for _, e := range s.Events() {
					for _, kv := range e.Attributes {
						if kv.Key == telemetry.EventIDKey {
							out = append(out, event.Event{ID: uuid.MustParse(kv.Value.AsString()), Type: event.Type(e.Name), Time: e.Time})
						}
					}
				}
			}
			// Span events are ordered by time within a span; the suite's
			// events of one goroutine have increasing times.
			slices.SortStableFunc(out, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
			return out
		}
		return sinktest.Harness{Sink: tr.sink, Delivered: delivered, Close: tr.sink.Close, ErrClosed: telemetry.ErrClosed}
	})
}

// run publishes a small run by hand: a run, a provider call that streams,
// a tool call inside the run, and a second provider call that fails.
func run(t testing.TB, s sluice.Sink) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	clock := t0
	em := sluice.NewEmitter(s, event.Meta{RunID: "run-1", SessionID: "s1", ConversationID: "conv-1",
		Labels: map[string]string{"agent": "weather"}},
		sluice.WithClock(func() time.Time { clock = clock.Add(100 * time.Millisecond); return clock }))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sluice.Emit(ctx, em, event.RunStarted{Prompt: "Weather in Paris?"}))
	call := em.Inference("inf-1").WithMeta(func(m *event.Meta) { m.Provider, m.Model = "anthropic", "claude-sonnet-4-5" })
	must(call.ProviderCallStarted(ctx, "anthropic", "claude-sonnet-4-5", 1, 1))
	msg := call.Message("msg-1")
	must(sluice.Emit(ctx, msg, event.MessageStarted{ID: "msg_01", Role: "assistant", Model: "claude-sonnet-4-5-20250929"}))
	must(msg.TextDelta(ctx, 0, 0, "Let me "))
	must(msg.TextDelta(ctx, 0, 7, "check."))
	must(sluice.Emit(ctx, msg, event.TextCompleted{Text: "Let me check."}))
	must(sluice.Emit(ctx, msg, event.MessageStopped{ID: "msg_01", StopReason: "tool_use"}))
	must(call.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Provider: "anthropic", Model: "claude-sonnet-4-5-20250929",
		Usage: event.Usage{InputTokens: 400, OutputTokens: 50, CacheReadTokens: 300, CacheCreationTokens: 20, ReasoningTokens: 10},
		Cost:  0.0042, FinishReason: "tool_calls", Duration: 500 * time.Millisecond}))
	tool := em.ToolCall("call-1")
	must(tool.ToolCallStarted(ctx, "call-1", "get_weather", json.RawMessage(`{"city":"Paris"}`)))
	must(tool.ToolCallCompleted(ctx, "call-1", "get_weather", 100*time.Millisecond, json.RawMessage(`{"temp_c":18}`)))
	call2 := em.Inference("inf-2")
	must(call2.ProviderCallStarted(ctx, "anthropic", "claude-sonnet-4-5", 3, 1))
	must(call2.ProviderCallFailed(ctx, "anthropic", "claude-sonnet-4-5", 200*time.Millisecond,
		event.Error{Message: "overloaded", Code: "overloaded_error", Kind: "provider"}))
	must(sluice.Emit(ctx, em, event.RunFailed{Error: event.Error{Message: "overloaded", Code: "overloaded_error"}}))
}

func TestSpanTree(t *testing.T) {
	tr := newTraced(t, sdktrace.AlwaysSample())
	run(t, tr.sink)
	spans := tr.ended()
	if n := len(tr.spans.Ended()); n != 4 {
		t.Fatalf("%d spans, want 4", n)
	}
	agent, chat, tool := spans["invoke_agent weather"], spans["chat claude-sonnet-4-5"], spans["execute_tool get_weather"]
	if agent == nil || chat == nil || tool == nil {
		t.Fatalf("spans %v: want invoke_agent weather, chat claude-sonnet-4-5, execute_tool get_weather", slices.Collect(mapKeys(spans)))
	}
	if agent.Parent().IsValid() {
		t.Errorf("invoke_agent has a parent")
	}
	for _, c := range tr.spans.Ended() {
		if c != agent && (c.Parent().SpanID() != agent.SpanContext().SpanID() || c.SpanContext().TraceID() != agent.SpanContext().TraceID()) {
			t.Errorf("%s is not a child of invoke_agent", c.Name())
		}
	}
	a := attrs(chat)
	want := map[attribute.Key]attribute.Value{
		"gen_ai.operation.name":                    attribute.StringValue("chat"),
		"gen_ai.provider.name":                     attribute.StringValue("anthropic"),
		"gen_ai.request.model":                     attribute.StringValue("claude-sonnet-4-5"),
		"gen_ai.response.model":                    attribute.StringValue("claude-sonnet-4-5-20250929"),
		"gen_ai.response.id":                       attribute.StringValue("msg_01"),
		"gen_ai.response.finish_reasons":           attribute.StringSliceValue([]string{"tool_calls"}),
		"gen_ai.conversation.id":                   attribute.StringValue("conv-1"),
		"gen_ai.usage.input_tokens":                attribute.Int64Value(400),
		"gen_ai.usage.output_tokens":               attribute.Int64Value(50),
		"gen_ai.usage.cache_read.input_tokens":     attribute.Int64Value(300),
		"gen_ai.usage.cache_creation.input_tokens": attribute.Int64Value(20),
		"gen_ai.usage.reasoning.output_tokens":     attribute.Int64Value(10),
		"gen_ai.response.time_to_first_chunk":      attribute.Float64Value(0.2),
		"sluice.cost_usd":                          attribute.Float64Value(0.0042),
	}
	for k, v := range want {
		if got, ok := a[k]; !ok || got.Emit() != v.Emit() {
			t.Errorf("chat %s = %v, want %v", k, got.Emit(), v.Emit())
		}
	}
	if chat.Status().Code != codes.Unset || chat.SpanKind().String() != "client" {
		t.Errorf("chat status %v kind %v, want unset, client", chat.Status(), chat.SpanKind())
	}
	if d := chat.EndTime().Sub(chat.StartTime()); d != 600*time.Millisecond {
		t.Errorf("chat lasted %v, want 600ms (event times)", d)
	}
	ta := attrs(tool)
	if ta["gen_ai.operation.name"].AsString() != "execute_tool" || ta["gen_ai.tool.call.id"].AsString() != "call-1" || ta["gen_ai.tool.name"].AsString() != "get_weather" {
		t.Errorf("tool attributes %v", ta)
	}
	for _, s := range []sdktrace.ReadOnlySpan{agent, chat, tool} {
		for k := range attrs(s) {
			if k == "gen_ai.input.messages" || k == "gen_ai.output.messages" || strings.HasPrefix(string(k), "gen_ai.tool.call.a") || k == "gen_ai.tool.call.result" {
				t.Errorf("%s has content attribute %s without WithContent", s.Name(), k)
			}
		}
	}
	var failed sdktrace.ReadOnlySpan
	for _, s := range tr.spans.Ended() {
		if s.Name() == "chat claude-sonnet-4-5" && s.Status().Code == codes.Error {
			failed = s
		}
	}
	if failed == nil || attrs(failed)["error.type"].AsString() != "overloaded_error" || failed.Status().Description != "overloaded" {
		t.Fatalf("no failed chat span with error.type overloaded_error")
	}
	if agent.Status().Code != codes.Error || attrs(agent)["error.type"].AsString() != "overloaded_error" {
		t.Errorf("agent status %v, error.type %v; want error, overloaded_error", agent.Status(), attrs(agent)["error.type"])
	}
	if attrs(agent)["gen_ai.agent.name"].AsString() != "weather" || attrs(agent)["gen_ai.agent.id"].AsString() != "run-1" {
		t.Errorf("agent attributes %v", attrs(agent))
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestContentOptInAndRedacted(t *testing.T) {
	var keys []attribute.Key
	tr := newTraced(t, sdktrace.AlwaysSample(), telemetry.WithContent(func(k attribute.Key, v string) string {
		keys = append(keys, k)
		if k == "gen_ai.tool.call.result" {
			return "" // leave results out
		}
		return strings.ReplaceAll(v, "Paris", "[city]")
	}))
	run(t, tr.sink)
	spans := tr.ended()
	if got := attrs(spans["invoke_agent weather"])["gen_ai.input.messages"].AsString(); got != `[{"role":"user","parts":[{"type":"text","content":"Weather in [city]?"}]}]` {
		t.Errorf("input messages %s", got)
	}
	out := attrs(spans["chat claude-sonnet-4-5"])["gen_ai.output.messages"].AsString()
	if out != `[{"role":"assistant","parts":[{"type":"text","content":"Let me check."}],"finish_reason":"tool_calls"}]` {
		t.Errorf("output messages %s", out)
	}
	ta := attrs(spans["execute_tool get_weather"])
	if ta["gen_ai.tool.call.arguments"].AsString() != `{"city":"[city]"}` {
		t.Errorf("tool arguments %v", ta["gen_ai.tool.call.arguments"].Emit())
	}
	if _, ok := ta["gen_ai.tool.call.result"]; ok {
		t.Errorf("redacted tool result recorded")
	}
	if len(keys) != 4 {
		t.Errorf("redactor saw %v, want 4 values", keys)
	}
}

// Metrics are counted for every call whatever the sampler decides.
func TestMetricsBeforeSampling(t *testing.T) {
	for _, sampler := range []sdktrace.Sampler{sdktrace.AlwaysSample(), sdktrace.NeverSample()} {
		tr := newTraced(t, sampler)
		run(t, tr.sink)
		var rm metricdata.ResourceMetrics
		if err := tr.reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		got := map[string]metricdata.Aggregation{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				got[m.Name] = m.Data
			}
		}
		tokens, ok := got["gen_ai.client.token.usage"].(metricdata.Histogram[int64])
		if !ok {
			t.Fatalf("%s: no gen_ai.client.token.usage in %v", sampler.Description(), got)
		}
		sums := map[string]int64{}
		for _, dp := range tokens.DataPoints {
			v, _ := dp.Attributes.Value("gen_ai.token.type")
			sums[v.AsString()] += dp.Sum
		}
		if sums["input"] != 400 || sums["output"] != 50 {
			t.Errorf("%s: token sums %v, want input 400 output 50", sampler.Description(), sums)
		}
		dur := got["gen_ai.client.operation.duration"].(metricdata.Histogram[float64])
		counts := map[string]uint64{}
		for _, dp := range dur.DataPoints {
			op, _ := dp.Attributes.Value("gen_ai.operation.name")
			et, _ := dp.Attributes.Value("error.type")
			counts[op.AsString()+"/"+et.AsString()] += dp.Count
		}
		if counts["chat/"] != 1 || counts["chat/overloaded_error"] != 1 || counts["execute_tool/"] != 1 {
			t.Errorf("%s: durations %v", sampler.Description(), counts)
		}
		if ttfc := got["gen_ai.client.operation.time_to_first_chunk"].(metricdata.Histogram[float64]); len(ttfc.DataPoints) != 1 || ttfc.DataPoints[0].Count != 1 {
			t.Errorf("%s: time to first chunk %+v", sampler.Description(), ttfc)
		}
		if pc := got["gen_ai.client.operation.time_per_output_chunk"].(metricdata.Histogram[float64]); len(pc.DataPoints) != 1 || pc.DataPoints[0].Count != 1 {
			t.Errorf("%s: per output chunk %+v", sampler.Description(), pc)
		}
	}
}

// Close ends open spans, marked unfinished; a run's end ends its open
// calls; later events are refused.
func TestCloseWithRunsOpen(t *testing.T) {
	tr := newTraced(t, sdktrace.AlwaysSample())
	ctx := context.Background()
	em := sluice.NewEmitter(tr.sink, event.Meta{RunID: "r1"})
	_ = sluice.Emit(ctx, em, event.PipelineStarted{})
	_ = em.Inference("i1").ProviderCallStarted(ctx, "openai", "gpt-5", 1, 0)
	em2 := sluice.NewEmitter(tr.sink, event.Meta{RunID: "r2"})
	_ = sluice.Emit(ctx, em2, event.PipelineStarted{})
	_ = em2.ToolCall("t1").ToolCallStarted(ctx, "t1", "search", nil)
	_ = sluice.Emit(ctx, em2, event.PipelineCompleted{})
	if n := len(tr.spans.Ended()); n != 2 {
		t.Fatalf("%d spans ended after r2's pipeline completed, want 2 (the pipeline and its open tool call)", n)
	}
	for _, s := range tr.spans.Ended() {
		if s.Name() == "execute_tool search" && (s.Status().Code != codes.Error || attrs(s)["error.type"].AsString() != telemetry.ErrorTypeUnfinished) {
			t.Errorf("open tool call ended with %v", s.Status())
		}
	}
	if err := tr.sink.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(tr.spans.Ended()); n != 4 {
		t.Fatalf("%d spans ended after Close, want 4", n)
	}
	for _, s := range tr.spans.Ended()[2:] {
		if s.Status().Code != codes.Error || attrs(s)["error.type"].AsString() != telemetry.ErrorTypeUnfinished {
			t.Errorf("%s: %v, want an unfinished error", s.Name(), s.Status())
		}
	}
	if err := sluice.Emit(ctx, em, event.PipelineCompleted{}); !errors.Is(err, telemetry.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
}

// Runs published from many goroutines at once each get their own
// complete trace.
func TestConcurrentRuns(t *testing.T) {
	tr := newTraced(t, sdktrace.AlwaysSample())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			ctx := context.Background()
			em := sluice.NewEmitter(tr.sink, event.Meta{RunID: "run-" + string(rune('a'+g))})
			_ = sluice.Emit(ctx, em, event.RunStarted{})
			for i := range 20 {
				inf := em.Inference(em.Meta().RunID + "-" + string(rune('a'+i)))
				_ = inf.ProviderCallStarted(ctx, "openai", "gpt-5", 1, 0)
				_ = inf.TextDelta(ctx, 0, 0, "x")
				_ = inf.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Provider: "openai", Model: "gpt-5"})
			}
			_ = sluice.Emit(ctx, em, event.RunCompleted{})
		})
	}
	wg.Wait()
	ended := tr.spans.Ended()
	if len(ended) != 8*21 {
		t.Fatalf("%d spans, want %d", len(ended), 8*21)
	}
	roots := map[[16]byte]int{}
	for _, s := range ended {
		if s.Status().Code == codes.Error {
			t.Errorf("%s ended with %v", s.Name(), s.Status())
		}
		roots[s.SpanContext().TraceID()]++
	}
	if len(roots) != 8 {
		t.Errorf("%d traces, want 8", len(roots))
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []telemetry.Option{nil, telemetry.WithTracerProvider(nil), telemetry.WithMeterProvider(nil)} {
		if _, err := telemetry.New(o); !errors.Is(err, telemetry.ErrInvalid) {
			t.Errorf("New(bad option) = %v, want ErrInvalid", err)
		}
	}
}

// Runs that never end cannot grow the sink without bound: past
// WithMaxOpen, the oldest open span ends as unfinished.
func TestMaxOpenSpans(t *testing.T) {
	tr := newTraced(t, sdktrace.AlwaysSample(), telemetry.WithMaxOpen(3))
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		ev := event.New(event.PipelineStarted{}, event.Meta{RunID: fmt.Sprint("run-", i)})
		ev.Time = base.Add(time.Duration(i) * time.Second)
		if err := tr.sink.Publish(ctx, &ev); err != nil {
			t.Fatal(err)
		}
	}
	ended := tr.spans.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans ended with 5 runs open and room for 3, want the 2 oldest", len(ended))
	}
	for i, s := range ended {
		if !s.StartTime().Equal(base.Add(time.Duration(i)*time.Second)) || attrs(s)["error.type"].AsString() != telemetry.ErrorTypeUnfinished {
			t.Errorf("ended span %d started %v with %v, want the oldest, unfinished", i, s.StartTime(), s.Status())
		}
	}
	if _, err := telemetry.New(telemetry.WithMaxOpen(0)); !errors.Is(err, telemetry.ErrInvalid) {
		t.Errorf("WithMaxOpen(0) = %v", err)
	}
}
