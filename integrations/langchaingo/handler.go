// Package sluicelangchain turns the callbacks of langchaingo
// (github.com/tmc/langchaingo) into Sluice events.
//
// langchaingo's callbacks.Handler carries no run, parent or call IDs: its
// methods get a context and a payload. A Handler takes the IDs from the
// Sluice emitter the context carries (sluice.WithEmitter, with the run,
// session, conversation and turn of the request), and gives every chain,
// model call, tool call and retrieval it sees an ID of its own, nested
// under the innermost chain open at that moment:
//
//	h, err := sluicelangchain.NewHandler()
//	…
//	llm, err := openai.New(openai.WithCallback(h)) // model calls and their stream
//	agent := agents.NewOneShotAgent(llm, tools, agents.WithCallbacksHandler(h))
//	exec := agents.NewExecutor(agent, agents.WithCallbacksHandler(h))
//	ctx = sluice.WithEmitter(ctx, em.Turn(turnID))
//	out, err := chains.Run(ctx, exec, question)
//
// The events:
//
//   - a chain (chains.Call, an agent executor): composition.started and
//     composition.completed, with its inputs, outputs, error and duration;
//   - a model call: provider.call.started, message.text.delta for each
//     streamed chunk, message.text.completed (and message.thinking.completed
//     with the reasoning content, if any), tool.call.requested for the
//     tool calls the model asks for, message.usage when the model reports
//     token counts, and provider.call.completed or provider.call.failed;
//     Meta.InferenceID is the call's ID. Streamed chunks that come without
//     the model's start callback (a model whose own handler is not set) open
//     the call themselves;
//   - an agent's action: tool.call.requested with the tool's name and
//     input; the tool's own callbacks (HandleToolStart, …) then give
//     tool.call.started and tool.call.completed or tool.call.failed, under
//     the same call ID (Meta.ToolCallID: the action's ToolID, or a new ID);
//   - a retrieval: composition.step.started and composition.step.completed
//     of kind "retriever", with the query and the documents;
//   - HandleText: agent.log.
//
// Every event carries its scope's ID in the label "langchaingo.span" and
// the enclosing scope's ID in Meta.ParentID (the emitter's own scope, see
// sluice.Emitter.Scope, at the outermost level).
//
// A Handler keeps the open scopes of each emitter it sees until its
// outermost chain or call ends. langchaingo calls the callbacks of one run
// in order from one goroutine at a time; give concurrent runs emitters of
// their own (em.Turn(id) makes one), as their scopes are told apart by the
// emitter.
package sluicelangchain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tmc/langchaingo/callbacks"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/schema"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/jsonvalue"
	"github.com/sluice-events/sluice/internal/option"
)

// SpanLabel is the Meta.Labels key under which every event carries the ID
// of the scope (chain, model call, tool call, retrieval) it belongs to.
const SpanLabel = "langchaingo.span"

// ErrInvalid is wrapped by the error NewHandler returns for an invalid
// option.
var ErrInvalid = errors.New("invalid argument")

// Option configures a Handler.
type Option func(*config) error

type config struct {
	provider string
}

// WithProvider sets the provider name of provider.call.* events (default
// "langchaingo"). An empty name is an error.
func WithProvider(name string) Option {
	return func(c *config) error {
		if name == "" {
			return fmt.Errorf("%w: empty provider name", ErrInvalid)
		}
		c.provider = name
		return nil
	}
}

// Handler is a langchaingo callbacks.Handler that emits Sluice events
// through the emitter of the context each callback gets. It is safe for
// concurrent use.
type Handler struct {
	provider string

	mu   sync.Mutex
	runs map[*sluice.Emitter]*run
}

var _ callbacks.Handler = (*Handler)(nil)

// NewHandler returns a Handler, or an error wrapping ErrInvalid for an
// invalid option.
func NewHandler(opts ...Option) (*Handler, error) {
	c := config{provider: "langchaingo"}
	if err := option.Apply(&c, opts, ErrInvalid); err != nil {
		return nil, fmt.Errorf("sluicelangchain: new handler: %w", err)
	}
	return &Handler{provider: c.provider, runs: make(map[*sluice.Emitter]*run)}, nil
}

