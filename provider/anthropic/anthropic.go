// Package anthropic turns streamed calls to Anthropic's Messages API, made
// with the official Go SDK (github.com/anthropics/anthropic-sdk-go), into
// Sluice events.
//
// Stream sends the request and reads the stream; Consume reads a stream you
// opened yourself. Both emit the events the provider package describes
// (call, message, blocks, text, thinking, tool calls, usage, errors) and
// return a Result holding the SDK's accumulated message, ready to be sent
// back in the next turn of an agent loop:
//
//	client := anthropic.NewClient()
//	res, err := sluiceanthropic.Stream(ctx, em, &client.Messages, params)
//	if err != nil { … }
//	params.Messages = append(params.Messages, res.Message.ToParam())
//	for _, call := range res.ToolCalls { … run the tool, append its result … }
//
// What the provider does, and how it shows in events: input tokens (and
// cache reads and writes) arrive only in message_start, and output tokens
// cumulatively in each message_delta, so every message.usage event carries
// the totals so far with Usage.Cumulative set; InputTokens counts cached
// and cache-written tokens too, as the event catalog defines it. A
// mid-stream error event (overloaded_error, …) becomes stream.error and
// provider.call.failed with the error type as code and Retryable set for
// transient errors. Thinking signatures ride on message.thinking.completed.
package anthropic

import (
	"context"
	"encoding/json"
	"errors"

	sdk "github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/anthropics/anthropic-sdk-go/packages/ssestream"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/provider"
)

// Name is the provider name the events carry.
const Name = "anthropic"

// MessageStreamer opens a streaming Messages request; the SDK's
// *anthropic.MessageService (client.Messages) is one.
type MessageStreamer interface {
	NewStreaming(ctx context.Context, params sdk.MessageNewParams, opts ...option.RequestOption) *ssestream.Stream[sdk.MessageStreamEventUnion]
}

// Result is what a streamed call produced.
type Result struct {
	provider.Result
	// Message is the SDK's own accumulation of the stream (Message.Accumulate):
	// Message.ToParam() gives the assistant turn to send back, with its
	// thinking signatures and tool_use blocks.
	Message sdk.Message
}

// Stream sends params as a streaming request through svc and emits the
// call's events through em (which may be nil). It returns when the stream
// ends: with the Result, or with an error that is an *provider.Error for a
// provider or stream failure (wrapping the SDK's *anthropic.Error, if any)
// or wraps ctx's error if ctx was canceled. On an error the Result holds
// what arrived before it.
func Stream(ctx context.Context, em *sluice.Emitter, svc MessageStreamer, params sdk.MessageNewParams, opts ...provider.Option) (*Result, error) {
	c := provider.Start(ctx, em, Info(params), opts...)
	return consume(ctx, c, svc.NewStreaming(ctx, params))
}

// Consume is Stream for a stream the caller opened; info describes the
// request (Info(params) does it). provider.call.started is emitted when
// Consume starts.
func Consume(ctx context.Context, em *sluice.Emitter, stream *ssestream.Stream[sdk.MessageStreamEventUnion], info provider.CallInfo, opts ...provider.Option) (*Result, error) {
	return consume(ctx, provider.Start(ctx, em, info, opts...), stream)
}

// Info describes a request for provider.call.started.
func Info(params sdk.MessageNewParams) provider.CallInfo {
	return provider.CallInfo{Provider: Name, Model: string(params.Model), MessageCount: len(params.Messages), ToolCount: len(params.Tools)}
}

