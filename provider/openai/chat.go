package openai

import (
	"context"
	"encoding/json"
	"fmt"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/param"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/provider"
)

// ChatStreamer opens a streaming Chat Completions request; the SDK's
// *openai.ChatCompletionService (client.Chat.Completions) is one.
type ChatStreamer interface {
	NewStreaming(ctx context.Context, body sdk.ChatCompletionNewParams, opts ...option.RequestOption) *ssestream.Stream[sdk.ChatCompletionChunk]
}

// ChatResult is what a streamed Chat Completions call produced.
type ChatResult struct {
	provider.Result
	// Completion is the stream accumulated into a completion with one
	// choice: Completion.Choices[0].Message.ToParam() gives the assistant
	// message to send back, with its tool calls.
	Completion sdk.ChatCompletion
}

// StreamChat sends params as a streaming request through svc and emits
// the call's events through em (which may be nil). It sets
// stream_options.include_usage unless params set it, so that usage is
// reported. It returns the ChatResult, or an error that is a
// *provider.Error for a provider or stream failure (wrapping the SDK's
// *openai.Error, if any) or wraps ctx's error if ctx was canceled; on an
// error the result holds what arrived before it.
func StreamChat(ctx context.Context, em *sluice.Emitter, svc ChatStreamer, params sdk.ChatCompletionNewParams, opts ...provider.Option) (*ChatResult, error) {
	if param.IsOmitted(params.StreamOptions.IncludeUsage) {
		params.StreamOptions.IncludeUsage = sdk.Bool(true)
	}
	c := provider.Start(ctx, em, ChatInfo(params), opts...)
	return consumeChat(ctx, c, svc.NewStreaming(ctx, params))
}

// ConsumeChat is StreamChat for a stream the caller opened; info describes
// the request (ChatInfo(params) does it). provider.call.started is emitted
// when ConsumeChat starts.
func ConsumeChat(ctx context.Context, em *sluice.Emitter, stream *ssestream.Stream[sdk.ChatCompletionChunk], info provider.CallInfo, opts ...provider.Option) (*ChatResult, error) {
	return consumeChat(ctx, provider.Start(ctx, em, info, opts...), stream)
}

// ChatInfo describes a request for provider.call.started.
func ChatInfo(params sdk.ChatCompletionNewParams) provider.CallInfo {
	return provider.CallInfo{Provider: Name, Model: string(params.Model), MessageCount: len(params.Messages), ToolCount: len(params.Tools)}
}

// chatTool is a tool call being streamed.
type chatTool struct {
	index int64 // the provider's tool call index
	block int
	id    string
	name  string
}

type chatState struct {
	c       *provider.Call
	text    int // the open text block, or -1
	refusal int // the open refusal block, or -1
	tools   []chatTool
	finish  string
	usage   *sdk.CompletionUsage
	first   sdk.ChatCompletionChunk // the first chunk, for the completion's metadata
}

