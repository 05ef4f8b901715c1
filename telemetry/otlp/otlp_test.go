package otlp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newServer is a Sluice server over an in-memory log, on a test listener.
func newServer(t testing.TB, cfg server.Config) (*httptest.Server, store.Store) {
	t.Helper()
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(st)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hub = h
	cfg.Logger = discardLogger()
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close(context.Background())
		_ = h.Close(context.Background())
	})
	return hs, st
}

func all(t testing.TB, st store.Store) []event.Event {
	t.Helper()
	var out []event.Event
	for e, err := range st.ReadAll(context.Background(), store.AllQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Event)
	}
	return out
}

// exporter is the OpenTelemetry Go SDK exporting to hs with OTLP/HTTP.
func exporter(t testing.TB, hs *httptest.Server, opts ...otlptracehttp.Option) *sdktrace.TracerProvider {
	t.Helper()
	exp, err := otlptracehttp.New(context.Background(), append([]otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(hs.URL + "/v1/traces"), otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
}

// An agent instrumented with the OpenTelemetry Go SDK, exporting OTLP/HTTP
// to sluice serve: its GenAI spans become provider, tool and run events in
// the conversation's session, its other spans trace.span events.
func TestSDKExporterRoundTrip(t *testing.T) {
	for _, gz := range []bool{false, true} {
		hs, st := newServer(t, server.Config{})
		var opts []otlptracehttp.Option
		if gz {
			opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}
		tp := exporter(t, hs, opts...)
		tr := tp.Tracer("agent")
		t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		at := func(ms int) trace.SpanStartEventOption {
			return trace.WithTimestamp(t0.Add(time.Duration(ms) * time.Millisecond))
		}
		end := func(ms int) trace.SpanEndOption {
			return trace.WithTimestamp(t0.Add(time.Duration(ms) * time.Millisecond))
		}
		conv := attribute.String("gen_ai.conversation.id", "conv-py-1")
		ctx, agent := tr.Start(context.Background(), "invoke_agent planner", at(0), trace.WithAttributes(conv,
			attribute.String("gen_ai.operation.name", "invoke_agent"), attribute.String("gen_ai.agent.name", "planner")))
		_, chat := tr.Start(ctx, "chat gpt-5", at(10), trace.WithAttributes(conv,
			attribute.String("gen_ai.operation.name", "chat"), attribute.String("gen_ai.provider.name", "openai"),
			attribute.String("gen_ai.request.model", "gpt-5"), attribute.String("gen_ai.response.model", "gpt-5-2025-08-07"),
			attribute.Int("gen_ai.usage.input_tokens", 120), attribute.Int("gen_ai.usage.output_tokens", 30),
			attribute.Int("gen_ai.usage.cache_read.input_tokens", 100), attribute.StringSlice("gen_ai.response.finish_reasons", []string{"tool_calls"})))
		chat.End(end(510))
		_, tool := tr.Start(ctx, "execute_tool search", at(520), trace.WithAttributes(conv,
			attribute.String("gen_ai.operation.name", "execute_tool"), attribute.String("gen_ai.tool.name", "search"),
			attribute.String("gen_ai.tool.call.id", "call_1"), attribute.String("gen_ai.tool.call.arguments", `{"q":"paris"}`)))
		tool.SetStatus(codes.Error, "search is down")
		tool.SetAttributes(attribute.String("error.type", "timeout"))
		tool.End(end(600))
		_, db := tr.Start(ctx, "SELECT users", at(610), trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.String("db.system", "postgresql")))
		db.End(end(620))
		agent.End(end(700))
		_, other := tr.Start(context.Background(), "GET /health", at(800))
		other.End(end(801))
		if err := tp.Shutdown(context.Background()); err != nil {
			t.Fatalf("gzip %v: export: %v", gz, err)
		}

		got := all(t, st)
		var types []string
		for _, ev := range got {
			types = append(types, string(ev.Type))
		}
		want := "run.started provider.call.started provider.call.completed tool.call.started tool.call.failed trace.span run.completed"
		var conversation []string
		for _, ev := range got {
			if ev.Meta.SessionID == "conv-py-1" {
				conversation = append(conversation, string(ev.Type))
			}
		}
		if strings.Join(conversation, " ") != want {
			t.Fatalf("gzip %v: conversation events %v, want %s (all: %v)", gz, conversation, want, types)
		}
		// The span without a conversation is in its trace's session.
		last := got[len(got)-1]
		if last.Type != event.TypeSpan || !strings.HasPrefix(last.Meta.SessionID, "otel-") {
			t.Fatalf("last event %s in %s", last.Type, last.Meta.SessionID)
		}
		runID := got[0].Meta.RunID
		for _, ev := range got[:len(got)-1] {
			if ev.Meta.RunID != runID || ev.Meta.ConversationID != "conv-py-1" {
				t.Errorf("%s: run %q conversation %q", ev.Type, ev.Meta.RunID, ev.Meta.ConversationID)
			}
		}
		if got[0].Meta.Labels["agent"] != "planner" || !got[0].Time.Equal(t0) {
			t.Errorf("run.started %+v at %v", got[0].Meta, got[0].Time)
		}
		done, _ := event.As[event.ProviderCallCompleted](got[2])
		wantDone := event.ProviderCallCompleted{Provider: "openai", Model: "gpt-5-2025-08-07", Duration: 500 * time.Millisecond,
			Usage: event.Usage{InputTokens: 120, OutputTokens: 30, TotalTokens: 150, CacheReadTokens: 100}, CostUnknown: true, FinishReason: "tool_calls"}
		if done != wantDone || got[2].Meta.InferenceID != got[1].Meta.InferenceID || got[1].Meta.ParentID != agentSpanID(got[0]) {
			t.Errorf("provider call %+v meta %+v", done, got[2].Meta)
		}
		started, _ := event.As[event.ToolCallStarted](got[3])
		failed, _ := event.As[event.ToolCallFailed](got[4])
		if started.Name != "search" || string(started.Arguments) != `{"q":"paris"}` || got[3].Meta.ToolCallID != "call_1" ||
			failed.Error.Message != "search is down" || failed.Error.Code != "timeout" || failed.Duration != 80*time.Millisecond {
			t.Errorf("tool call %+v %+v", started, failed)
		}
		span, _ := event.As[event.Span](got[5])
		if span.Name != "SELECT users" || span.Kind != "client" || string(span.Attributes) != `{"db.system":"postgresql"}` || span.ParentSpanID != agentSpanID(got[0]) {
			t.Errorf("span %+v", span)
		}
	}
}

func agentSpanID(ev event.Event) string { return ev.Meta.Labels["otel.span_id"] }

// The spans of Sluice's own telemetry sink, exported to another Sluice,
// come back as the events they were made from.
func TestTelemetrySinkToIngest(t *testing.T) {
	hs, st := newServer(t, server.Config{})
	tp := exporter(t, hs)
	tel, err := telemetry.New(telemetry.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	em := sluice.NewEmitter(tel, event.Meta{RunID: "r1", ConversationID: "conv-9"})
	_ = sluice.Emit(ctx, em, event.RunStarted{})
	call := em.Inference("i1")
	_ = call.ProviderCallStarted(ctx, "anthropic", "claude-sonnet-4-5", 1, 0)
	usage := event.Usage{InputTokens: 412, OutputTokens: 96, CacheReadTokens: 7}
	_ = call.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Provider: "anthropic", Model: "claude-sonnet-4-5-20250929", Usage: usage, FinishReason: "stop"})
	_ = sluice.Emit(ctx, em, event.RunCompleted{})
	_ = tel.Close(ctx)
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	var done *event.ProviderCallCompleted
	for _, ev := range all(t, st) {
		if p, ok := event.As[event.ProviderCallCompleted](ev); ok && ev.Meta.SessionID == "conv-9" {
			done = &p
		}
	}
	usage.TotalTokens = 508
	if done == nil || done.Usage != usage || done.Model != "claude-sonnet-4-5-20250929" || done.FinishReason != "stop" {
		t.Fatalf("provider call after the round trip: %+v", done)
	}
}

