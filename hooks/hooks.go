// Package hooks calls functions on the events of one conversation as they
// are published on a bus: when the user sends a message, when the
// assistant answers, when a tool is called and returns, on each streamed
// chunk and on errors.
//
//	h := hooks.Conversation(b, "conv-1")
//	defer h.Close()
//	err := h.OnToolCall(func(ctx context.Context, c event.ToolCallStarted) { … })
//
// Hooks consume events; the package instrument produces them.
package hooks

import (
	"context"
	"errors"
	"sync"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
)

// ErrClosed is returned by the On methods of closed Hooks.
var ErrClosed = errors.New("hooks: closed")

var errNilHook = errors.New("hooks: nil function")

// Hooks are callbacks on the events of one conversation (the events whose
// Meta.ConversationID is its ID) published on a bus. Every callback runs
// synchronously, in the publisher's goroutine, inside Publish: callbacks
// see the conversation's events in the order they were published, and the
// publisher goes on when they return. Callbacks on the same event run in
// the order they were added. A panicking callback is recovered by the bus.
//
// The hooks and the events they follow:
//
//	OnSend        message.created with role user
//	OnResponse    message.created with role assistant
//	OnToolCall    tool.call.started
//	OnToolResult  tool.call.completed
//	OnError       stream.error, provider.call.failed, tool.call.failed, pipeline.failed
//	OnChunk       message.text.delta
//
// A provider error mid-stream is reported twice to OnError: as stream.error
// and as the provider.call.failed that follows it.
type Hooks struct {
	b  *bus.Bus
	id string

	mu     sync.Mutex
	subs   []*bus.Subscription
	closed bool
}

// Conversation returns hooks on the conversation id's events on b. Add
// callbacks with the On methods; Close removes them all.
func Conversation(b *bus.Bus, id string) *Hooks {
	return &Hooks{b: b, id: id}
}

// on subscribes fn to the events of type T with type typ in h's
// conversation, narrowed by keep if not nil.
func on[T event.Payload](h *Hooks, typ event.Type, keep func(T) bool, fn func(context.Context, *event.Event, T)) error {
	if fn == nil {
		return errNilHook
	}
	pattern, err := event.ParsePattern(string(typ))
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	id := h.id
	sub, err := h.b.Subscribe(pattern, func(ctx context.Context, ev *event.Event) {
		if p, ok := ev.Payload.(T); ok && (keep == nil || keep(p)) {
			fn(ctx, ev, p)
		}
	}, bus.WithSync(), bus.WithFilter(func(ev *event.Event) bool { return ev.Meta.ConversationID == id }))
	if err != nil {
		return err
	}
	h.subs = append(h.subs, sub)
	return nil
}

// OnSend calls fn for each message the user sends: message.created with
// role user.
func (h *Hooks) OnSend(fn func(ctx context.Context, m event.MessageCreated)) error {
	return on(h, event.TypeMessageCreated, func(m event.MessageCreated) bool { return m.Role == "user" },
		func(ctx context.Context, _ *event.Event, m event.MessageCreated) { fn(ctx, m) })
}

// OnResponse calls fn for each answer of the assistant: message.created
// with role assistant.
func (h *Hooks) OnResponse(fn func(ctx context.Context, m event.MessageCreated)) error {
	return on(h, event.TypeMessageCreated, func(m event.MessageCreated) bool { return m.Role == "assistant" },
		func(ctx context.Context, _ *event.Event, m event.MessageCreated) { fn(ctx, m) })
}

// OnToolCall calls fn when a tool starts executing (tool.call.started).
func (h *Hooks) OnToolCall(fn func(ctx context.Context, c event.ToolCallStarted)) error {
	return on(h, event.TypeToolCallStarted, nil,
		func(ctx context.Context, _ *event.Event, c event.ToolCallStarted) { fn(ctx, c) })
}

// OnToolResult calls fn when a tool has returned a result
// (tool.call.completed).
func (h *Hooks) OnToolResult(fn func(ctx context.Context, r event.ToolCallCompleted)) error {
	return on(h, event.TypeToolCallCompleted, nil,
		func(ctx context.Context, _ *event.Event, r event.ToolCallCompleted) { fn(ctx, r) })
}

// OnChunk calls fn for each piece of streamed text (message.text.delta).
func (h *Hooks) OnChunk(fn func(ctx context.Context, d event.TextDelta)) error {
	return on(h, event.TypeTextDelta, nil,
		func(ctx context.Context, _ *event.Event, d event.TextDelta) { fn(ctx, d) })
}

// OnError calls fn for each error in the conversation: stream.error,
// provider.call.failed, tool.call.failed and pipeline.failed. source is the
// type of the event that reported it.
func (h *Hooks) OnError(fn func(ctx context.Context, source event.Type, err event.Error)) error {
	if fn == nil {
		return errNilHook
	}
	errs := []error{
		on(h, event.TypeStreamError, nil, func(ctx context.Context, ev *event.Event, p event.StreamError) { fn(ctx, ev.Type, p.Error) }),
		on(h, event.TypeProviderCallFailed, nil, func(ctx context.Context, ev *event.Event, p event.ProviderCallFailed) { fn(ctx, ev.Type, p.Error) }),
		on(h, event.TypeToolCallFailed, nil, func(ctx context.Context, ev *event.Event, p event.ToolCallFailed) { fn(ctx, ev.Type, p.Error) }),
		on(h, event.TypePipelineFailed, nil, func(ctx context.Context, ev *event.Event, p event.PipelineFailed) { fn(ctx, ev.Type, p.Error) }),
	}
	return errors.Join(errs...)
}

// Close removes every callback. Callbacks already running finish; no new
// ones start. The On methods fail with ErrClosed afterwards.
func (h *Hooks) Close() {
	h.mu.Lock()
	subs := h.subs
	h.subs, h.closed = nil, true
	h.mu.Unlock()
	for _, s := range subs {
		s.Cancel()
	}
}