// run is what the Handler knows of one emitter's open scopes.
type run struct {
	mu     sync.Mutex
	root   *sluice.Emitter
	chains []*scope // open chains, innermost last
	call   *scope   // the open model call
	text   *sluice.Block
	action *schema.AgentAction // the last action, until its tool starts
	tool   *scope              // the open tool call
	tname  string
	ret    *scope // the open retrieval
}

// scope is an open chain, model call, tool call or retrieval.
type scope struct {
	id    string
	em    *sluice.Emitter
	start time.Time
}

// idle reports whether r has nothing open.
func (r *run) idle() bool {
	return len(r.chains) == 0 && r.call == nil && r.tool == nil && r.ret == nil
}

// open returns a new scope under the innermost open chain; set changes its
// metadata.
func (r *run) open(id string, set func(*event.Meta)) *scope {
	parent, parentID := r.root, r.root.Scope()
	if n := len(r.chains); n > 0 {
		parent, parentID = r.chains[n-1].em, r.chains[n-1].id
	}
	s := &scope{id: id, start: time.Now()}
	s.em = parent.WithMeta(func(m *event.Meta) {
		m.ParentID = parentID
		if m.Labels == nil {
			m.Labels = make(map[string]string, 1)
		}
		m.Labels[SpanLabel] = id
		if set != nil {
			set(m)
		}
	})
	return s
}

// with calls fn with the run of ctx's emitter, locked; with no emitter in
// ctx it does nothing. A run that has nothing open afterwards is forgotten.
func (h *Handler) with(ctx context.Context, fn func(r *run)) {
	em := sluice.EmitterFrom(ctx)
	if em == nil {
		return
	}
	h.mu.Lock()
	r := h.runs[em]
	if r == nil {
		r = &run{root: em}
		h.runs[em] = r
	}
	h.mu.Unlock()

	r.mu.Lock()
	fn(r)
	idle := r.idle()
	r.mu.Unlock()

	if idle {
		h.mu.Lock()
		if h.runs[em] == r {
			r.mu.Lock()
			if r.idle() {
				delete(h.runs, em)
			}
			r.mu.Unlock()
		}
		h.mu.Unlock()
	}
}

// HandleChainStart implements callbacks.Handler: composition.started.
func (h *Handler) HandleChainStart(ctx context.Context, inputs map[string]any) {
	h.with(ctx, func(r *run) {
		h.endCall(ctx, r, nil, nil)
		s := r.open(event.NewID().String(), nil)
		r.chains = append(r.chains, s)
		if s.em.Enabled(ctx, event.TypeCompositionStarted) {
			_ = sluice.Emit(ctx, s.em, event.CompositionStarted{Composition: "chain", Input: jsonvalue.Of(inputs)})
		}
	})
}

// HandleChainEnd implements callbacks.Handler: composition.completed.
func (h *Handler) HandleChainEnd(ctx context.Context, outputs map[string]any) {
	h.endChain(ctx, outputs, nil)
}

// HandleChainError implements callbacks.Handler: composition.completed with
// the error.
func (h *Handler) HandleChainError(ctx context.Context, err error) {
	h.endChain(ctx, nil, err)
}

func (h *Handler) endChain(ctx context.Context, outputs map[string]any, err error) {
	h.with(ctx, func(r *run) {
		h.endCall(ctx, r, nil, err)
		n := len(r.chains)
		if n == 0 {
			return
		}
		s := r.chains[n-1]
		r.chains = r.chains[:n-1]
		var out json.RawMessage
		if err == nil && s.em.Enabled(ctx, event.TypeCompositionCompleted) {
			out = jsonvalue.Of(outputs)
		}
		_ = sluice.Emit(ctx, s.em, event.CompositionCompleted{Composition: "chain", Output: out, Error: event.ErrorFrom(err), Duration: time.Since(s.start)})
	})
}

// HandleLLMGenerateContentStart implements callbacks.Handler:
// provider.call.started.
func (h *Handler) HandleLLMGenerateContentStart(ctx context.Context, ms []llms.MessageContent) {
	h.with(ctx, func(r *run) { h.startCall(ctx, r, len(ms)) })
}

// HandleLLMStart implements callbacks.Handler: provider.call.started, for
// models that report their prompts this way.
func (h *Handler) HandleLLMStart(ctx context.Context, prompts []string) {
	h.with(ctx, func(r *run) { h.startCall(ctx, r, len(prompts)) })
}