const jsonBody = `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"py-agent"}}]},
 "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"chat claude",
  "kind":3,"startTimeUnixNano":"1764669600000000000","endTimeUnixNano":"1764669601000000000",
  "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},{"key":"gen_ai.system","value":{"stringValue":"anthropic"}},
   {"key":"gen_ai.request.model","value":{"stringValue":"claude"}},{"key":"gen_ai.usage.input_tokens","value":{"intValue":"12"}}],
  "status":{"code":2,"message":"overloaded"}},
  {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","name":"retrieve","startTimeUnixNano":"1764669600000000000",
   "endTimeUnixNano":"1764669600500000000","attributes":[{"key":"k","value":{"arrayValue":{"values":[{"intValue":"1"},{"boolValue":true}]}}}]}]}]}]}`

func post(t *testing.T, hs *httptest.Server, ct string, body []byte, hdr ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", hs.URL+"/v1/traces", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestJSON(t *testing.T) {
	hs, st := newServer(t, server.Config{})
	if code, body := post(t, hs, "application/json", []byte(jsonBody)); code != 200 || body != "{}" {
		t.Fatalf("POST = %d %s", code, body)
	}
	got := all(t, st)
	if len(got) != 3 {
		t.Fatalf("%d events", len(got))
	}
	for _, ev := range got {
		if ev.Meta.SessionID != "otel-5b8efff798038103d269b633813fc60c" || ev.Meta.Labels["service.name"] != "py-agent" {
			t.Errorf("%s meta %+v", ev.Type, ev.Meta)
		}
	}
	failed, ok := event.As[event.ProviderCallFailed](got[2])
	if !ok || failed.Provider != "anthropic" || failed.Error.Message != "overloaded" || failed.Duration != time.Second {
		t.Errorf("last event %s %+v", got[2].Type, got[2].Payload)
	}
	span, _ := event.As[event.Span](got[1])
	if span.Name != "retrieve" || string(span.Attributes) != `{"k":[1,true]}` {
		t.Errorf("span %+v", span)
	}
}

