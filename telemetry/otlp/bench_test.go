package otlp_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/telemetry/otlp"
)

// benchRequest is an export of 100 spans of one trace: 50 chat spans with
// usage and 50 execute_tool spans.
func benchRequest() *coltracepb.ExportTraceServiceRequest {
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	num := func(k string, v int64) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
	}
	trace := bytes.Repeat([]byte{7}, 16)
	var spans []*tracepb.Span
	for i := range 100 {
		id := make([]byte, 8)
		binary.BigEndian.PutUint64(id, uint64(i+1))
		sp := &tracepb.Span{TraceId: trace, SpanId: id, Name: "chat gpt-5", StartTimeUnixNano: uint64(1e18 + i*1e6), EndTimeUnixNano: uint64(1e18 + i*1e6 + 5e5)}
		if i%2 == 0 {
			sp.Attributes = []*commonpb.KeyValue{str("gen_ai.operation.name", "chat"), str("gen_ai.provider.name", "openai"),
				str("gen_ai.request.model", "gpt-5"), num("gen_ai.usage.input_tokens", 400), num("gen_ai.usage.output_tokens", 40),
				str("gen_ai.conversation.id", "conv-1")}
		} else {
			sp.Name = "execute_tool search"
			sp.Attributes = []*commonpb.KeyValue{str("gen_ai.operation.name", "execute_tool"), str("gen_ai.tool.name", "search"),
				str("gen_ai.tool.call.arguments", `{"q":"paris"}`)}
		}
		spans = append(spans, sp)
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}}}}}
}

// BenchmarkConvert decodes a 100-span protobuf export and turns it into
// events.
func BenchmarkConvert(b *testing.B) {
	body, _ := proto.Marshal(benchRequest())
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req, err := otlp.Decode(otlp.ContentTypeProtobuf, body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := otlp.Events(req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkIngest posts a 100-span export to the server (over an in-memory
// log), against the baseline of posting the same 200 events as JSON to
// POST /v1/events.
func BenchmarkIngest(b *testing.B) {
	req := benchRequest()
	pb, _ := proto.Marshal(req)
	evs, _ := otlp.Events(req)
	var native bytes.Buffer
	native.WriteByte('[')
	for i := range evs {
		if i > 0 {
			native.WriteByte(',')
		}
		j, _ := evs[i].MarshalJSON()
		native.Write(j)
	}
	native.WriteByte(']')
	for _, c := range []struct {
		name, path, ct string
		body           []byte
	}{
		{"baseline=POST /v1/events (200 events)", "/v1/events", "application/json", native.Bytes()},
		{"POST /v1/traces (100 spans, protobuf)", "/v1/traces", otlp.ContentTypeProtobuf, pb},
	} {
		b.Run(c.name, func(b *testing.B) {
			st, _ := memory.New()
			h, _ := hub.New(st)
			defer h.Close(context.Background())
			srv, err := server.New(context.Background(), server.Config{Hub: h, Logger: discardLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close(context.Background())
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("POST", c.path, bytes.NewReader(c.body))
				r.Host, r.RemoteAddr = "127.0.0.1", "127.0.0.1:9"
				r.Header.Set("Content-Type", c.ct)
				w := httptest.NewRecorder()
				srv.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
			b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}
