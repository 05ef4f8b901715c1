package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/telemetry"
	"github.com/sluice-events/sluice/telemetry/prom"
)

func spanAttrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

// The demo run, traced: one invoke_agent span with the two chat calls and
// the tool call as its children, each with the attributes the events say.
func TestDemoTrace(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	tel, err := telemetry.New(telemetry.WithTracerProvider(tp), telemetry.WithMeterProvider(mp), telemetry.WithAgentName("travel"))
	if err != nil {
		t.Fatal(err)
	}
	pm, err := prom.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := runDemo(t.Context(), sluice.Fanout(tel, pm), 0, nil, newDemoMeta()); err != nil {
		t.Fatal(err)
	}
	demoMetrics(t, reader, pm)
	if err := tel.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans().Snapshots()
	var names []string
	for _, s := range spans {
		names = append(names, s.Name())
	}
	// Spans are exported as they end.
	want := []string{"chat claude-sonnet-4-5", "execute_tool get_weather", "chat claude-sonnet-4-5", "invoke_agent travel"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("spans %q, want %q", names, want)
	}
	agent := spans[3]
	for _, s := range spans[:3] {
		if s.Parent().SpanID() != agent.SpanContext().SpanID() || s.SpanContext().TraceID() != agent.SpanContext().TraceID() {
			t.Errorf("%s is not a child of %s", s.Name(), agent.Name())
		}
		if s.StartTime().Before(agent.StartTime()) || s.EndTime().After(agent.EndTime()) {
			t.Errorf("%s [%v, %v] is outside its parent [%v, %v]", s.Name(), s.StartTime(), s.EndTime(), agent.StartTime(), agent.EndTime())
		}
	}
	for i, w := range []map[attribute.Key]string{
		{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "anthropic", "gen_ai.request.model": "claude-sonnet-4-5",
			"gen_ai.response.model": "claude-sonnet-4-5-20250929", "gen_ai.response.id": "msg_01WeatherDemoToolUse",
			"gen_ai.response.finish_reasons": `["tool_calls"]`, "gen_ai.usage.input_tokens": "412", "gen_ai.usage.output_tokens": "96"},
		{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather", "gen_ai.tool.call.id": "toolu_01WeatherParis7fK2"},
		{"gen_ai.operation.name": "chat", "gen_ai.response.id": "msg_01WeatherDemoAnswer", "gen_ai.response.finish_reasons": `["stop"]`,
			"gen_ai.usage.input_tokens": "561", "gen_ai.usage.output_tokens": "41"},
		{"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "travel"},
	} {
		got := spanAttrs(spans[i])
		for k, v := range w {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", spans[i].Name(), k, got[k], v)
			}
		}
		if !strings.HasPrefix(got["gen_ai.conversation.id"], "conv-") {
			t.Errorf("%s: conversation ID %q", spans[i].Name(), got["gen_ai.conversation.id"])
		}
		if spans[i].Status().Code != codes.Unset {
			t.Errorf("%s: status %v", spans[i].Name(), spans[i].Status())
		}
	}
	for _, i := range []int{0, 2} {
		if _, ok := spanAttrs(spans[i])["gen_ai.response.time_to_first_chunk"]; !ok {
			t.Errorf("%s: no time to first chunk", spans[i].Name())
		}
	}
}

// demoMetrics checks the demo's metrics: two calls of 412+96 and 561+41
// tokens, one tool call.
func demoMetrics(t *testing.T, reader *sdkmetric.ManualReader, pm *prom.Sink) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	tokens, calls, tools, ttfc := map[string]int64{}, uint64(0), uint64(0), uint64(0)
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[int64]:
				for _, dp := range d.DataPoints {
					typ, _ := dp.Attributes.Value("gen_ai.token.type")
					tokens[typ.AsString()] += dp.Sum
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					op, _ := dp.Attributes.Value("gen_ai.operation.name")
					switch {
					case m.Name == "gen_ai.client.operation.duration" && op.AsString() == "chat":
						calls += dp.Count
					case m.Name == "gen_ai.client.operation.duration" && op.AsString() == "execute_tool":
						tools += dp.Count
					case m.Name == "gen_ai.client.operation.time_to_first_chunk":
						ttfc += dp.Count
					}
				}
			}
		}
	}
	if tokens["input"] != 973 || tokens["output"] != 137 || calls != 2 || tools != 1 || ttfc != 2 {
		t.Errorf("OpenTelemetry metrics: tokens %v, %d calls, %d tool calls, %d first chunks; want input 973 output 137, 2, 1, 2", tokens, calls, tools, ttfc)
	}
	want := `
# HELP sluice_genai_calls_total Provider calls that ended (completed or failed).
# TYPE sluice_genai_calls_total counter
sluice_genai_calls_total{model="claude-sonnet-4-5",provider="anthropic"} 2
# HELP sluice_tool_calls_total Tool calls that ended (completed or failed).
# TYPE sluice_tool_calls_total counter
sluice_tool_calls_total{tool="get_weather"} 1
# HELP sluice_genai_tokens_total Tokens used by completed provider calls, by provider, model and type (input, output, cache_read, cache_creation, reasoning; cache and reasoning tokens are also counted in input and output).
# TYPE sluice_genai_tokens_total counter
sluice_genai_tokens_total{model="claude-sonnet-4-5",provider="anthropic",type="input"} 973
sluice_genai_tokens_total{model="claude-sonnet-4-5",provider="anthropic",type="output"} 137
`
	if err := testutil.CollectAndCompare(pm, strings.NewReader(want), "sluice_genai_calls_total", "sluice_tool_calls_total", "sluice_genai_tokens_total"); err != nil {
		t.Error(err)
	}
}

