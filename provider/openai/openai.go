// Package openai turns streamed calls to OpenAI's Chat Completions and
// Responses APIs, made with the official Go SDK
// (github.com/openai/openai-go/v3), into Sluice events.
//
// StreamChat and StreamResponse send the request and read the stream;
// ConsumeChat and ConsumeResponse read a stream you opened yourself. They
// emit the events the provider package describes (call, message, blocks,
// text, reasoning, refusals, tool calls, usage, errors) and return a result
// holding what the caller needs for the next turn of an agent loop:
//
//	client := openai.NewClient()
//	res, err := sluiceopenai.StreamChat(ctx, em, &client.Chat.Completions, params)
//	if err != nil { … }
//	params.Messages = append(params.Messages, res.Completion.Choices[0].Message.ToParam())
//	for _, call := range res.ToolCalls { … run the tool, append openai.ToolMessage(result, call.ID) … }
//
// What the providers do, and how it shows in events:
//
//   - Chat Completions reports usage only when stream_options.include_usage
//     is set, in an extra chunk with no choices after the finish reason.
//     StreamChat sets include_usage unless the caller set it (to true or
//     false). Parallel tool calls arrive by index, the call ID and name
//     only in the first fragment of each; the adapter keeps them apart by
//     index and emits each call's deltas with its ID. Chat has no content
//     blocks: the adapter numbers them (text, refusal, one per tool call)
//     in the order they appear. Only the first choice is followed.
//   - The Responses API numbers its events (sequence_number): a gap, or an
//     event for an output item that was never added, fails the call with a
//     *provider.Error wrapping provider.ErrProtocol. Each content part
//     (output text, refusal, reasoning summary part) and each function call
//     is a block; function call arguments stream as deltas.
//     response.incomplete completes the call with the finish reason length
//     or content_filter; response.failed and error events fail it.
package openai

import (
	"encoding/json"
	"errors"

	sdk "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/sluice-events/sluice/provider"
)

// Name is the provider name the events carry.
const Name = "openai"

// classify turns an error of the SDK's stream into a *provider.Error.
func classify(err error, started bool, what string) error {
	var apiErr *sdk.Error
	if errors.As(err, &apiErr) {
		code := apiErr.Code
		if code == "" {
			code = apiErr.Type
		}
		return &provider.Error{Provider: Name, Code: code, Message: apiErr.Message, StatusCode: apiErr.StatusCode,
			Retryable: provider.RetryableStatus(apiErr.StatusCode) || provider.RetryableCode(code), Err: err}
	}
	var streamErr *ssestream.StreamError
	if errors.As(err, &streamErr) {
		// data: {"error":{"message":"…","type":"server_error","param":null,"code":null}}
		var body struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
				Code    string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(streamErr.Event.Data, &body)
		code := body.Error.Code
		if code == "" {
			code = body.Error.Type
		}
		msg := body.Error.Message
		if msg == "" {
			msg = streamErr.Message
		}
		return &provider.Error{Provider: Name, Code: code, Message: msg, MidStream: true,
			Retryable: provider.RetryableCode(body.Error.Code) || provider.RetryableCode(body.Error.Type), Err: err}
	}
	return provider.StreamErr(Name, what, started, err)
}
