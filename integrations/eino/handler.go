// Package sluiceeino turns the callbacks of CloudWeGo Eino
// (github.com/cloudwego/eino) into Sluice events.
//
// A Handler is an Eino callbacks.Handler. Give it to a graph or chain run
// with compose.WithCallbacks (or install it globally with
// callbacks.AppendGlobalHandlers), and put the Sluice emitter that should
// receive the events in the run's context with sluice.WithEmitter:
//
//	h, err := sluiceeino.NewHandler()
//	…
//	ctx = sluice.WithEmitter(ctx, em.Turn(turnID))
//	out, err := runnable.Invoke(ctx, in, compose.WithCallbacks(h))
//
// An ADK agent (adk.ChatModelAgent) takes no callbacks option: install the
// Handler with callbacks.AppendGlobalHandlers.
//
// Every component run becomes a scope with an ID of its own (a UUIDv7), so
// a node that runs twice, or a graph nested in a graph that runs in a loop,
// gives distinct IDs each time. Each event carries its scope's ID in the
// label "eino.span" and the enclosing scope's ID in Meta.ParentID (the
// emitter's own scope, see sluice.Emitter.Scope, for the outermost run):
//
//   - a chat model: provider.call.started, then message.text.delta and
//     message.thinking.delta while it streams, message.text.completed,
//     message.thinking.completed, tool.call.requested for the calls the
//     model asks for, message.usage, and provider.call.completed (or
//     provider.call.failed); Meta.InferenceID is the scope's ID;
//   - a tool: tool.call.started, tool.call.completed or tool.call.failed,
//     with Meta.ToolCallID the call's ID as the tools node knows it
//     (compose.GetToolCallID), or the scope's ID;
//   - a graph, chain or workflow: composition.started and
//     composition.completed (with its error, if it failed, and its duration);
//   - any other node (lambda, tools node, prompt, retriever, a graph's
//     passthrough): composition.step.started and composition.step.completed,
//     with the node's name as step_id and its component as kind.
//
// Streams: Eino gives each handler a copy of a stream. The Handler tells
// Eino (callbacks.TimingChecker) that it wants no copy at all when the
// context carries no emitter, and never a copy of a stream input; it reads
// the copies of stream outputs it does take in one goroutine each, which
// ends when the stream ends, and always closes them.
package sluiceeino

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cloudwego/eino/callbacks"
	"github.com/cloudwego/eino/components"
	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/components/tool"
	"github.com/cloudwego/eino/compose"
	"github.com/cloudwego/eino/schema"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/jsonvalue"
	"github.com/sluice-events/sluice/internal/option"
)

// SpanLabel is the Meta.Labels key under which every event carries the ID
// of the Eino run (component, node, graph) it belongs to.
const SpanLabel = "eino.span"

// Handler is an Eino callbacks.Handler that emits Sluice events through the
// emitter of the run's context (sluice.EmitterFrom). It holds no state of
// its own, so one Handler serves any number of concurrent runs.
type Handler struct {
	provider string
}

// ErrInvalid is wrapped by the error NewHandler returns for an invalid
// option.
var ErrInvalid = errors.New("invalid argument")

// Option configures a Handler.
type Option func(*config) error

type config struct {
	provider string
}

// WithProvider sets the provider name of provider.call.* events (default:
// the chat model's type as Eino reports it, such as "OpenAI", or "eino").
// An empty name is an error.
func WithProvider(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("%w: empty provider name", ErrInvalid)
		}
		c.provider = name
		return nil
	}
}

// NewHandler returns a Handler, or an error wrapping ErrInvalid for an
// invalid option.
func NewHandler(opts ...Option) (*Handler, error) {
	var c config
	if err := option.Apply(&c, opts, ErrInvalid); err != nil {
		return nil, fmt.Errorf("sluiceeino: new handler: %w", err)
	}
	return &Handler{provider: c.provider}, nil
}

var (
	_ callbacks.Handler       = (*Handler)(nil)
	_ callbacks.TimingChecker = (*Handler)(nil)
)

// kind is what a component run becomes in Sluice's catalog.
type kind uint8

const (
	kindStep kind = iota
	kindModel
	kindTool
	kindComposition
)

