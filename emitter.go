package sluice

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/event"
)

// Emitter is what producers publish through. It is bound to a Sink and to
// correlation metadata (run, session, conversation, …) that it stamps on
// every event, and it makes child emitters for narrower scopes.
//
// A nil *Emitter (and the zero Emitter) is a valid emitter that does nothing
// and costs nothing, so code can be instrumented unconditionally:
//
//	var em *sluice.Emitter // nil: instrumentation off
//	em.TextDelta(ctx, 0, 0, "hi") // no-op, no allocation
//
// Every method checks the sink's Enabled before it builds an event, so an
// event nobody wants is not built.
type Emitter struct {
	sink  Sink
	meta  event.Meta
	src   event.Source
	scope string // the ID of this emitter's own scope, the parent of child scopes
}

// EmitterOption configures an Emitter; pass options to NewEmitter.
type EmitterOption func(*Emitter)

// WithClock sets the clock that stamps the emitter's events (default
// time.Now), for deterministic tests. NewEmitter cannot fail, so a nil
// clock means the default, as a nil emitter means "emit nothing".
func WithClock(now func() time.Time) EmitterOption { return func(e *Emitter) { e.src.Now = now } }

// WithIDs sets the function that gives the emitter's events their IDs
// (default event.NewID), for deterministic tests. A nil function means the
// default.
func WithIDs(newID func() uuid.UUID) EmitterOption { return func(e *Emitter) { e.src.NewID = newID } }

