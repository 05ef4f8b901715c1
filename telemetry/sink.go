package telemetry

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/option"
)

// ScopeName is the instrumentation scope of the Sink's tracer and meter.
const ScopeName = "github.com/sluice-events/sluice/telemetry"

// EventIDKey is the attribute that names the Sluice event a span event
// was made from (see WithSpanEvents).
const EventIDKey = attribute.Key("sluice.event.id")

// CostKey is the span attribute for the cost of a provider call in US
// dollars, when the provider call reports a known cost.
const CostKey = attribute.Key("sluice.cost_usd")

// ErrorTypeUnfinished is the error.type of a span the Sink ended because
// it was closed, or because the enclosing run ended, while the span was
// still open.
const ErrorTypeUnfinished = "sluice.unfinished"

// Sink makes OpenTelemetry spans and metrics from events. It is safe for
// concurrent use; create it with New and close it with Close.
type Sink struct {
	cfg    config
	tracer trace.Tracer
	inst   instruments

	mu     sync.Mutex
	closed bool
	open   map[scope]*span
}

type kind uint8

const (
	agentKind kind = iota + 1
	chatKind
	toolKind
)

// scope identifies an open span: a run (agent), an inference (chat) or a
// tool call (tool).
type scope struct {
	kind kind
	id   string
}

type span struct {
	scope   scope
	run     string // the run the span belongs to, for ending children with it
	ctx     context.Context
	span    trace.Span
	start   time.Time
	opener  event.Type // what opened an agent span: run.started or pipeline.started
	model   string     // request model
	resp    string     // response model
	prov    string
	tool    string
	first   time.Time // first output chunk
	last    time.Time // latest output chunk
	usage   event.Usage
	stop    string // the provider's stop reason, from message.stopped
	out     strings.Builder
	errType string        // set by stream.interrupted or stream.error
	chunks  attribute.Set // the attributes of the chunk metrics, made once per call
}

// New returns a Sink. Without options it uses the global tracer and meter
// providers (otel.GetTracerProvider, otel.GetMeterProvider) and records no
// message content.
func New(opts ...Option) (*Sink, error) {
	c := config{maxOpen: DefaultMaxOpen}
	if err := option.Apply(&c, opts, ErrInvalid); err != nil {
		return nil, fmt.Errorf("telemetry: new: %w", err)
	}
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if c.mp == nil {
		c.mp = otel.GetMeterProvider()
	}
	inst, err := newInstruments(c.mp.Meter(ScopeName))
	if err != nil {
		return nil, fmt.Errorf("telemetry: new: %w", err)
	}
	return &Sink{cfg: c, tracer: c.tp.Tracer(ScopeName), inst: inst, open: make(map[scope]*span)}, nil
}

// Enabled implements sluice.Sink: it reports true for the event types the
// Sink makes spans or metrics from (runs, pipelines, provider calls, the
// messages they stream, tool calls, interruptions).
func (s *Sink) Enabled(_ context.Context, t event.Type) bool {
	switch t {
	case event.TypeRunStarted, event.TypeRunCompleted, event.TypeRunStopped, event.TypeRunFailed,
		event.TypePipelineStarted, event.TypePipelineCompleted, event.TypePipelineFailed,
		event.TypeProviderCallStarted, event.TypeProviderCallCompleted, event.TypeProviderCallFailed,
		event.TypeMessageStarted, event.TypeMessageStopped, event.TypeUsageReported,
		event.TypeTextDelta, event.TypeThinkingDelta, event.TypeToolCallDelta, event.TypeTextCompleted,
		event.TypeStreamInterrupted, event.TypeStreamError,
		event.TypeToolCallStarted, event.TypeToolCallCompleted, event.TypeToolCallFailed:
		return true
	}
	return false
}

// Publish implements sluice.Sink. It records metrics first, then opens,
// annotates or ends spans. Events that do not fit (an end without a start,
// a payload of the wrong type) are ignored; Publish fails only for a nil
// event or a closed Sink.
func (s *Sink) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return fmt.Errorf("telemetry: publish: %w", sluice.ErrNilEvent)
	}
	if !s.Enabled(ctx, ev.Type) {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return fmt.Errorf("telemetry: publish: %w", ErrClosed)
		}
		return nil
	}
	// An ended ctx changes nothing: spans and metrics do not watch it,
	// and an ended caller's context must not leave a span open.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("telemetry: publish: %w", ErrClosed)
	}
	s.handle(ctx, ev)
	return nil
}