func kindOf(info *callbacks.RunInfo) kind {
	switch info.Component {
	case components.ComponentOfChatModel:
		return kindModel
	case components.ComponentOfTool:
		return kindTool
	case compose.ComponentOfGraph, compose.ComponentOfChain, compose.ComponentOfWorkflow:
		return kindComposition
	}
	return kindStep
}

// span is one component run: what its end needs to know of its start.
type span struct {
	info   *callbacks.RunInfo
	id     string
	callID string // tools: the tool call ID
	kind   kind
	em     *sluice.Emitter
	start  time.Time
	model  string // chat models: the model requested
}

type spanKey struct{}

func spanFrom(ctx context.Context, info *callbacks.RunInfo) *span {
	s, _ := ctx.Value(spanKey{}).(*span)
	if s == nil || s.info != info {
		return nil
	}
	return s
}

// Needed implements callbacks.TimingChecker: with no emitter in the context
// the Handler wants nothing (and Eino copies no stream for it).
func (h *Handler) Needed(ctx context.Context, info *callbacks.RunInfo, timing callbacks.CallbackTiming) bool {
	return sluice.EmitterFrom(ctx) != nil || parentFrom(ctx) != nil
}

// parentFrom returns the innermost span of ctx, whatever run it belongs to.
func parentFrom(ctx context.Context) *span {
	s, _ := ctx.Value(spanKey{}).(*span)
	return s
}

func (h *Handler) name(info *callbacks.RunInfo) string {
	if info.Name != "" {
		return info.Name
	}
	if info.Type != "" {
		return info.Type
	}
	return string(info.Component)
}

// begin opens the span of a run: a new ID, under the innermost enclosing
// span (or the context's emitter).
func (h *Handler) begin(ctx context.Context, info *callbacks.RunInfo) (context.Context, *span) {
	base, parentID := sluice.EmitterFrom(ctx), ""
	if p := parentFrom(ctx); p != nil {
		base, parentID = p.em, p.id
	} else if base != nil {
		parentID = base.Scope()
	}
	if base == nil || info == nil {
		return ctx, nil
	}
	s := &span{info: info, id: event.NewID().String(), kind: kindOf(info), start: time.Now()}
	if s.kind == kindTool {
		s.callID = compose.GetToolCallID(ctx)
		if s.callID == "" {
			s.callID = s.id
		}
	}
	s.em = base.WithMeta(func(m *event.Meta) {
		m.ParentID = parentID
		if m.Labels == nil {
			m.Labels = make(map[string]string, 1)
		}
		m.Labels[SpanLabel] = s.id
		switch s.kind {
		case kindModel:
			m.InferenceID = s.id
		case kindTool:
			m.ToolCallID = s.callID
		}
	})
	return context.WithValue(ctx, spanKey{}, s), s
}

// OnStart implements callbacks.Handler.
func (h *Handler) OnStart(ctx context.Context, info *callbacks.RunInfo, input callbacks.CallbackInput) context.Context {
	ctx, s := h.begin(ctx, info)
	if s == nil {
		return ctx
	}
	switch s.kind {
	case kindModel:
		in := model.ConvCallbackInput(input)
		var msgs, tools int
		if in != nil {
			msgs, tools = len(in.Messages), len(in.Tools)
			if in.Config != nil {
				s.model = in.Config.Model
			}
		}
		_ = sluice.Emit(ctx, s.em, event.ProviderCallStarted{Provider: h.providerName(info), Model: s.model, MessageCount: msgs, ToolCount: tools})
	case kindTool:
		var args json.RawMessage
		if in := tool.ConvCallbackInput(input); in != nil {
			args = jsonvalue.Text(in.ArgumentsInJSON)
		}
		_ = sluice.Emit(ctx, s.em, event.ToolCallStarted{CallID: s.callID, Name: h.name(info), Arguments: args})
	case kindComposition:
		if s.em.Enabled(ctx, event.TypeCompositionStarted) {
			_ = sluice.Emit(ctx, s.em, event.CompositionStarted{Composition: h.name(info), Input: jsonvalue.Of(input)})
		}
	default:
		if s.em.Enabled(ctx, event.TypeCompositionStepStarted) {
			_ = sluice.Emit(ctx, s.em, event.CompositionStepStarted{StepID: h.name(info), Kind: string(info.Component), Input: jsonvalue.Of(input)})
		}
	}
	return ctx
}

