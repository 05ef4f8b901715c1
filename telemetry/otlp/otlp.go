// Package otlp takes in OpenTelemetry traces (OTLP/HTTP, protobuf or JSON)
// and turns their spans into Sluice events, so that an agent in any
// language, instrumented with OpenTelemetry, appears in Sluice's log,
// streams and UI. The server serves it as POST /v1/traces.
//
// Spans that follow the GenAI semantic conventions (gen_ai.operation.name)
// become the events Sluice's own adapters emit:
//
//	chat, text_completion, generate_content, embeddings   provider.call.started, then .completed (with usage) or .failed
//	execute_tool                                          tool.call.started, then .completed or .failed
//	invoke_agent, create_agent, invoke_workflow           run.started, then run.completed or run.failed
//
// Every other span, and a GenAI span of another operation, becomes one
// trace.span event with all its attributes: nothing is dropped silently.
// Events go to the session named by gen_ai.conversation.id (of the span,
// or of another span of its trace in the same request), or else "otel-"
// and the trace ID; the run is the trace ID, the parent the parent
// span ID, and provider calls and tool calls are identified by their span
// IDs (InferenceID, ToolCallID).
package otlp

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"slices"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/sluice-events/sluice/event"
)

// Content types of OTLP/HTTP bodies.
const (
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeJSON     = "application/json"
)

// Errors wrapped by Decode and Events.
var (
	// ErrContentType is wrapped for a body of another content type.
	ErrContentType = errors.New("otlp: unsupported content type")
	// ErrDecode is wrapped for a body that does not decode.
	ErrDecode = errors.New("otlp: malformed request")
	// ErrInvalidSpan is wrapped for a span without a valid trace or span ID.
	ErrInvalidSpan = errors.New("otlp: invalid span")
)

// Decode decodes an ExportTraceServiceRequest sent with the given
// Content-Type: binary protobuf (application/x-protobuf) or OTLP JSON
// (application/json, whose trace and span IDs are hex, not base64).
func Decode(contentType string, body []byte) (*coltracepb.ExportTraceServiceRequest, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	req := &coltracepb.ExportTraceServiceRequest{}
	switch mt {
	case ContentTypeProtobuf:
		if err := proto.Unmarshal(body, req); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDecode, err)
		}
	case ContentTypeJSON:
		b, err := hexIDsToBase64(body)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDecode, err)
		}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, req); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDecode, err)
		}
	default:
		return nil, fmt.Errorf("%w: %q (send %s or %s)", ErrContentType, contentType, ContentTypeProtobuf, ContentTypeJSON)
	}
	return req, nil
}

// Response is the body of a successful export in the request's encoding.
func Response(contentType string) (ct string, body []byte) {
	if mt, _, _ := mime.ParseMediaType(contentType); mt == ContentTypeJSON {
		return ContentTypeJSON, []byte("{}")
	}
	b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	return ContentTypeProtobuf, b
}

var idKeys = map[string]bool{"traceId": true, "spanId": true, "parentSpanId": true, "trace_id": true, "span_id": true, "parent_span_id": true}

// hexIDsToBase64 rewrites the hex trace and span IDs of OTLP JSON into the
// base64 that protojson expects for bytes fields.
func hexIDsToBase64(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the JSON value")
	}
	var walk func(v any) error
	walk = func(v any) error {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if s, ok := x.(string); ok && idKeys[k] {
					b, err := hex.DecodeString(s)
					if err != nil {
						return fmt.Errorf("%s %q is not hex", k, s)
					}
					v[k] = base64.StdEncoding.EncodeToString(b)
					continue
				}
				if err := walk(x); err != nil {
					return err
				}
			}
		case []any:
			for _, x := range v {
				if err := walk(x); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(v); err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// Count returns the number of spans in req.
func Count(req *coltracepb.ExportTraceServiceRequest) int {
	n := 0
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			n += len(ss.GetSpans())
		}
	}
	return n
}