// Close ends every span still open, marked as an error of type
// ErrorTypeUnfinished, and refuses later events with ErrClosed. It does not
// shut the tracer or meter provider down: flush them with their own
// Shutdown or ForceFlush.
func (s *Sink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	now := time.Now()
	for _, sp := range s.open {
		s.unfinished(sp, now, "telemetry sink closed with the span open")
	}
	clear(s.open)
	return nil
}

func (s *Sink) handle(ctx context.Context, ev *event.Event) {
	m := &ev.Meta
	var at *span // the span the event is recorded on, with WithSpanEvents
	switch p := ev.Payload.(type) {
	case event.RunStarted:
		at = s.startAgent(ctx, ev)
		if s.cfg.content && p.Prompt != "" {
			s.content(at, semconv.GenAIInputMessagesKey, []message{{Role: "user", Parts: []part{{Type: "text", Content: p.Prompt}}}})
		}
	case event.PipelineStarted:
		at = s.startAgent(ctx, ev)
	case event.RunCompleted:
		s.endAgent(ev, event.TypeRunStarted, nil)
	case event.RunStopped:
		e := event.Error{Message: "run stopped: " + p.Reason, Kind: "stopped"}
		s.endAgent(ev, event.TypeRunStarted, &e)
	case event.RunFailed:
		s.endAgent(ev, event.TypeRunStarted, &p.Error)
	case event.PipelineCompleted:
		s.endAgent(ev, event.TypePipelineStarted, nil)
	case event.PipelineFailed:
		s.endAgent(ev, event.TypePipelineStarted, &p.Error)
	case event.ProviderCallStarted:
		at = s.startChat(ctx, ev, p)
	case event.ProviderCallCompleted:
		s.endChat(ctx, ev, p.Provider, p.Model, p.Usage, p.FinishReason, p.Duration, p.Cost, p.CostUnknown, nil)
	case event.ProviderCallFailed:
		s.endChat(ctx, ev, p.Provider, p.Model, event.Usage{}, "", p.Duration, 0, true, &p.Error)
	case event.MessageStarted:
		if at = s.open[scope{chatKind, m.InferenceID}]; at != nil {
			if p.ID != "" {
				at.span.SetAttributes(semconv.GenAIResponseIDKey.String(p.ID))
			}
			if p.Model != "" {
				at.resp = p.Model
			}
		}
	case event.MessageStopped:
		if at = s.open[scope{chatKind, m.InferenceID}]; at != nil {
			at.stop = p.StopReason
			if p.ID != "" {
				at.span.SetAttributes(semconv.GenAIResponseIDKey.String(p.ID))
			}
		}
	case event.UsageReported:
		if at = s.open[scope{chatKind, m.InferenceID}]; at != nil {
			at.usage = addUsage(at.usage, p.Usage)
		}
	case event.TextDelta, event.ThinkingDelta, event.ToolCallDelta:
		if at = s.open[scope{chatKind, m.InferenceID}]; at != nil {
			s.chunk(ctx, at, ev.Time)
		}
	case event.TextCompleted:
		if at = s.open[scope{chatKind, m.InferenceID}]; at != nil && s.cfg.content {
			at.out.WriteString(p.Text)
		}
	case event.StreamInterrupted:
		if at = s.open[scope{chatKind, m.InferenceID}]; at != nil {
			at.errType = "interrupted"
			at.span.AddEvent("gen_ai.stream.interrupted", trace.WithTimestamp(ev.Time),
				trace.WithAttributes(attribute.String("reason", p.Reason)))
		}
	case event.StreamError:
		if at = s.open[scope{chatKind, m.InferenceID}]; at != nil {
			at.errType = ErrorType(p.Error)
			at.span.AddEvent("gen_ai.stream.error", trace.WithTimestamp(ev.Time),
				trace.WithAttributes(attribute.String("message", p.Error.Message)))
		}
	case event.ToolCallStarted:
		at = s.startTool(ctx, ev, p)
	case event.ToolCallCompleted:
		s.endTool(ctx, ev, p.CallID, p.Name, p.Duration, p.Result, nil)
	case event.ToolCallFailed:
		s.endTool(ctx, ev, p.CallID, p.Name, p.Duration, nil, &p.Error)
	}
	if s.cfg.spanEvents {
		s.spanEvent(ctx, ev, at)
	}
}