// Bad bodies get a 4xx JSON error and store nothing.
func TestBadInput(t *testing.T) {
	hs, st := newServer(t, server.Config{MaxBodyBytes: 4096, MaxBatch: 2})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(bytes.Repeat([]byte(" "), 10000))
	_ = zw.Close()
	badID := strings.Replace(jsonBody, "eee19b7ec3c1b174", "eee19b7ec3c1b1", 1)
	three := strings.Replace(jsonBody, `"name":"retrieve"`, `"name":"a"},{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b176","name":"b"`, 1)
	for name, c := range map[string]struct {
		ct, body string
		hdr      []string
		code     int
	}{
		"protobuf garbage":   {"application/x-protobuf", "\xff\xff\xff", nil, 400},
		"JSON garbage":       {"application/json", `{"resourceSpans":[{`, nil, 400},
		"JSON unknown field": {"application/json", `{"resourceSpans":"x"}`, nil, 400},
		"ID not hex":         {"application/json", strings.Replace(jsonBody, "eee19b7ec3c1b174", "zzz19b7ec3c1b174", 1), nil, 400},
		"short span ID":      {"application/json", badID, nil, 400},
		"too many spans":     {"application/json", three, nil, 413},
		"too large":          {"application/json", `{"resourceSpans":[]` + strings.Repeat(" ", 5000) + "}", nil, 413},
		"gzip bomb":          {"application/json", gz.String(), []string{"Content-Encoding", "gzip"}, 413},
		"bad gzip":           {"application/json", "not gzip", []string{"Content-Encoding", "gzip"}, 400},
		"brotli":             {"application/json", "{}", []string{"Content-Encoding", "br"}, 415},
		"text/plain":         {"text/plain", jsonBody, nil, 415},
	} {
		code, body := post(t, hs, c.ct, []byte(c.body), c.hdr...)
		var e struct {
			Error struct{ Code, Message string }
		}
		if code != c.code || json.Unmarshal([]byte(body), &e) != nil || e.Error.Message == "" {
			t.Errorf("%s: %d %s, want %d with a JSON error", name, code, body, c.code)
		}
	}
	if n := len(all(t, st)); n != 0 {
		t.Errorf("%d events stored from bad requests", n)
	}
	// An empty export is fine and stores nothing.
	if code, _ := post(t, hs, "application/x-protobuf", nil); code != 200 {
		t.Errorf("empty export: %d", code)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