// Events turns the spans of req into events, ordered by time (a span's
// start event before its children's). A span without
// gen_ai.conversation.id goes to the conversation of another span of its
// trace in req, if one has it. Events get fresh IDs; their Seq is left to
// the log. A span without a valid trace or span ID is an error wrapping
// ErrInvalidSpan, and then no events are returned.
func Events(req *coltracepb.ExportTraceServiceRequest) ([]event.Event, error) {
	convs := map[string]string{} // conversation by trace ID
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				for _, kv := range sp.GetAttributes() {
					if kv.GetKey() == "gen_ai.conversation.id" && kv.GetValue().GetStringValue() != "" {
						convs[string(sp.GetTraceId())] = kv.GetValue().GetStringValue()
					}
				}
			}
		}
	}
	var out []event.Event
	for _, rs := range req.GetResourceSpans() {
		service := ""
		for _, kv := range rs.GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				service = kv.GetValue().GetStringValue()
			}
		}
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				var err error
				if out, err = appendSpan(out, sp, service, convs[string(sp.GetTraceId())]); err != nil {
					return nil, err
				}
			}
		}
	}
	slices.SortStableFunc(out, func(a, b event.Event) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// attrs is a span's attributes by key.
type attrs map[string]*commonpb.AnyValue

func (a attrs) str(keys ...string) string {
	for _, k := range keys {
		if v, ok := a[k]; ok {
			switch x := v.GetValue().(type) {
			case *commonpb.AnyValue_StringValue:
				return x.StringValue
			case *commonpb.AnyValue_ArrayValue:
				if vs := x.ArrayValue.GetValues(); len(vs) > 0 {
					return vs[0].GetStringValue()
				}
			}
		}
	}
	return ""
}

func (a attrs) int(key string) int64 {
	switch x := a[key].GetValue().(type) {
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return int64(x.DoubleValue)
	}
	return 0
}

// json returns the attribute as JSON if it is a string holding valid JSON.
func (a attrs) json(key string) json.RawMessage {
	s := a.str(key)
	if s == "" || !json.Valid([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}

func appendSpan(out []event.Event, sp *tracepb.Span, service, traceConv string) ([]event.Event, error) {
	if len(sp.GetTraceId()) != 16 || len(sp.GetSpanId()) != 8 || allZero(sp.GetTraceId()) || allZero(sp.GetSpanId()) {
		return out, fmt.Errorf("%w: %q needs a 16-byte trace ID and an 8-byte span ID, not zero", ErrInvalidSpan, sp.GetName())
	}
	if p := sp.GetParentSpanId(); len(p) != 0 && len(p) != 8 {
		return out, fmt.Errorf("%w: %q has a %d-byte parent span ID", ErrInvalidSpan, sp.GetName(), len(p))
	}
	a := make(attrs, len(sp.GetAttributes()))
	for _, kv := range sp.GetAttributes() {
		a[kv.GetKey()] = kv.GetValue()
	}
	traceID, spanID := hex.EncodeToString(sp.GetTraceId()), hex.EncodeToString(sp.GetSpanId())
	start := time.Unix(0, int64(sp.GetStartTimeUnixNano())).UTC()
	end := time.Unix(0, int64(sp.GetEndTimeUnixNano())).UTC()
	if sp.GetEndTimeUnixNano() < sp.GetStartTimeUnixNano() {
		end = start
	}
	conv := cmp.Or(a.str("gen_ai.conversation.id"), traceConv)
	meta := event.Meta{
		SessionID: conv, ConversationID: conv, RunID: traceID,
		Labels: map[string]string{"otel.trace_id": traceID, "otel.span_id": spanID},
	}
	if meta.SessionID == "" {
		meta.SessionID = "otel-" + traceID
	}
	if len(sp.GetParentSpanId()) == 8 {
		meta.ParentID = hex.EncodeToString(sp.GetParentSpanId())
	}
	if service != "" {
		meta.Labels["service.name"] = service
	}
	failed := sp.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR
	fail := event.Error{Message: sp.GetStatus().GetMessage(), Code: a.str("error.type")}
	if fail.Message == "" {
		fail.Message = "span " + sp.GetName() + " ended with an error"
	}
	d := end.Sub(start)
	add := func(t time.Time, m event.Meta, p event.Payload) {
		out = append(out, event.Event{ID: event.NewID(), Type: p.EventType(), Time: t, Meta: m, Payload: p})
	}
	switch op := a.str("gen_ai.operation.name"); op {
	case "chat", "text_completion", "generate_content", "embeddings":
		m := meta
		m.InferenceID = spanID
		m.Provider = a.str("gen_ai.provider.name", "gen_ai.system")
		m.Model = a.str("gen_ai.request.model")
		add(start, m, event.ProviderCallStarted{Provider: m.Provider, Model: m.Model})
		if failed {
			add(end, m, event.ProviderCallFailed{Provider: m.Provider, Model: m.Model, Error: fail, Duration: d})
			break
		}
		u := event.Usage{
			InputTokens: a.int("gen_ai.usage.input_tokens"), OutputTokens: a.int("gen_ai.usage.output_tokens"),
			CacheReadTokens: a.int("gen_ai.usage.cache_read.input_tokens"), CacheCreationTokens: a.int("gen_ai.usage.cache_creation.input_tokens"),
			ReasoningTokens: a.int("gen_ai.usage.reasoning.output_tokens"),
		}
		if u.InputTokens != 0 || u.OutputTokens != 0 {
			u.TotalTokens = u.InputTokens + u.OutputTokens
		}
		add(end, m, event.ProviderCallCompleted{Provider: m.Provider, Model: cmp.Or(a.str("gen_ai.response.model"), m.Model),
			Duration: d, Usage: u, CostUnknown: true, FinishReason: a.str("gen_ai.response.finish_reasons")})
	case "execute_tool":
		m := meta
		m.ToolCallID = cmp.Or(a.str("gen_ai.tool.call.id"), spanID)
		name := cmp.Or(a.str("gen_ai.tool.name"), sp.GetName(), "execute_tool")
		add(start, m, event.ToolCallStarted{CallID: m.ToolCallID, Name: name, Arguments: a.json("gen_ai.tool.call.arguments")})
		if failed {
			add(end, m, event.ToolCallFailed{CallID: m.ToolCallID, Name: name, Duration: d, Error: fail})
		} else {
			add(end, m, event.ToolCallCompleted{CallID: m.ToolCallID, Name: name, Duration: d, Result: a.json("gen_ai.tool.call.result")})
		}
	case "invoke_agent", "create_agent", "invoke_workflow":
		m := meta
		if name := a.str("gen_ai.agent.name", "gen_ai.workflow.name"); name != "" {
			m.Labels["agent"] = name
		}
		add(start, m, event.RunStarted{})
		if failed {
			add(end, m, event.RunFailed{Error: fail})
		} else {
			add(end, m, event.RunCompleted{Status: "ok", Duration: d})
		}
	default:
		add(end, meta, genericSpan(sp, traceID, spanID, meta.ParentID, service, start, end))
	}
	return out, nil
}

func genericSpan(sp *tracepb.Span, traceID, spanID, parent, service string, start, end time.Time) event.Span {
	p := event.Span{TraceID: traceID, SpanID: spanID, ParentSpanID: parent, Name: sp.GetName(), Service: service, Start: start, End: end}
	switch sp.GetKind() {
	case tracepb.Span_SPAN_KIND_INTERNAL:
		p.Kind = "internal"
	case tracepb.Span_SPAN_KIND_SERVER:
		p.Kind = "server"
	case tracepb.Span_SPAN_KIND_CLIENT:
		p.Kind = "client"
	case tracepb.Span_SPAN_KIND_PRODUCER:
		p.Kind = "producer"
	case tracepb.Span_SPAN_KIND_CONSUMER:
		p.Kind = "consumer"
	}
	switch sp.GetStatus().GetCode() {
	case tracepb.Status_STATUS_CODE_OK:
		p.StatusCode = "ok"
	case tracepb.Status_STATUS_CODE_ERROR:
		p.StatusCode = "error"
	}
	p.Status = sp.GetStatus().GetMessage()
	if len(sp.GetAttributes()) > 0 {
		m := make(map[string]any, len(sp.GetAttributes()))
		for _, kv := range sp.GetAttributes() {
			m[kv.GetKey()] = value(kv.GetValue(), 0)
		}
		p.Attributes, _ = json.Marshal(m)
	}
	return p
}

// value is an attribute value as JSON would hold it. Nesting deeper than
// 16 levels is cut off (protobuf allows deep values; JSON encoding them
// must not recurse without end).
func value(v *commonpb.AnyValue, depth int) any {
	if depth > 16 {
		return nil
	}
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		f := x.DoubleValue
		if f != f || f > 1.7976931348623157e308 || f < -1.7976931348623157e308 {
			return fmt.Sprint(f) // NaN and infinities are not JSON numbers
		}
		return f
	case *commonpb.AnyValue_BytesValue:
		return x.BytesValue // base64 in JSON
	case *commonpb.AnyValue_ArrayValue:
		out := make([]any, 0, len(x.ArrayValue.GetValues()))
		for _, e := range x.ArrayValue.GetValues() {
			out = append(out, value(e, depth+1))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		out := make(map[string]any, len(x.KvlistValue.GetValues()))
		for _, kv := range x.KvlistValue.GetValues() {
			out[kv.GetKey()] = value(kv.GetValue(), depth+1)
		}
		return out
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
