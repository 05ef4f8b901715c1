package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// Normalized finish reasons, as provider.call.completed and Result carry
// them. A provider's reason that maps to none of these is passed through
// as it is; message.stopped always carries the provider's own word.
const (
	FinishStop          = "stop"           // the model finished its answer (end_turn, stop_sequence, completed)
	FinishLength        = "length"         // a token limit cut the answer (max_tokens, max_output_tokens)
	FinishToolCalls     = "tool_calls"     // the model asks for tool calls (tool_use)
	FinishContentFilter = "content_filter" // a safety filter stopped the answer (Anthropic's refusal stop)
	FinishRefusal       = "refusal"        // the model declined, with a refusal message (OpenAI refusal content)
	FinishPause         = "pause"          // the provider paused a long turn, to be continued (pause_turn)
)

// Block kinds, as message.block.started carries them. Providers' own kinds
// (such as a Responses web_search_call) are passed through.
const (
	KindText     = "text"
	KindThinking = "thinking"
	KindRefusal  = "refusal"
	KindToolUse  = "tool_use"
)

// Result is what a streamed call produced, in a form common to all
// providers: enough to run the requested tools and continue an agent loop.
// Each adapter returns it beside the SDK's own accumulated message.
type Result struct {
	// MessageID is the provider's message or response ID.
	MessageID string
	// Model is the model that answered, as the provider reported it.
	Model string
	// Text is the text of the answer: the text blocks, joined.
	Text string
	// Thinking is the thinking (reasoning) text, the thinking blocks joined.
	Thinking string
	// Refusal is the model's refusal message, if it declined.
	Refusal string
	// ToolCalls are the tool calls the model asked for, in order, with
	// their complete arguments.
	ToolCalls []event.ToolCall
	// Usage is the call's token counts (totals).
	Usage event.Usage
	// Cost is the call's cost in US dollars; CostKnown is false when the
	// pricing table does not know the model.
	Cost      float64
	CostKnown bool
	// FinishReason is the normalized reason the model stopped (FinishStop,
	// FinishToolCalls, …); StopReason is the provider's own word.
	FinishReason string
	StopReason   string
	// Duration is the wall time of the call.
	Duration time.Duration
}

// CallInfo describes a call before it is sent.
type CallInfo struct {
	Provider     string // "openai", "anthropic", …
	Model        string // the model requested
	MessageCount int    // messages (or input items) sent
	ToolCount    int    // tools offered
}

// Option configures an adapter call.
type Option func(*options)

type options struct {
	prices      *Prices
	inferenceID string
	now         func() time.Time
}

// WithPrices sets the pricing table for the call's cost. Without it,
// adapters use Default().
func WithPrices(p *Prices) Option { return func(o *options) { o.prices = p } }

// WithInferenceID sets the ID of the call's inference scope. Without it, a
// call whose emitter has no inference scope yet gets a new UUIDv7; an
// emitter that already has one (Emitter.Inference) keeps it.
func WithInferenceID(id string) Option { return func(o *options) { o.inferenceID = id } }

// WithClock sets the clock that measures the call's duration, for tests.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

var (
	defaultOnce   sync.Once
	defaultPrices *Prices
)

// Default returns the pricing table adapters use when no WithPrices option
// is given: DefaultPrices() until changed. Set entries on it, or Merge a
// loaded file into it, to change the prices of every call:
//
//	prices, err := provider.LoadPrices("prices.yaml")
//	...
//	provider.Default().Merge(prices)
func Default() *Prices {
	defaultOnce.Do(func() { defaultPrices = DefaultPrices() })
	return defaultPrices
}

// Call turns one streamed model call into events. An adapter starts it
// before sending the request, reports what the stream brings (message,
// blocks, deltas, usage), and ends it with Complete or Fail; Call keeps
// track of offsets, partial text, tool arguments and usage, and emits the
// events in the order the package documentation shows.
//
// The adapters in provider/openai and provider/anthropic are built on Call;
// use it to write an adapter for another provider. A Call is not safe for
// concurrent use: a stream's events arrive in order anyway. Emit errors
// (a closed sink) do not stop the call.
type Call struct {
	info   CallInfo
	prices *Prices
	now    func() time.Time
	em     *sluice.Emitter // the inference scope
	msg    *sluice.Emitter // the message scope
	start  time.Time

	blocks  []*blockState
	tools   int
	res     Result
	usage   bool // usage was reported
	started bool
	done    bool
}