// NewEmitter returns an emitter that publishes to sink and stamps meta on
// every event. A nil sink gives an emitter that publishes nothing.
func NewEmitter(sink Sink, meta event.Meta, opts ...EmitterOption) *Emitter {
	if sink == nil {
		sink = Discard
	}
	e := &Emitter{sink: sink, meta: meta.Clone()}
	for _, o := range opts {
		o(e)
	}
	e.scope = firstNonEmpty(meta.ToolCallID, meta.MessageID, meta.InferenceID, meta.TurnID,
		meta.ConversationID, meta.RunID, meta.SessionID)
	return e
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// Meta returns a copy of the metadata e stamps on its events.
func (e *Emitter) Meta() event.Meta {
	if e == nil {
		return event.Meta{}
	}
	return e.meta.Clone()
}

// Scope returns the ID of e's own scope (its tool call, message,
// inference, turn, conversation, run or session, the narrowest set): the
// parent ID that e's child emitters stamp. Integrations that open scopes of
// their own (a graph node, a chain) use it as their first parent. A nil
// emitter's scope is "".
func (e *Emitter) Scope() string {
	if e == nil {
		return ""
	}
	return e.scope
}

// Sink returns the sink e publishes to (Discard for a nil emitter).
func (e *Emitter) Sink() Sink {
	if e == nil || e.sink == nil {
		return Discard
	}
	return e.sink
}

// child returns a copy of e for a narrower scope with the given ID; set
// records the ID in the child's metadata, and the parent ID becomes e's
// scope.
func (e *Emitter) child(id string, set func(*event.Meta)) *Emitter {
	if e == nil {
		return nil
	}
	c := *e
	c.meta.ParentID = e.scope
	set(&c.meta)
	c.scope = id
	return &c
}

// Turn returns a child emitter for one turn of a conversation.
func (e *Emitter) Turn(id string) *Emitter {
	return e.child(id, func(m *event.Meta) { m.TurnID = id })
}

// Inference returns a child emitter for one call to a model.
func (e *Emitter) Inference(id string) *Emitter {
	return e.child(id, func(m *event.Meta) { m.InferenceID = id })
}

// Message returns a child emitter for one message.
func (e *Emitter) Message(id string) *Emitter {
	return e.child(id, func(m *event.Meta) { m.MessageID = id })
}

// ToolCall returns a child emitter for one tool call.
func (e *Emitter) ToolCall(id string) *Emitter {
	return e.child(id, func(m *event.Meta) { m.ToolCallID = id })
}

// WithMeta returns a child emitter whose metadata is changed by fn (on a
// copy whose Labels map is its own). The scope, and so the parent ID of
// further children, stays the same.
func (e *Emitter) WithMeta(fn func(m *event.Meta)) *Emitter {
	if e == nil {
		return nil
	}
	c := *e
	c.meta = e.meta.Clone()
	fn(&c.meta)
	return &c
}

// Enabled reports whether events of type t would go anywhere.
func (e *Emitter) Enabled(ctx context.Context, t event.Type) bool {
	return e != nil && e.sink != nil && e.sink.Enabled(ctx, t)
}

func (e *Emitter) publish(ctx context.Context, p event.Payload) error {
	ev := e.src.New(p, e.meta)
	return e.sink.Publish(ctx, &ev)
}

// Emit publishes an event carrying p, stamped with em's metadata, through
// em: the one way to emit a payload of any type (the typed helpers, such as
// Emitter.TextDelta, call it). It checks Enabled before it builds anything,
// so it costs nothing (no allocation) when em is nil or nobody wants events
// of p's type. A nil p emits nothing.
func Emit[T event.Payload](ctx context.Context, em *Emitter, p T) error {
	if em == nil || em.sink == nil || any(p) == nil || !em.sink.Enabled(ctx, p.EventType()) {
		return nil
	}
	return em.publish(ctx, p)
}

// TextDelta emits a message.text.delta: text is the new piece, offset its
// byte offset in the block's whole text. TextBlock tracks offsets for you.
func (e *Emitter) TextDelta(ctx context.Context, index int, offset int64, text string) error {
	return Emit(ctx, e, event.TextDelta{Index: index, Offset: offset, Text: text})
}

// ThinkingDelta emits a message.thinking.delta.
func (e *Emitter) ThinkingDelta(ctx context.Context, index int, offset int64, text string) error {
	return Emit(ctx, e, event.ThinkingDelta{Index: index, Offset: offset, Text: text})
}

// ToolCallRequested emits a tool.call.requested: the model asks for a tool.
func (e *Emitter) ToolCallRequested(ctx context.Context, callID, name string, args json.RawMessage) error {
	return Emit(ctx, e, event.ToolCallRequested{CallID: callID, Name: name, Arguments: args})
}

// ToolCallStarted emits a tool.call.started: a tool starts executing.
func (e *Emitter) ToolCallStarted(ctx context.Context, callID, name string, args json.RawMessage) error {
	return Emit(ctx, e, event.ToolCallStarted{CallID: callID, Name: name, Arguments: args})
}

// ToolCallCompleted emits a tool.call.completed with the tool's result.
func (e *Emitter) ToolCallCompleted(ctx context.Context, callID, name string, d time.Duration, result json.RawMessage) error {
	return Emit(ctx, e, event.ToolCallCompleted{CallID: callID, Name: name, Duration: d, Result: result})
}

// ToolCallFailed emits a tool.call.failed with err as a structured error.
func (e *Emitter) ToolCallFailed(ctx context.Context, callID, name string, d time.Duration, err error) error {
	if !e.Enabled(ctx, event.TypeToolCallFailed) {
		return nil
	}
	return e.publish(ctx, event.ToolCallFailed{CallID: callID, Name: name, Duration: d, Error: event.ErrorFrom(err)})
}

// ProviderCallStarted emits a provider.call.started.
func (e *Emitter) ProviderCallStarted(ctx context.Context, provider, model string, messages, tools int) error {
	return Emit(ctx, e, event.ProviderCallStarted{Provider: provider, Model: model, MessageCount: messages, ToolCount: tools})
}

// ProviderCallCompleted emits a provider.call.completed with usage and cost.
func (e *Emitter) ProviderCallCompleted(ctx context.Context, c event.ProviderCallCompleted) error {
	return Emit(ctx, e, c)
}

// ProviderCallFailed emits a provider.call.failed.
func (e *Emitter) ProviderCallFailed(ctx context.Context, provider, model string, d time.Duration, err error) error {
	if !e.Enabled(ctx, event.TypeProviderCallFailed) {
		return nil
	}
	return e.publish(ctx, event.ProviderCallFailed{Provider: provider, Model: model, Duration: d, Error: event.ErrorFrom(err)})
}

// Usage emits a message.usage with token counts reported during a stream.
func (e *Emitter) Usage(ctx context.Context, u event.Usage) error {
	return Emit(ctx, e, event.UsageReported{Usage: u})
}

// StreamError emits a stream.error carrying err as a structured error.
func (e *Emitter) StreamError(ctx context.Context, err error) error {
	if err == nil || !e.Enabled(ctx, event.TypeStreamError) {
		return nil
	}
	return e.publish(ctx, event.StreamError{Error: event.ErrorFrom(err)})
}

// Log emits an agent.log record; fields is a JSON object or nil.
func (e *Emitter) Log(ctx context.Context, level, msg string, fields json.RawMessage) error {
	return Emit(ctx, e, event.Log{Level: level, Message: msg, Fields: fields})
}

// TextBlock starts tracking a streamed text block with the given index: its
// Delta method emits message.text.delta events with the right offsets, and
// Complete emits message.text.completed with the whole text. A block of a
// nil emitter emits nothing but still keeps the text, so code that reads it
// back (Text) works the same with instrumentation off.
func (e *Emitter) TextBlock(index int) *Block {
	return &Block{em: e, index: index}
}

// ThinkingBlock is TextBlock for thinking text: it emits
// message.thinking.delta and message.thinking.completed.
func (e *Emitter) ThinkingBlock(index int) *Block {
	return &Block{em: e, index: index, thinking: true}
}

// Block tracks one streamed text or thinking block. It is not safe for
// concurrent use; a stream's deltas arrive in order anyway.
type Block struct {
	em       *Emitter
	index    int
	thinking bool
	text     strings.Builder
}

// Delta emits the next piece of the block's text.
func (b *Block) Delta(ctx context.Context, text string) error {
	offset := int64(b.text.Len())
	b.text.WriteString(text)
	if b.thinking {
		return b.em.ThinkingDelta(ctx, b.index, offset, text)
	}
	return b.em.TextDelta(ctx, b.index, offset, text)
}

// Text returns the block's text so far.
func (b *Block) Text() string {
	return b.text.String()
}

// Complete emits the block's whole text as message.text.completed (or
// message.thinking.completed).
func (b *Block) Complete(ctx context.Context) error {
	if b.thinking {
		return Emit(ctx, b.em, event.ThinkingCompleted{Index: b.index, Text: b.text.String()})
	}
	return Emit(ctx, b.em, event.TextCompleted{Index: b.index, Text: b.text.String()})
}