// parent returns the context to start a child span of ev in: the span
// named by ev's parent ID, or else its run's span.
func (s *Sink) parent(ctx context.Context, m *event.Meta) (context.Context, string) {
	if m.ParentID != "" {
		for _, k := range [...]kind{toolKind, chatKind, agentKind} {
			if p := s.open[scope{k, m.ParentID}]; p != nil {
				return p.ctx, p.run
			}
		}
	}
	if m.RunID != "" {
		if p := s.open[scope{agentKind, m.RunID}]; p != nil {
			return p.ctx, p.run
		}
	}
	// A root span: drop whatever span the caller's context carries, so
	// that the trace is the run's, not the publisher's.
	return trace.ContextWithSpanContext(ctx, trace.SpanContext{}), m.RunID
}

func (s *Sink) common(m *event.Meta) []attribute.KeyValue {
	if m.ConversationID == "" {
		return nil
	}
	return []attribute.KeyValue{semconv.GenAIConversationIDKey.String(m.ConversationID)}
}

func (s *Sink) startAgent(ctx context.Context, ev *event.Event) *span {
	m := &ev.Meta
	if m.RunID == "" {
		return nil
	}
	k := scope{agentKind, m.RunID}
	if sp := s.open[k]; sp != nil {
		return sp // a pipeline inside a run, or a repeated start: one span
	}
	name := m.Labels["agent"]
	if name == "" {
		name = s.cfg.agent
	}
	spanName := semconv.GenAIOperationNameInvokeAgent.Value.AsString()
	attrs := append(s.common(m), semconv.GenAIOperationNameInvokeAgent, semconv.GenAIAgentIDKey.String(m.RunID))
	if name != "" {
		spanName += " " + name
		attrs = append(attrs, semconv.GenAIAgentNameKey.String(name))
	}
	if m.Provider != "" {
		attrs = append(attrs, semconv.GenAIProviderNameKey.String(m.Provider))
	}
	pctx, _ := s.parent(ctx, &event.Meta{ParentID: m.ParentID})
	sctx, sp := s.tracer.Start(pctx, spanName, trace.WithTimestamp(ev.Time),
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	o := &span{scope: k, run: m.RunID, ctx: sctx, span: sp, start: ev.Time, opener: ev.Type}
	s.track(k, o)
	return o
}

func (s *Sink) endAgent(ev *event.Event, opener event.Type, e *event.Error) {
	k := scope{agentKind, ev.Meta.RunID}
	sp := s.open[k]
	if sp == nil || ev.Meta.RunID == "" {
		return
	}
	if sp.opener != opener && opener == event.TypePipelineStarted {
		return // the pipeline ran inside a run: the run ends the span
	}
	s.endChildren(sp.run, ev.Time)
	if e != nil {
		setError(sp.span, ErrorType(*e), e.Message)
	}
	sp.span.End(trace.WithTimestamp(ev.Time))
	delete(s.open, k)
}

// endChildren ends the open provider and tool calls of run, as unfinished.
func (s *Sink) endChildren(run string, at time.Time) {
	for k, sp := range s.open {
		if k.kind != agentKind && sp.run == run {
			s.unfinished(sp, at, "the run ended with the span open")
			delete(s.open, k)
		}
	}
}

// track keeps o open under k; at WithMaxOpen it first ends the oldest open
// span as unfinished. s.mu is held.
func (s *Sink) track(k scope, o *span) {
	if _, ok := s.open[k]; !ok && len(s.open) >= s.cfg.maxOpen {
		var oldest scope
		var first *span
		for ok, sp := range s.open {
			if first == nil || sp.start.Before(first.start) {
				oldest, first = ok, sp
			}
		}
		s.unfinished(first, o.start, "more spans open than the sink keeps (WithMaxOpen)")
		delete(s.open, oldest)
	}
	s.open[k] = o
}

func (s *Sink) unfinished(sp *span, at time.Time, msg string) {
	setError(sp.span, ErrorTypeUnfinished, msg)
	if at.Before(sp.start) {
		at = sp.start
	}
	sp.span.End(trace.WithTimestamp(at))
}

func (s *Sink) startChat(ctx context.Context, ev *event.Event, p event.ProviderCallStarted) *span {
	m := &ev.Meta
	if m.InferenceID == "" {
		return nil
	}
	k := scope{chatKind, m.InferenceID}
	if old := s.open[k]; old != nil {
		s.unfinished(old, ev.Time, "a new call started with the same inference ID")
	}
	prov, model := cmp.Or(p.Provider, m.Provider), cmp.Or(p.Model, m.Model)
	op := semconv.GenAIOperationNameChat
	attrs := append(s.common(m), op, semconv.GenAIProviderNameKey.String(prov))
	name := op.Value.AsString()
	if model != "" {
		name += " " + model
		attrs = append(attrs, semconv.GenAIRequestModelKey.String(model))
	}
	pctx, run := s.parent(ctx, m)
	sctx, sp := s.tracer.Start(pctx, name, trace.WithTimestamp(ev.Time),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	o := &span{scope: k, run: run, ctx: sctx, span: sp, start: ev.Time, model: model, prov: prov}
	o.chunks = attribute.NewSet(op, semconv.GenAIProviderNameKey.String(prov), semconv.GenAIRequestModelKey.String(model))
	s.track(k, o)
	return o
}

func (s *Sink) chunk(ctx context.Context, sp *span, at time.Time) {
	if sp.first.IsZero() {
		sp.first = at
		ttfc := at.Sub(sp.start).Seconds()
		sp.span.SetAttributes(semconv.GenAIResponseTimeToFirstChunkKey.Float64(ttfc))
		s.inst.ttfc.RecordSet(ctx, ttfc, sp.chunks)
	} else {
		s.inst.chunkGap.RecordSet(ctx, at.Sub(sp.last).Seconds(), sp.chunks)
	}
	sp.last = at
}

func (s *Sink) endChat(ctx context.Context, ev *event.Event, prov, model string, u event.Usage, finish string, d time.Duration, cost float64, costUnknown bool, e *event.Error) {
	m := &ev.Meta
	k := scope{chatKind, m.InferenceID}
	sp := s.open[k]
	reqModel := cmp.Or(m.Model, model)
	respModel := model
	if sp != nil {
		reqModel = cmp.Or(sp.model, reqModel)
		respModel = cmp.Or(model, sp.resp)
		prov = cmp.Or(prov, sp.prov)
		if u == (event.Usage{}) {
			u = sp.usage
		}
		if d == 0 {
			d = ev.Time.Sub(sp.start)
		}
	}
	prov = cmp.Or(prov, m.Provider)
	errType := ""
	if e != nil {
		errType = ErrorType(*e)
	} else if sp != nil {
		errType = sp.errType
	}
	// Metrics first, whether or not there is a span, and whatever the
	// sampler decided about it.
	s.inst.call(ctx, d.Seconds(), u, prov, reqModel, respModel, errType)
	if sp == nil {
		return
	}
	delete(s.open, k)
	attrs := make([]attribute.KeyValue, 0, 10)
	if respModel != "" {
		attrs = append(attrs, semconv.GenAIResponseModelKey.String(respModel))
	}
	if finish == "" {
		finish = sp.stop
	}
	if finish != "" {
		attrs = append(attrs, semconv.GenAIResponseFinishReasonsKey.StringSlice([]string{finish}))
	}
	attrs = appendUsage(attrs, u)
	if e == nil && !costUnknown && cost != 0 {
		attrs = append(attrs, CostKey.Float64(cost))
	}
	sp.span.SetAttributes(attrs...)
	if s.cfg.content && sp.out.Len() > 0 {
		s.content(sp, semconv.GenAIOutputMessagesKey, []message{{Role: "assistant",
			Parts: []part{{Type: "text", Content: sp.out.String()}}, FinishReason: finish}})
	}
	switch {
	case e != nil:
		setError(sp.span, errType, e.Message)
	case errType != "":
		setError(sp.span, errType, "the stream ended early")
	}
	sp.span.End(trace.WithTimestamp(ev.Time))
}

func (s *Sink) startTool(ctx context.Context, ev *event.Event, p event.ToolCallStarted) *span {
	m := &ev.Meta
	id := cmp.Or(m.ToolCallID, p.CallID)
	if id == "" {
		return nil
	}
	k := scope{toolKind, id}
	if old := s.open[k]; old != nil {
		s.unfinished(old, ev.Time, "a new call started with the same tool call ID")
	}
	op := semconv.GenAIOperationNameExecuteTool
	attrs := append(s.common(m), op, semconv.GenAIToolNameKey.String(p.Name),
		semconv.GenAIToolCallIDKey.String(id), semconv.GenAIToolTypeKey.String("function"))
	pm := *m
	if pm.ParentID == id {
		pm.ParentID = ""
	}
	pctx, run := s.parent(ctx, &pm)
	sctx, sp := s.tracer.Start(pctx, op.Value.AsString()+" "+p.Name, trace.WithTimestamp(ev.Time),
		trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	o := &span{scope: k, run: run, ctx: sctx, span: sp, start: ev.Time, tool: p.Name}
	s.track(k, o)
	if s.cfg.content && len(p.Arguments) > 0 {
		s.contentText(o, semconv.GenAIToolCallArgumentsKey, string(p.Arguments))
	}
	return o
}

func (s *Sink) endTool(ctx context.Context, ev *event.Event, callID, name string, d time.Duration, result json.RawMessage, e *event.Error) {
	id := cmp.Or(ev.Meta.ToolCallID, callID)
	k := scope{toolKind, id}
	sp := s.open[k]
	if sp != nil {
		name = cmp.Or(name, sp.tool)
		if d == 0 {
			d = ev.Time.Sub(sp.start)
		}
	}
	errType := ""
	if e != nil {
		errType = ErrorType(*e)
	}
	s.inst.tool(ctx, d.Seconds(), name, errType)
	if sp == nil || id == "" {
		return
	}
	delete(s.open, k)
	if s.cfg.content && len(result) > 0 {
		s.contentText(sp, semconv.GenAIToolCallResultKey, string(result))
	}
	if e != nil {
		setError(sp.span, errType, e.Message)
	}
	sp.span.End(trace.WithTimestamp(ev.Time))
}

// spanEvent records ev on at, or on the innermost open span ev belongs to.
func (s *Sink) spanEvent(ctx context.Context, ev *event.Event, at *span) {
	m := &ev.Meta
	if at == nil {
		for _, k := range [...]scope{{toolKind, m.ToolCallID}, {chatKind, m.InferenceID}, {agentKind, m.RunID}} {
			if k.id != "" {
				if at = s.open[k]; at != nil {
					break
				}
			}
		}
	}
	if at == nil {
		at = s.startAgent(ctx, ev)
	}
	if at == nil {
		return
	}
	at.span.AddEvent(string(ev.Type), trace.WithTimestamp(ev.Time),
		trace.WithAttributes(EventIDKey.String(ev.ID.String())))
}

type message struct {
	Role         string `json:"role"`
	Parts        []part `json:"parts"`
	FinishReason string `json:"finish_reason,omitempty"`
}

type part struct {
	Type    string `json:"type"`
	Content string `json:"content"`
}

func (s *Sink) content(sp *span, key attribute.Key, msgs []message) {
	if sp == nil {
		return
	}
	b, err := json.Marshal(msgs)
	if err != nil {
		return
	}
	s.contentText(sp, key, string(b))
}

func (s *Sink) contentText(sp *span, key attribute.Key, v string) {
	if s.cfg.redact != nil {
		v = s.cfg.redact(key, v)
	}
	if v != "" {
		sp.span.SetAttributes(key.String(v))
	}
}

func setError(sp trace.Span, errType, msg string) {
	sp.SetAttributes(semconv.ErrorTypeKey.String(errType))
	sp.SetStatus(codes.Error, msg)
}

// ErrorType is the error.type the Sink records for e (the prom package's
// error_type label too): its code, else its kind, else "_OTHER".
func ErrorType(e event.Error) string {
	switch {
	case e.Code != "":
		return e.Code
	case e.Kind != "":
		return e.Kind
	}
	return "_OTHER"
}

func appendUsage(attrs []attribute.KeyValue, u event.Usage) []attribute.KeyValue {
	if u.InputTokens != 0 {
		attrs = append(attrs, semconv.GenAIUsageInputTokensKey.Int64(u.InputTokens))
	}
	if u.OutputTokens != 0 {
		attrs = append(attrs, semconv.GenAIUsageOutputTokensKey.Int64(u.OutputTokens))
	}
	if r := u.CacheReadTokens + u.CachedTokens; r != 0 {
		attrs = append(attrs, semconv.GenAIUsageCacheReadInputTokensKey.Int64(r))
	}
	if u.CacheCreationTokens != 0 {
		attrs = append(attrs, semconv.GenAIUsageCacheCreationInputTokensKey.Int64(u.CacheCreationTokens))
	}
	if u.ReasoningTokens != 0 {
		attrs = append(attrs, semconv.GenAIUsageReasoningOutputTokensKey.Int64(u.ReasoningTokens))
	}
	return attrs
}

// addUsage folds a usage report into the total so far: a cumulative
// report replaces it, an incremental one adds to it.
func addUsage(total, u event.Usage) event.Usage {
	if u.Cumulative {
		return u
	}
	total.InputTokens += u.InputTokens
	total.OutputTokens += u.OutputTokens
	total.TotalTokens += u.TotalTokens
	total.CachedTokens += u.CachedTokens
	total.CacheCreationTokens += u.CacheCreationTokens
	total.CacheReadTokens += u.CacheReadTokens
	total.ReasoningTokens += u.ReasoningTokens
	return total
}
