// Package provider holds what the provider adapters share: the [Call] that
// turns one streamed model call into Sluice events, the [Result] an adapter
// returns so the caller can continue its agent loop, the normalized [Error],
// and the [Prices] table that gives each call its cost.
//
// The adapters themselves live in sub-packages, one per SDK:
// provider/openai (Chat Completions and Responses on
// github.com/openai/openai-go/v3) and provider/anthropic (Messages on
// github.com/anthropics/anthropic-sdk-go). provider/scripted replays
// recorded provider streams from a local HTTP server, so that the real SDKs
// and adapters run without a network.
//
// # The events of one call
//
// Every adapter emits the same shape, whatever the provider:
//
//	provider.call.started
//	message.started                      once the provider names its message
//	  message.block.started              per content block: text, thinking, refusal, tool_use, …
//	    message.text.delta …             text and refusal blocks (offsets count bytes in the block)
//	    message.thinking.delta …         thinking blocks
//	    tool.call.delta …                tool_use blocks: streamed arguments, by call ID and index
//	    message.text.completed           the block's whole text
//	    message.thinking.completed       the whole thinking text and its signature
//	    tool.call.requested              the complete arguments
//	  message.block.stopped
//	  message.usage …                    token counts as they arrive (Usage.Cumulative: totals so far)
//	message.stopped                      with the provider's own stop reason
//	provider.call.completed              usage, cost, normalized finish reason, tool call count
//
// A stream that breaks off ends differently: a provider error in the middle
// of the stream (or a stream the adapter cannot make sense of) gives
// stream.error and then provider.call.failed; a canceled context gives
// stream.interrupted, with the text received so far, and then
// provider.call.failed; a request that fails before streaming begins gives
// provider.call.failed alone. Every provider.call.started is answered by
// exactly one provider.call.completed or provider.call.failed.
//
// Provider call events carry an inference scope (Meta.InferenceID, plus
// Meta.Provider and Meta.Model); message, block, text and tool events carry
// the message scope below it (Meta.MessageID is the provider's message or
// response ID).
//
// # Cost
//
// [Prices] maps model names to [Price] entries in US dollars per million
// tokens. [DefaultPrices] holds example prices for common OpenAI and
// Anthropic models, to be checked against the providers' price lists;
// [LoadPrices] reads a table from a JSON or YAML file, and [Prices.Set]
// overrides entries in code. A model the table does not know gets
// CostUnknown set on provider.call.completed instead of a cost of zero.
package provider