// OnStartWithStreamInput implements callbacks.Handler: the run starts as in
// OnStart, without its input, and the Handler's copy of the input stream is
// closed at once.
func (h *Handler) OnStartWithStreamInput(ctx context.Context, info *callbacks.RunInfo, input *schema.StreamReader[callbacks.CallbackInput]) context.Context {
	input.Close()
	return h.OnStart(ctx, info, nil)
}

// OnEnd implements callbacks.Handler.
func (h *Handler) OnEnd(ctx context.Context, info *callbacks.RunInfo, output callbacks.CallbackOutput) context.Context {
	s := spanFrom(ctx, info)
	if s == nil {
		return ctx
	}
	switch s.kind {
	case kindModel:
		out := model.ConvCallbackOutput(output)
		var res result
		if out != nil {
			res.add(out)
		}
		h.modelDone(ctx, s, &res)
	case kindTool:
		var res json.RawMessage
		if out := tool.ConvCallbackOutput(output); out != nil {
			res = toolResult(out)
		}
		_ = sluice.Emit(ctx, s.em, event.ToolCallCompleted{CallID: s.callID, Name: h.name(info), Duration: time.Since(s.start), Result: res})
	default:
		h.done(ctx, s, output, nil, true)
	}
	return ctx
}

// OnError implements callbacks.Handler.
func (h *Handler) OnError(ctx context.Context, info *callbacks.RunInfo, err error) context.Context {
	s := spanFrom(ctx, info)
	if s == nil {
		return ctx
	}
	h.fail(ctx, s, err)
	return ctx
}

func (h *Handler) fail(ctx context.Context, s *span, err error) {
	d := time.Since(s.start)
	switch s.kind {
	case kindModel:
		_ = s.em.ProviderCallFailed(ctx, h.providerName(s.info), s.model, d, err)
	case kindTool:
		_ = s.em.ToolCallFailed(ctx, s.callID, h.name(s.info), d, err)
	default:
		h.done(ctx, s, nil, err, false)
	}
}

// done ends a composition or a step.
func (h *Handler) done(ctx context.Context, s *span, output any, err error, withOutput bool) {
	var out json.RawMessage
	if s.kind == kindComposition {
		if withOutput && s.em.Enabled(ctx, event.TypeCompositionCompleted) {
			out = jsonvalue.Of(output)
		}
		_ = sluice.Emit(ctx, s.em, event.CompositionCompleted{Composition: h.name(s.info), Output: out, Error: event.ErrorFrom(err), Duration: time.Since(s.start)})
		return
	}
	if withOutput && s.em.Enabled(ctx, event.TypeCompositionStepCompleted) {
		out = jsonvalue.Of(output)
	}
	_ = sluice.Emit(ctx, s.em, event.CompositionStepCompleted{StepID: h.name(s.info), Kind: string(s.info.Component), Output: out, Error: event.ErrorFrom(err)})
}

// OnEndWithStreamOutput implements callbacks.Handler. It reads its copy of
// the stream in a goroutine of its own, which closes the copy and ends with
// the stream; a chat model's chunks become text and thinking deltas.
func (h *Handler) OnEndWithStreamOutput(ctx context.Context, info *callbacks.RunInfo, output *schema.StreamReader[callbacks.CallbackOutput]) context.Context {
	s := spanFrom(ctx, info)
	if s == nil {
		output.Close()
		return ctx
	}
	// The goroutine outlives the callback; it must not end when the run's
	// context is canceled before the stream is read to its end.
	go h.follow(context.WithoutCancel(ctx), s, output)
	return ctx
}

func (h *Handler) follow(ctx context.Context, s *span, output *schema.StreamReader[callbacks.CallbackOutput]) {
	defer output.Close()
	var (
		res  result
		text = s.em.TextBlock(0)
		thk  = s.em.ThinkingBlock(0)
		tres []byte
	)
	for {
		chunk, err := output.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			h.fail(ctx, s, err)
			return
		}
		switch s.kind {
		case kindModel:
			out := model.ConvCallbackOutput(chunk)
			if out == nil || out.Message == nil {
				continue
			}
			if out.Message.ReasoningContent != "" {
				_ = thk.Delta(ctx, out.Message.ReasoningContent)
			}
			if out.Message.Content != "" {
				_ = text.Delta(ctx, out.Message.Content)
			}
			res.addChunk(out)
		case kindTool:
			if out := tool.ConvCallbackOutput(chunk); out != nil {
				tres = append(tres, out.Response...)
			}
		}
	}
	switch s.kind {
	case kindModel:
		res.text, res.thinking = text.Text(), thk.Text()
		h.modelDone(ctx, s, &res)
	case kindTool:
		_ = sluice.Emit(ctx, s.em, event.ToolCallCompleted{CallID: s.callID, Name: h.name(s.info), Duration: time.Since(s.start), Result: jsonvalue.Text(string(tres))})
	default:
		h.done(ctx, s, nil, nil, false)
	}
}