type blockState struct {
	kind     string
	id       string
	open     bool
	text     *sluice.Block // text, thinking and refusal blocks
	final    string        // the provider's final text or arguments, if it sent them
	hasFinal bool
	sig      string // thinking signature

	callID string // tool_use blocks
	name   string
	tool   int
	args   strings.Builder
}

// Start emits provider.call.started through an inference scope of em and
// returns the Call. em may be nil: the Call then emits nothing but still
// accumulates the Result.
func Start(ctx context.Context, em *sluice.Emitter, info CallInfo, opts ...Option) *Call {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	c := &Call{info: info, prices: o.prices, now: o.now}
	if c.prices == nil {
		c.prices = Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if em != nil {
		meta := em.Meta()
		switch {
		case o.inferenceID != "":
			em = em.Inference(o.inferenceID)
		case meta.InferenceID == "":
			em = em.Inference(event.NewID().String())
		}
		if meta.Provider != info.Provider || meta.Model != info.Model {
			em = em.WithMeta(func(m *event.Meta) { m.Provider, m.Model = info.Provider, info.Model })
		}
	}
	c.em, c.msg = em, em
	c.res.Model = info.Model
	c.start = c.now()
	_ = em.ProviderCallStarted(ctx, info.Provider, info.Model, info.MessageCount, info.ToolCount)
	return c
}

// Emitter returns the emitter of the call's inference scope (nil if the
// call emits nothing).
func (c *Call) Emitter() *sluice.Emitter { return c.em }

// Started reports whether the stream has begun: MessageStart was called.
func (c *Call) Started() bool { return c.started }

// Done reports whether Complete or Fail was called.
func (c *Call) Done() bool { return c.done }

// MessageStart emits message.started for the provider's message id and
// opens the message scope. model is the model that answers, if the
// provider says so.
func (c *Call) MessageStart(ctx context.Context, id, model string) {
	if c.started {
		return
	}
	c.started = true
	c.res.MessageID = id
	if model != "" {
		c.res.Model = model
	}
	if id != "" {
		c.msg = c.em.Message(id)
	}
	_ = sluice.Emit(ctx, c.msg, event.MessageStarted{ID: id, Role: "assistant", Model: model})
}

// ErrBlock reports a block index that is out of order, or not open.
var ErrBlock = fmt.Errorf("%w: content block", ErrProtocol)

func (c *Call) block(index int) (*blockState, error) {
	if index < 0 || index >= len(c.blocks) || c.blocks[index] == nil {
		return nil, fmt.Errorf("%w %d was never started", ErrBlock, index)
	}
	b := c.blocks[index]
	if !b.open {
		return nil, fmt.Errorf("%w %d is already stopped", ErrBlock, index)
	}
	return b, nil
}

// NextBlock returns the index the next block gets if the adapter numbers
// blocks itself: one more than the highest so far.
func (c *Call) NextBlock() int { return len(c.blocks) }

// BlockStart emits message.block.started for a text, thinking or refusal
// block, or for a provider's own block kind, with the provider's ID for it
// if it has one. Indices start at 0, and each is started once; use
// ToolStart for tool_use blocks.
func (c *Call) BlockStart(ctx context.Context, index int, kind, id string) error {
	b, err := c.newBlock(index, kind, id)
	if err != nil {
		return err
	}
	switch kind {
	case KindText, KindRefusal:
		b.text = c.msg.TextBlock(index)
	case KindThinking:
		b.text = c.msg.ThinkingBlock(index)
	}
	_ = sluice.Emit(ctx, c.msg, event.BlockStarted{Index: index, Kind: kind, ID: id})
	return nil
}

func (c *Call) newBlock(index int, kind, id string) (*blockState, error) {
	if index < 0 || index > len(c.blocks)+1024 {
		return nil, fmt.Errorf("%w index %d is out of range", ErrBlock, index)
	}
	for len(c.blocks) <= index {
		c.blocks = append(c.blocks, nil)
	}
	if c.blocks[index] != nil {
		return nil, fmt.Errorf("%w %d was started twice", ErrBlock, index)
	}
	b := &blockState{kind: kind, id: id, open: true}
	c.blocks[index] = b
	return b, nil
}

// ToolStart emits message.block.started for a tool_use block: the model
// starts a tool call with the given call ID and tool name. The call gets
// the next tool index (0 for the message's first tool call).
func (c *Call) ToolStart(ctx context.Context, index int, callID, name, blockID string) error {
	b, err := c.newBlock(index, KindToolUse, blockID)
	if err != nil {
		return err
	}
	b.callID, b.name, b.tool = callID, name, c.tools
	c.tools++
	if blockID == "" {
		blockID = callID
		b.id = callID
	}
	_ = sluice.Emit(ctx, c.msg, event.BlockStarted{Index: index, Kind: KindToolUse, ID: blockID})
	return nil
}

// Delta adds streamed text to a text, refusal or thinking block and emits
// message.text.delta or message.thinking.delta, or adds streamed arguments
// to a tool_use block and emits tool.call.delta. Empty deltas, and deltas
// of a provider's own block kinds, emit nothing.
func (c *Call) Delta(ctx context.Context, index int, text string) error {
	b, err := c.block(index)
	if err != nil {
		return err
	}
	if text == "" {
		return nil
	}
	if b.kind == KindToolUse {
		offset := int64(b.args.Len())
		b.args.WriteString(text)
		_ = sluice.Emit(ctx, c.msg, event.ToolCallDelta{CallID: b.callID, Name: b.name, Index: b.tool, Offset: offset, Delta: text})
		return nil
	}
	if b.text == nil {
		return nil // a provider's own block kind: its deltas are not text
	}
	_ = b.text.Delta(ctx, text)
	return nil
}

// Signature adds to the signature of a thinking block, which
// message.thinking.completed carries.
func (c *Call) Signature(index int, sig string) error {
	b, err := c.block(index)
	if err != nil {
		return err
	}
	b.sig += sig
	return nil
}

// Final records the provider's own final text of a block (or a tool call's
// final arguments), which can differ from the joined deltas. BlockStop
// uses it in place of the deltas.
func (c *Call) Final(index int, text string) error {
	b, err := c.block(index)
	if err != nil {
		return err
	}
	b.final, b.hasFinal = text, true
	return nil
}

// BlockText returns the text of a block so far, or the arguments of a tool
// call so far.
func (c *Call) BlockText(index int) string {
	if index < 0 || index >= len(c.blocks) || c.blocks[index] == nil {
		return ""
	}
	b := c.blocks[index]
	if b.kind == KindToolUse {
		return b.args.String()
	}
	if b.text != nil {
		return b.text.Text()
	}
	return ""
}

// BlockStop ends a block: it emits message.text.completed,
// message.thinking.completed or tool.call.requested with the block's whole
// text or arguments, and then message.block.stopped.
func (c *Call) BlockStop(ctx context.Context, index int) error {
	b, err := c.block(index)
	if err != nil {
		return err
	}
	b.open = false
	switch b.kind {
	case KindText, KindRefusal, KindThinking:
		text := b.text.Text()
		if b.hasFinal {
			text = b.final
		}
		switch b.kind {
		case KindText:
			c.res.Text += text
			_ = sluice.Emit(ctx, c.msg, event.TextCompleted{Index: index, Text: text})
		case KindRefusal:
			c.res.Refusal += text
			_ = sluice.Emit(ctx, c.msg, event.TextCompleted{Index: index, Text: text})
		case KindThinking:
			c.res.Thinking += text
			_ = sluice.Emit(ctx, c.msg, event.ThinkingCompleted{Index: index, Text: text, Signature: b.sig})
		}
	case KindToolUse:
		args := b.args.String()
		if b.hasFinal {
			args = b.final
		}
		var raw json.RawMessage
		switch {
		case strings.TrimSpace(args) == "":
			raw = json.RawMessage("{}") // a tool without parameters
		case json.Valid([]byte(args)):
			raw = json.RawMessage(args)
		default:
			return fmt.Errorf("%w: tool call %s (%s) has arguments that are not JSON: %.200q", ErrProtocol, b.callID, b.name, args)
		}
		c.res.ToolCalls = append(c.res.ToolCalls, event.ToolCall{ID: b.callID, Name: b.name, Arguments: raw})
		_ = sluice.Emit(ctx, c.msg, event.ToolCallRequested{CallID: b.callID, Name: b.name, Index: b.tool, Arguments: raw})
	}
	_ = sluice.Emit(ctx, c.msg, event.BlockStopped{Index: index, Kind: b.kind, ID: b.id})
	return nil
}

// StopOpenBlocks stops every block still open, in index order.
func (c *Call) StopOpenBlocks(ctx context.Context) error {
	for i, b := range c.blocks {
		if b != nil && b.open {
			if err := c.BlockStop(ctx, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// OpenBlock reports whether block index is started and not yet stopped,
// and its kind.
func (c *Call) OpenBlock(index int) (kind string, open bool) {
	if index < 0 || index >= len(c.blocks) || c.blocks[index] == nil {
		return "", false
	}
	return c.blocks[index].kind, c.blocks[index].open
}

// Usage records token counts and emits message.usage. Counts with
// Cumulative set replace the earlier ones; others add to them.
func (c *Call) Usage(ctx context.Context, u event.Usage) {
	c.usage = true
	if u.Cumulative {
		c.res.Usage = u
	} else {
		c.res.Usage = c.res.Usage.Add(u)
	}
	_ = sluice.Emit(ctx, c.msg, event.UsageReported{Usage: u})
}

// CurrentUsage returns the token counts recorded so far.
func (c *Call) CurrentUsage() event.Usage { return c.res.Usage }

// MessageStop stops the blocks still open and emits message.stopped with
// the provider's stop reason.
func (c *Call) MessageStop(ctx context.Context, stopReason string) error {
	if err := c.StopOpenBlocks(ctx); err != nil {
		return err
	}
	c.res.StopReason = stopReason
	_ = sluice.Emit(ctx, c.msg, event.MessageStopped{ID: c.res.MessageID, StopReason: stopReason})
	return nil
}

// Complete ends the call: it computes the cost and emits
// provider.call.completed with the normalized finish reason, and returns
// the Result. The cost is unknown (CostUnknown) if the pricing table does
// not know the model, or if the provider reported no usage.
func (c *Call) Complete(ctx context.Context, finishReason string) *Result {
	c.done = true
	c.res.Duration = c.now().Sub(c.start)
	c.res.FinishReason = finishReason
	u := c.res.Usage
	u.Cumulative = true
	c.res.Usage = u
	if c.usage { // without token counts, the cost is unknown too
		c.res.Cost, c.res.CostKnown = c.prices.Cost(c.res.Model, u)
		if !c.res.CostKnown && c.res.Model != c.info.Model {
			c.res.Cost, c.res.CostKnown = c.prices.Cost(c.info.Model, u)
		}
	}
	_ = c.em.ProviderCallCompleted(ctx, event.ProviderCallCompleted{
		Provider: c.info.Provider, Model: c.res.Model, Duration: c.res.Duration,
		Usage: u, Cost: c.res.Cost, CostUnknown: !c.res.CostKnown,
		FinishReason: finishReason, ToolCallCount: len(c.res.ToolCalls),
	})
	res := c.res
	return &res
}

// Partial returns the result so far, as an adapter returns it beside an
// error: Text includes blocks still open.
func (c *Call) Partial() Result {
	r := c.res
	r.Text = c.PartialText()
	r.ToolCalls = append([]event.ToolCall(nil), r.ToolCalls...)
	return r
}

// PartialText returns the text received so far: the text blocks, joined,
// including those still open.
func (c *Call) PartialText() string {
	var sb strings.Builder
	for _, b := range c.blocks {
		if b != nil && b.kind == KindText {
			sb.WriteString(b.text.Text())
		}
	}
	return sb.String()
}

// Fail ends the call with err and returns the error the adapter should
// return.
//
//   - If ctx is done, the stream was interrupted: once it had started,
//     stream.interrupted carries the partial text. The error returned
//     wraps ctx's error (errors.Is(err, context.Canceled)).
//   - An *Error with Code CodeIncomplete (the connection was closed early)
//     is an interruption too.
//   - Any other error after the stream began (or an *Error with MidStream)
//     gives stream.error.
//
// provider.call.failed follows in every case. The events are emitted with
// a context that is not canceled, so that a sink that honors ctx still
// takes them.
func (c *Call) Fail(ctx context.Context, err error) error {
	if c.done {
		return err
	}
	c.done = true
	ectx := context.WithoutCancel(ctx)
	var pe *Error
	isPE := errors.As(err, &pe)
	switch {
	case ctx.Err() != nil:
		if !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%s: stream interrupted: %w: %w", c.info.Provider, ctx.Err(), err)
		} else {
			err = fmt.Errorf("%s: stream interrupted: %w", c.info.Provider, err)
		}
		if c.started {
			_ = sluice.Emit(ectx, c.msg, event.StreamInterrupted{Reason: ctx.Err().Error(), Text: c.PartialText()})
		}
	case isPE && pe.Code == CodeIncomplete:
		if c.started {
			_ = sluice.Emit(ectx, c.msg, event.StreamInterrupted{Reason: pe.Message, Text: c.PartialText()})
		}
	case c.started || (isPE && pe.MidStream):
		_ = c.msg.StreamError(ectx, err)
	}
	_ = c.em.ProviderCallFailed(ectx, c.info.Provider, c.info.Model, c.now().Sub(c.start), err)
	return err
}

// Protocol returns an *Error with Code CodeProtocol for a stream that does
// not make sense, wrapping ErrProtocol.
func Protocol(providerName, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Provider: providerName, Code: CodeProtocol, Message: msg, MidStream: true,
		Err: fmt.Errorf("%w: %s", ErrProtocol, msg)}
}

// ProtocolErr returns err as an *Error with Code CodeProtocol: err itself if
// it is one, else a new one wrapping err, which should wrap ErrProtocol.
func ProtocolErr(providerName string, err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	if !errors.Is(err, ErrProtocol) {
		err = fmt.Errorf("%w: %w", ErrProtocol, err)
	}
	msg := strings.TrimPrefix(err.Error(), ErrProtocol.Error()+": ")
	return &Error{Provider: providerName, Code: CodeProtocol, Message: msg, MidStream: true, Err: err}
}

// Incomplete returns an *Error with Code CodeIncomplete for a stream that
// ended (or broke off with cause, which may be nil) before the provider's
// final event, wrapping ErrIncomplete.
func Incomplete(providerName, what string, cause error) *Error {
	msg := "connection closed before " + what
	err := fmt.Errorf("%w: %s", ErrIncomplete, msg)
	if cause != nil {
		msg += ": " + cause.Error()
		err = fmt.Errorf("%w: %w", ErrIncomplete, cause)
	}
	return &Error{Provider: providerName, Code: CodeIncomplete, Message: msg, Retryable: true, MidStream: true, Err: err}
}

// StreamErr classifies an error of a stream that is not one the provider
// sent: a payload that does not decode gives a protocol error (see
// ProtocolErr); a connection that breaks after the stream started an
// Incomplete one, what naming the final event that did not come; anything
// else an *Error with MidStream set if the stream had started, retryable
// if it is a network timeout.
func StreamErr(providerName, what string, started bool, err error) *Error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typ) {
		return ProtocolErr(providerName, err)
	}
	var netErr net.Error
	if started && (errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &netErr)) {
		return Incomplete(providerName, what, err)
	}
	return &Error{Provider: providerName, Message: err.Error(), MidStream: started,
		Retryable: errors.As(err, &netErr) && netErr.Timeout(), Err: err}
}