// An interrupted demo run: the streaming call and the run end with an
// error status.
func TestDemoTraceInterrupted(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	tel, err := telemetry.New(telemetry.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// Cancel once the answer (the second call) starts to stream.
	calls := 0
	watch := sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
		if ev.Type == event.TypeProviderCallStarted {
			calls++
		}
		if calls == 2 && ev.Type == event.TypeTextDelta {
			cancel()
		}
		return nil
	})
	if err := runDemo(ctx, sluice.Fanout(tel, watch), 4, nil, newDemoMeta()); err != nil {
		t.Fatal(err)
	}
	_ = tel.Close(t.Context())
	spans := exp.GetSpans().Snapshots()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4", len(spans))
	}
	chat, agent := spans[2], spans[3]
	if chat.Status().Code != codes.Error || spanAttrs(chat)["error.type"] != event.KindCanceled {
		t.Errorf("interrupted chat: %v, error.type %q", chat.Status(), spanAttrs(chat)["error.type"])
	}
	if agent.Status().Code != codes.Error || agent.EndTime().Before(chat.EndTime()) {
		t.Errorf("interrupted run: %v", agent.Status())
	}
}

// sluice serve takes OTLP traces and counts the provider calls it logs
// (from OTLP or not) on /metrics.
func TestServeTracesAndGenAIMetrics(t *testing.T) {
	addr := freeAddr(t)
	_, _, stop := start(t, "serve", "--addr", addr, "--db", filepath.Join(t.TempDir(), "s.db"), "--shutdown-timeout", "2s")
	base := "http://" + addr
	waitFor(t, "the server", func() bool {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	body := `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
	  "name":"chat gpt-5","startTimeUnixNano":"1764669600000000000","endTimeUnixNano":"1764669601000000000",
	  "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},
	   {"key":"gen_ai.request.model","value":{"stringValue":"gpt-5"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}}]}]}]}]}`
	if code := post(t, base+"/v1/traces", "", body); code != 200 {
		t.Fatalf("POST /v1/traces: %d", code)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`sluice_genai_tokens_total{model="gpt-5",provider="openai",type="input"} 12`,
		`sluice_genai_calls_total{model="gpt-5",provider="openai"} 1`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