func (h *Handler) providerName(info *callbacks.RunInfo) string {
	switch {
	case h.provider != "":
		return h.provider
	case info.Type != "":
		return info.Type
	}
	return "eino"
}

// result gathers what a chat model answered, whole or in chunks.
type result struct {
	text, thinking string
	model          string
	finish         string
	usage          *model.TokenUsage
	calls          []*schema.Message // the chunks that carry tool calls
}

func (r *result) add(out *model.CallbackOutput) {
	r.addChunk(out)
	if out.Message != nil {
		r.text, r.thinking = out.Message.Content, out.Message.ReasoningContent
	}
}

func (r *result) addChunk(out *model.CallbackOutput) {
	if out.Config != nil && out.Config.Model != "" {
		r.model = out.Config.Model
	}
	if out.TokenUsage != nil {
		r.usage = out.TokenUsage
	}
	m := out.Message
	if m == nil {
		return
	}
	if m.ResponseMeta != nil {
		if m.ResponseMeta.FinishReason != "" {
			r.finish = m.ResponseMeta.FinishReason
		}
		if u := m.ResponseMeta.Usage; u != nil && r.usage == nil {
			r.usage = &model.TokenUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens,
				PromptTokenDetails:      model.PromptTokenDetails{CachedTokens: u.PromptTokenDetails.CachedTokens},
				CompletionTokensDetails: model.CompletionTokensDetails{ReasoningTokens: u.CompletionTokensDetails.ReasoningTokens}}
		}
	}
	if len(m.ToolCalls) > 0 {
		r.calls = append(r.calls, m)
	}
}

// toolCalls returns the tool calls the model asked for, their streamed
// pieces joined.
func (r *result) toolCalls() []schema.ToolCall {
	switch len(r.calls) {
	case 0:
		return nil
	case 1:
		return r.calls[0].ToolCalls
	}
	m, err := schema.ConcatMessages(r.calls)
	if err != nil {
		return nil
	}
	return m.ToolCalls
}

// modelDone emits the end of a chat model run: the whole text and
// thinking, the tool calls, usage and provider.call.completed.
func (h *Handler) modelDone(ctx context.Context, s *span, r *result) {
	if r.thinking != "" {
		_ = sluice.Emit(ctx, s.em, event.ThinkingCompleted{Index: 0, Text: r.thinking})
	}
	if r.text != "" {
		_ = sluice.Emit(ctx, s.em, event.TextCompleted{Index: 0, Text: r.text})
	}
	calls := r.toolCalls()
	for i, c := range calls {
		_ = sluice.Emit(ctx, s.em, event.ToolCallRequested{CallID: c.ID, Name: c.Function.Name, Index: i, Arguments: jsonvalue.Text(c.Function.Arguments)})
	}
	var u event.Usage
	if r.usage != nil {
		u = event.Usage{InputTokens: int64(r.usage.PromptTokens), OutputTokens: int64(r.usage.CompletionTokens), TotalTokens: int64(r.usage.TotalTokens),
			CachedTokens: int64(r.usage.PromptTokenDetails.CachedTokens), ReasoningTokens: int64(r.usage.CompletionTokensDetails.ReasoningTokens)}
		_ = s.em.Usage(ctx, u)
	}
	m := r.model
	if m == "" {
		m = s.model
	}
	_ = s.em.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Provider: h.providerName(s.info), Model: m, Duration: time.Since(s.start),
		Usage: u, FinishReason: r.finish, ToolCallCount: len(calls)})
}

// toolResult is a tool's output as JSON: its structured output if it has
// one, else its response, kept as it is when it is JSON and as a JSON
// string when it is not.
func toolResult(out *tool.CallbackOutput) json.RawMessage {
	if out.ToolOutput != nil {
		if b := jsonvalue.Of(out.ToolOutput); b != nil {
			return b
		}
	}
	return jsonvalue.Text(out.Response)
}