func (h *Handler) startCall(ctx context.Context, r *run, messages int) {
	if r.call != nil {
		return // a model that reports its start twice
	}
	id := event.NewID().String()
	r.call = r.open(id, func(m *event.Meta) { m.InferenceID = id })
	r.text = r.call.em.TextBlock(0)
	_ = r.call.em.ProviderCallStarted(ctx, h.provider, "", messages, 0)
}

// HandleStreamingFunc implements callbacks.Handler: message.text.delta.
func (h *Handler) HandleStreamingFunc(ctx context.Context, chunk []byte) {
	if len(chunk) == 0 {
		return
	}
	h.with(ctx, func(r *run) {
		if r.call == nil {
			h.startCall(ctx, r, 0)
		}
		_ = r.text.Delta(ctx, string(chunk))
	})
}

// HandleLLMGenerateContentEnd implements callbacks.Handler: the text, tool
// calls, usage and provider.call.completed.
func (h *Handler) HandleLLMGenerateContentEnd(ctx context.Context, res *llms.ContentResponse) {
	h.with(ctx, func(r *run) {
		if r.call == nil {
			h.startCall(ctx, r, 0)
		}
		h.endCall(ctx, r, res, nil)
	})
}

// HandleLLMError implements callbacks.Handler: provider.call.failed.
func (h *Handler) HandleLLMError(ctx context.Context, err error) {
	h.with(ctx, func(r *run) {
		if r.call == nil {
			h.startCall(ctx, r, 0)
		}
		h.endCall(ctx, r, nil, err)
	})
}

// endCall ends the open model call, if any: with res (nil when the call
// ended without the model's end callback, its text then being what was
// streamed) or with err.
func (h *Handler) endCall(ctx context.Context, r *run, res *llms.ContentResponse, err error) {
	c := r.call
	if c == nil {
		return
	}
	r.call = nil
	d := time.Since(c.start)
	if err != nil {
		_ = c.em.ProviderCallFailed(ctx, h.provider, "", d, err)
		return
	}
	var choice llms.ContentChoice
	if res != nil && len(res.Choices) > 0 && res.Choices[0] != nil {
		choice = *res.Choices[0]
	}
	if choice.ReasoningContent != "" {
		_ = sluice.Emit(ctx, c.em, event.ThinkingCompleted{Text: choice.ReasoningContent})
	}
	switch {
	case r.text.Text() != "":
		_ = r.text.Complete(ctx)
	case choice.Content != "":
		_ = sluice.Emit(ctx, c.em, event.TextCompleted{Text: choice.Content})
	}
	calls := choice.ToolCalls
	if len(calls) == 0 && choice.FuncCall != nil {
		calls = []llms.ToolCall{{FunctionCall: choice.FuncCall}}
	}
	for i, tc := range calls {
		if tc.FunctionCall == nil {
			continue
		}
		_ = sluice.Emit(ctx, c.em, event.ToolCallRequested{CallID: tc.ID, Name: tc.FunctionCall.Name, Index: i, Arguments: jsonvalue.Text(tc.FunctionCall.Arguments)})
	}
	u, ok := usage(choice.GenerationInfo)
	if ok {
		_ = c.em.Usage(ctx, u)
	}
	_ = c.em.ProviderCallCompleted(ctx, event.ProviderCallCompleted{Provider: h.provider, Duration: d, Usage: u,
		FinishReason: choice.StopReason, ToolCallCount: len(calls)})
}

// usage reads the token counts langchaingo's models put in GenerationInfo.
func usage(info map[string]any) (event.Usage, bool) {
	var u event.Usage
	found := false
	for key, dst := range map[string]*int64{
		"PromptTokens": &u.InputTokens, "CompletionTokens": &u.OutputTokens, "TotalTokens": &u.TotalTokens,
		"ReasoningTokens": &u.ReasoningTokens, "PromptCachedTokens": &u.CachedTokens,
		"CacheCreationInputTokens": &u.CacheCreationTokens, "CacheReadInputTokens": &u.CacheReadTokens,
	} {
		switch v := info[key].(type) {
		case int:
			*dst, found = int64(v), true
		case int32:
			*dst, found = int64(v), true
		case int64:
			*dst, found = v, true
		case float64:
			*dst, found = int64(v), true
		}
	}
	return u, found
}