func consumeChat(ctx context.Context, c *provider.Call, stream *ssestream.Stream[sdk.ChatCompletionChunk]) (*ChatResult, error) {
	defer stream.Close()
	s := chatState{c: c, text: -1, refusal: -1}
	r := &ChatResult{}
	fail := func(err error) (*ChatResult, error) {
		r.Result = c.Partial()
		return r, c.Fail(ctx, err)
	}
	for stream.Next() {
		if ctx.Err() != nil {
			break
		}
		if err := s.chunk(ctx, stream.Current()); err != nil {
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
		return fail(classify(err, c.Started(), "the finish reason"))
	}
	if s.finish == "" {
		return fail(provider.Incomplete(Name, "the finish reason", nil))
	}
	if err := c.MessageStop(ctx, s.finish); err != nil {
		return fail(provider.ProtocolErr(Name, err))
	}
	so := c.Partial()
	res := c.Complete(ctx, chatFinish(s.finish, so.Refusal != "" && so.Text == ""))
	r.Result = *res
	r.Completion = s.completion(res)
	return r, nil
}

func (s *chatState) chunk(ctx context.Context, ch sdk.ChatCompletionChunk) error {
	c := s.c
	if !c.Started() {
		s.first = ch
		c.MessageStart(ctx, ch.ID, ch.Model)
	}
	if ch.JSON.Usage.Valid() {
		u := ch.Usage
		s.usage = &u
		c.Usage(ctx, chatUsage(u))
	}
	for i := range ch.Choices {
		choice := &ch.Choices[i]
		if choice.Index != 0 {
			continue // only the first choice is followed
		}
		d := &choice.Delta
		if d.Content != "" {
			if s.text < 0 {
				if err := s.closeText(ctx); err != nil {
					return err
				}
				s.text = c.NextBlock()
				if err := c.BlockStart(ctx, s.text, provider.KindText, ""); err != nil {
					return err
				}
			}
			if err := c.Delta(ctx, s.text, d.Content); err != nil {
				return err
			}
		}
		if d.Refusal != "" {
			if s.refusal < 0 {
				if err := s.closeText(ctx); err != nil {
					return err
				}
				s.refusal = c.NextBlock()
				if err := c.BlockStart(ctx, s.refusal, provider.KindRefusal, ""); err != nil {
					return err
				}
			}
			if err := c.Delta(ctx, s.refusal, d.Refusal); err != nil {
				return err
			}
		}
		for j := range d.ToolCalls {
			tc := &d.ToolCalls[j]
			t := s.tool(tc.Index)
			if t == nil {
				if err := s.closeText(ctx); err != nil {
					return err
				}
				s.tools = append(s.tools, chatTool{index: tc.Index, block: c.NextBlock(), id: tc.ID, name: tc.Function.Name})
				t = &s.tools[len(s.tools)-1]
				if err := c.ToolStart(ctx, t.block, t.id, t.name, ""); err != nil {
					return err
				}
			} else if tc.ID != "" && t.id != "" && tc.ID != t.id {
				return fmt.Errorf("%w: tool call index %d changed its ID from %s to %s", provider.ErrProtocol, tc.Index, t.id, tc.ID)
			}
			if err := c.Delta(ctx, t.block, tc.Function.Arguments); err != nil {
				return err
			}
		}
		if choice.FinishReason != "" {
			s.finish = choice.FinishReason
			s.text, s.refusal = -1, -1
			if err := c.StopOpenBlocks(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *chatState) tool(index int64) *chatTool {
	for i := range s.tools {
		if s.tools[i].index == index {
			return &s.tools[i]
		}
	}
	return nil
}

// closeText stops the open text and refusal blocks: a new kind of content
// has begun.
func (s *chatState) closeText(ctx context.Context) error {
	for _, b := range []*int{&s.text, &s.refusal} {
		if *b >= 0 {
			if err := s.c.BlockStop(ctx, *b); err != nil {
				return err
			}
			*b = -1
		}
	}
	return nil
}

func chatUsage(u sdk.CompletionUsage) event.Usage {
	return event.Usage{
		InputTokens:         u.PromptTokens,
		OutputTokens:        u.CompletionTokens,
		TotalTokens:         u.TotalTokens,
		CachedTokens:        u.PromptTokensDetails.CachedTokens,
		CacheCreationTokens: u.PromptTokensDetails.CacheWriteTokens,
		ReasoningTokens:     u.CompletionTokensDetails.ReasoningTokens,
		Cumulative:          true,
	}
}

// chatFinish normalizes a Chat Completions finish reason: a stop whose
// message is only a refusal is FinishRefusal; function_call is
// FinishToolCalls.
func chatFinish(reason string, refusal bool) string {
	switch reason {
	case "stop":
		if refusal {
			return provider.FinishRefusal
		}
		return provider.FinishStop
	case "function_call":
		return provider.FinishToolCalls
	}
	return reason // length, tool_calls, content_filter
}

// completion builds the SDK's ChatCompletion from the stream, through its
// JSON form so that the SDK's own decoding (and RawJSON) applies.
func (s *chatState) completion(res *provider.Result) sdk.ChatCompletion {
	type fn struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	}
	type toolCall struct {
		ID       string `json:"id"`
		Type     string `json:"type"`
		Function fn     `json:"function"`
	}
	type message struct {
		Role      string     `json:"role"`
		Content   *string    `json:"content"`
		Refusal   *string    `json:"refusal"`
		ToolCalls []toolCall `json:"tool_calls,omitempty"`
	}
	msg := message{Role: "assistant"}
	if res.Text != "" {
		msg.Content = &res.Text
	}
	if res.Refusal != "" {
		msg.Refusal = &res.Refusal
	}
	for _, tc := range res.ToolCalls {
		msg.ToolCalls = append(msg.ToolCalls, toolCall{ID: tc.ID, Type: "function", Function: fn{Name: tc.Name, Arguments: string(tc.Arguments)}})
	}
	body := map[string]any{
		"id": s.first.ID, "object": "chat.completion", "created": s.first.Created, "model": res.Model,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": s.finish, "logprobs": nil}},
	}
	if s.first.SystemFingerprint != "" {
		body["system_fingerprint"] = s.first.SystemFingerprint
	}
	if s.usage != nil {
		body["usage"] = json.RawMessage(s.usage.RawJSON())
	}
	var out sdk.ChatCompletion
	data, err := json.Marshal(body)
	if err == nil {
		err = json.Unmarshal(data, &out)
	}
	if err != nil {
		panic(err) // the JSON is ours
	}
	return out
}