func consume(ctx context.Context, c *provider.Call, stream *ssestream.Stream[sdk.MessageStreamEventUnion]) (*Result, error) {
	defer stream.Close()
	r := &Result{}
	fail := func(err error) (*Result, error) {
		for i := range r.Message.Content {
			r.sync(c, i)
		}
		r.Result = c.Partial()
		return r, c.Fail(ctx, err)
	}
	var stop string
	stopped := false
	for stream.Next() {
		if ctx.Err() != nil {
			break
		}
		ev := stream.Current()
		// The SDK's Message.Accumulate appends each text, thinking and
		// argument delta to a string, which is quadratic in the length of
		// a block; the Call keeps them in builders, and the block's whole
		// text goes into the message when it stops.
		skip := false
		switch ev.Type {
		case "content_block_delta":
			switch ev.Delta.Type {
			case "text_delta", "thinking_delta", "input_json_delta":
				skip = true
			}
		case "content_block_stop":
			r.sync(c, int(ev.Index))
		}
		if !skip {
			if err := r.Message.Accumulate(ev); err != nil {
				return fail(provider.Protocol(Name, "%v", err))
			}
		}
		var err error
		switch ev.Type {
		case "message_start":
			c.MessageStart(ctx, ev.Message.ID, string(ev.Message.Model))
			c.Usage(ctx, usage(r.Message.Usage))
		case "content_block_start":
			i, cb := int(ev.Index), &ev.ContentBlock
			switch cb.Type {
			case "text":
				if err = c.BlockStart(ctx, i, provider.KindText, ""); err == nil {
					err = c.Delta(ctx, i, cb.Text)
				}
			case "thinking":
				if err = c.BlockStart(ctx, i, provider.KindThinking, ""); err == nil {
					err = c.Delta(ctx, i, cb.Thinking)
				}
			case "tool_use":
				err = c.ToolStart(ctx, i, cb.ID, cb.Name, cb.ID)
			default: // redacted_thinking, server_tool_use, web_search_tool_result, …
				err = c.BlockStart(ctx, i, cb.Type, cb.ID)
			}
		case "content_block_delta":
			i := int(ev.Index)
			switch ev.Delta.Type {
			case "text_delta":
				err = c.Delta(ctx, i, ev.Delta.Text)
			case "thinking_delta":
				err = c.Delta(ctx, i, ev.Delta.Thinking)
			case "input_json_delta":
				err = c.Delta(ctx, i, ev.Delta.PartialJSON)
			case "signature_delta":
				err = c.Signature(i, ev.Delta.Signature)
			}
		case "content_block_stop":
			err = c.BlockStop(ctx, int(ev.Index))
		case "message_delta":
			stop = string(ev.Delta.StopReason)
			c.Usage(ctx, usage(r.Message.Usage))
		case "message_stop":
			if !c.Started() {
				return fail(provider.Protocol(Name, "message_stop before message_start"))
			}
			err = c.MessageStop(ctx, stop)
			stopped = true
		}
		if err != nil {
			return fail(provider.ProtocolErr(Name, err))
		}
	}
	if ctx.Err() != nil {
		err := stream.Err()
		if err == nil {
			err = ctx.Err()
		}
		return fail(err)
	}
	if err := stream.Err(); err != nil {
		return fail(classify(err, c.Started()))
	}
	if !stopped {
		return fail(provider.Incomplete(Name, "message_stop", nil))
	}
	r.Result = *c.Complete(ctx, Finish(stop))
	return r, nil
}

// sync puts the text (or thinking, or tool arguments) the Call holds for
// block i into the accumulated message.
func (r *Result) sync(c *provider.Call, i int) {
	if i < 0 || i >= len(r.Message.Content) {
		return
	}
	cb := &r.Message.Content[i]
	switch cb.Type {
	case "text":
		cb.Text = c.BlockText(i)
	case "thinking":
		cb.Thinking = c.BlockText(i)
	case "tool_use":
		if args := c.BlockText(i); args != "" {
			cb.Input = json.RawMessage(args)
		}
	}
}

// usage converts the SDK's accumulated usage to the catalog's: totals so
// far, with cached and cache-written tokens counted in InputTokens.
func usage(u sdk.Usage) event.Usage {
	in := u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
	return event.Usage{
		InputTokens:         in,
		OutputTokens:        u.OutputTokens,
		TotalTokens:         in + u.OutputTokens,
		CacheCreationTokens: u.CacheCreationInputTokens,
		CacheReadTokens:     u.CacheReadInputTokens,
		ReasoningTokens:     u.OutputTokensDetails.ThinkingTokens,
		Cumulative:          true,
	}
}

// Finish maps an Anthropic stop reason to a normalized finish reason:
// end_turn and stop_sequence to stop, max_tokens and
// model_context_window_exceeded to length, tool_use to tool_calls,
// refusal (a safety classifier stopped the stream) to content_filter,
// pause_turn to pause. Others pass through.
func Finish(stopReason string) string {
	switch stopReason {
	case "end_turn", "stop_sequence":
		return provider.FinishStop
	case "max_tokens", "model_context_window_exceeded":
		return provider.FinishLength
	case "tool_use":
		return provider.FinishToolCalls
	case "refusal":
		return provider.FinishContentFilter
	case "pause_turn":
		return provider.FinishPause
	}
	return stopReason
}

// classify turns an error of the SDK's stream into a *provider.Error.
func classify(err error, started bool) error {
	var apiErr *sdk.Error
	if errors.As(err, &apiErr) {
		code, msg := errorBody(apiErr.RawJSON())
		if code == "" {
			code = string(apiErr.Type())
		}
		// An error event inside a 200 stream carries the stream's status.
		mid := apiErr.StatusCode < 400
		status := apiErr.StatusCode
		if mid {
			status = 0
		}
		if msg == "" {
			msg = err.Error()
		}
		return &provider.Error{Provider: Name, Code: code, Message: msg, StatusCode: status,
			Retryable: provider.RetryableCode(code) || provider.RetryableStatus(status), MidStream: mid, Err: err}
	}
	return provider.StreamErr(Name, "message_stop", started, err)
}

// errorBody reads the type and message of an Anthropic error body:
// {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}.
func errorBody(raw string) (code, msg string) {
	var body struct {
		Error struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(raw), &body) != nil {
		return "", ""
	}
	return body.Error.Type, body.Error.Message
}