// HandleAgentAction implements callbacks.Handler: tool.call.requested. The
// tool's callbacks that follow belong to this call.
func (h *Handler) HandleAgentAction(ctx context.Context, action schema.AgentAction) {
	h.with(ctx, func(r *run) {
		h.endCall(ctx, r, nil, nil)
		if action.ToolID == "" {
			action.ToolID = event.NewID().String()
		}
		r.action = &action
		s := r.open(action.ToolID, func(m *event.Meta) { m.ToolCallID = action.ToolID })
		_ = sluice.Emit(ctx, s.em, event.ToolCallRequested{CallID: action.ToolID, Name: action.Tool, Arguments: jsonvalue.Text(action.ToolInput)})
	})
}

// HandleAgentFinish implements callbacks.Handler. The agent's answer is in
// the output of its chain (composition.completed); a model call still open
// ends here.
func (h *Handler) HandleAgentFinish(ctx context.Context, _ schema.AgentFinish) {
	h.with(ctx, func(r *run) { h.endCall(ctx, r, nil, nil) })
}

// HandleToolStart implements callbacks.Handler: tool.call.started.
func (h *Handler) HandleToolStart(ctx context.Context, input string) {
	h.with(ctx, func(r *run) {
		h.endCall(ctx, r, nil, nil)
		id, name := event.NewID().String(), "tool"
		if a := r.action; a != nil {
			id, name = a.ToolID, a.Tool
			r.action = nil
		}
		r.tool, r.tname = r.open(id, func(m *event.Meta) { m.ToolCallID = id }), name
		_ = r.tool.em.ToolCallStarted(ctx, id, name, jsonvalue.Text(input))
	})
}

// HandleToolEnd implements callbacks.Handler: tool.call.completed.
func (h *Handler) HandleToolEnd(ctx context.Context, output string) {
	h.with(ctx, func(r *run) {
		if t := r.tool; t != nil {
			r.tool = nil
			_ = t.em.ToolCallCompleted(ctx, t.id, r.tname, time.Since(t.start), jsonvalue.Text(output))
		}
	})
}

// HandleToolError implements callbacks.Handler: tool.call.failed.
func (h *Handler) HandleToolError(ctx context.Context, err error) {
	h.with(ctx, func(r *run) {
		if t := r.tool; t != nil {
			r.tool = nil
			_ = t.em.ToolCallFailed(ctx, t.id, r.tname, time.Since(t.start), err)
		}
	})
}

// HandleRetrieverStart implements callbacks.Handler:
// composition.step.started of kind retriever.
func (h *Handler) HandleRetrieverStart(ctx context.Context, query string) {
	h.with(ctx, func(r *run) {
		r.ret = r.open(event.NewID().String(), nil)
		if r.ret.em.Enabled(ctx, event.TypeCompositionStepStarted) {
			_ = sluice.Emit(ctx, r.ret.em, event.CompositionStepStarted{StepID: "retriever", Kind: "retriever", Input: jsonvalue.Of(map[string]string{"query": query})})
		}
	})
}

// HandleRetrieverEnd implements callbacks.Handler:
// composition.step.completed with the documents.
func (h *Handler) HandleRetrieverEnd(ctx context.Context, _ string, documents []schema.Document) {
	h.with(ctx, func(r *run) {
		s := r.ret
		if s == nil {
			return
		}
		r.ret = nil
		if s.em.Enabled(ctx, event.TypeCompositionStepCompleted) {
			_ = sluice.Emit(ctx, s.em, event.CompositionStepCompleted{StepID: "retriever", Kind: "retriever", Output: jsonvalue.Of(documents)})
		}
	})
}

// HandleText implements callbacks.Handler: agent.log.
func (h *Handler) HandleText(ctx context.Context, text string) {
	em := sluice.EmitterFrom(ctx)
	if !em.Enabled(ctx, event.TypeLog) {
		return
	}
	h.with(ctx, func(r *run) {
		parent, parentID := r.root, r.root.Scope()
		if n := len(r.chains); n > 0 {
			parent, parentID = r.chains[n-1].em, r.chains[n-1].id
		}
		_ = parent.WithMeta(func(m *event.Meta) { m.ParentID = parentID }).Log(ctx, "info", text, nil)
	})
}
