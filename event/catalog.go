package event

import (
	"encoding/json"
	"time"
)

// This file holds the catalog's payload types, one Go type per event type.
// catalog_spec.go registers each with its description and the names the
// seed designs use for it; docs/events.md is the same catalog for people.

// Usage counts the tokens of a model call.
type Usage struct {
	InputTokens         int64 `json:"input_tokens,omitempty" doc:"prompt tokens, including cached ones"`
	OutputTokens        int64 `json:"output_tokens,omitempty" doc:"generated tokens, including reasoning tokens"`
	TotalTokens         int64 `json:"total_tokens,omitempty" doc:"input plus output, as the provider reports it"`
	CachedTokens        int64 `json:"cached_tokens,omitempty" doc:"input tokens served from the provider's prompt cache (OpenAI)"`
	CacheCreationTokens int64 `json:"cache_creation_tokens,omitempty" doc:"input tokens written to the prompt cache (Anthropic)"`
	CacheReadTokens     int64 `json:"cache_read_tokens,omitempty" doc:"input tokens read from the prompt cache (Anthropic)"`
	ReasoningTokens     int64 `json:"reasoning_tokens,omitempty" doc:"output tokens spent on hidden reasoning"`
	Cumulative          bool  `json:"cumulative,omitempty" doc:"true: the counts are totals so far and replace earlier reports; false: they add to earlier reports"`
}

// Add returns the sum of u and v, field by field. Cumulative is taken from v.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		InputTokens:         u.InputTokens + v.InputTokens,
		OutputTokens:        u.OutputTokens + v.OutputTokens,
		TotalTokens:         u.TotalTokens + v.TotalTokens,
		CachedTokens:        u.CachedTokens + v.CachedTokens,
		CacheCreationTokens: u.CacheCreationTokens + v.CacheCreationTokens,
		CacheReadTokens:     u.CacheReadTokens + v.CacheReadTokens,
		ReasoningTokens:     u.ReasoningTokens + v.ReasoningTokens,
		Cumulative:          v.Cumulative,
	}
}

// ToolCall is a tool call the model asked for.
type ToolCall struct {
	ID        string          `json:"id,omitempty" doc:"the provider's tool call ID"`
	Name      string          `json:"name" doc:"the tool's name"`
	Arguments json.RawMessage `json:"arguments,omitempty" doc:"the arguments as JSON"`
}

// ToolResult is the result of a tool call as it is recorded in a message.
type ToolResult struct {
	CallID  string        `json:"call_id,omitempty" doc:"the tool call this answers"`
	Name    string        `json:"name,omitempty" doc:"the tool's name"`
	Content string        `json:"content,omitempty" doc:"the result as the model sees it"`
	Error   Error         `json:"error,omitzero" doc:"set when the tool failed"`
	Latency time.Duration `json:"latency_ns,omitempty" doc:"how long the tool ran"`
}

// ---- pipeline -------------------------------------------------------------

// PipelineStarted is emitted when a pipeline begins to run its stages.
type PipelineStarted struct {
	MiddlewareCount int `json:"middleware_count,omitempty" doc:"number of stages in the pipeline"`
}

// PipelineCompleted is emitted when every stage of a pipeline has succeeded.
type PipelineCompleted struct {
	Duration     time.Duration `json:"duration_ns,omitempty" doc:"wall time of the whole pipeline"`
	Cost         float64       `json:"cost,omitempty" doc:"total cost in US dollars"`
	InputTokens  int64         `json:"input_tokens,omitempty" doc:"input tokens of all model calls"`
	OutputTokens int64         `json:"output_tokens,omitempty" doc:"output tokens of all model calls"`
	MessageCount int           `json:"message_count,omitempty" doc:"messages in the conversation afterwards"`
}

// PipelineFailed is emitted when a stage of a pipeline fails.
type PipelineFailed struct {
	Error    Error         `json:"error" doc:"what went wrong"`
	Duration time.Duration `json:"duration_ns,omitempty" doc:"wall time until the failure"`
}

// ---- middleware -----------------------------------------------------------

// MiddlewareStarted is emitted when a middleware (pipeline stage) starts.
type MiddlewareStarted struct {
	Name  string `json:"name" doc:"the middleware's name"`
	Index int    `json:"index" doc:"its position in the pipeline, from 0"`
}

// MiddlewareCompleted is emitted when a middleware finishes without error.
type MiddlewareCompleted struct {
	Name     string        `json:"name" doc:"the middleware's name"`
	Index    int           `json:"index" doc:"its position in the pipeline, from 0"`
	Duration time.Duration `json:"duration_ns,omitempty" doc:"how long it ran"`
}

// MiddlewareFailed is emitted when a middleware returns an error.
type MiddlewareFailed struct {
	Name     string        `json:"name" doc:"the middleware's name"`
	Index    int           `json:"index" doc:"its position in the pipeline, from 0"`
	Error    Error         `json:"error" doc:"what went wrong"`
	Duration time.Duration `json:"duration_ns,omitempty" doc:"how long it ran"`
}

// MiddlewareCustom is an event a middleware defines for itself.
type MiddlewareCustom struct {
	Middleware string          `json:"middleware" doc:"the middleware's name"`
	Name       string          `json:"name" doc:"the middleware's own name for the event"`
	Data       json.RawMessage `json:"data,omitempty" doc:"free-form JSON data"`
	Message    string          `json:"message,omitempty" doc:"human-readable text"`
}

// ---- provider calls -------------------------------------------------------

// ProviderCallStarted is emitted when a request to a model provider is sent.
type ProviderCallStarted struct {
	Provider     string `json:"provider" doc:"the provider, such as openai or anthropic"`
	Model        string `json:"model" doc:"the model requested"`
	MessageCount int    `json:"message_count,omitempty" doc:"messages sent"`
	ToolCount    int    `json:"tool_count,omitempty" doc:"tools offered to the model"`
}

// ProviderCallCompleted is emitted when a provider call has returned its
// whole response.
type ProviderCallCompleted struct {
	Provider      string        `json:"provider" doc:"the provider"`
	Model         string        `json:"model" doc:"the model that answered"`
	Duration      time.Duration `json:"duration_ns,omitempty" doc:"wall time of the call, including streaming"`
	Usage         Usage         `json:"usage,omitzero" doc:"tokens used"`
	Cost          float64       `json:"cost,omitempty" doc:"cost in US dollars; meaningful only when CostUnknown is false"`
	CostUnknown   bool          `json:"cost_unknown,omitempty" doc:"true when no price is known for the model, so Cost is unknown rather than zero"`
	FinishReason  string        `json:"finish_reason,omitempty" doc:"why the model stopped: stop, length, tool_calls, content_filter, …"`
	ToolCallCount int           `json:"tool_call_count,omitempty" doc:"tool calls the model requested"`
}

// ProviderCallFailed is emitted when a provider call fails, before or while
// streaming.
type ProviderCallFailed struct {
	Provider string        `json:"provider" doc:"the provider"`
	Model    string        `json:"model" doc:"the model requested"`
	Error    Error         `json:"error" doc:"what went wrong"`
	Duration time.Duration `json:"duration_ns,omitempty" doc:"wall time until the failure"`
}

// ---- tool calls -----------------------------------------------------------

// ToolCallRequested is emitted when the model asks for a tool call, with the
// complete arguments. It is the model's request, not the execution: see
// ToolCallStarted.
type ToolCallRequested struct {
	CallID    string          `json:"call_id" doc:"the provider's tool call ID"`
	Name      string          `json:"name" doc:"the tool's name"`
	Index     int             `json:"index,omitempty" doc:"position among the tool calls of the message, from 0"`
	Arguments json.RawMessage `json:"arguments,omitempty" doc:"the arguments as JSON"`
}

// ToolCallDelta carries a streamed piece of a tool call's arguments. Calls
// made in parallel are kept apart by CallID and Index.
type ToolCallDelta struct {
	CallID string `json:"call_id,omitempty" doc:"the tool call ID, once known"`
	Name   string `json:"name,omitempty" doc:"the tool's name, once known"`
	Index  int    `json:"index,omitempty" doc:"position among the tool calls of the message"`
	Offset int64  `json:"offset,omitempty" doc:"byte offset of Delta in the whole arguments text"`
	Delta  string `json:"delta" doc:"the new piece of the arguments text"`
}

// ToolCallStarted is emitted when a tool starts executing.
type ToolCallStarted struct {
	CallID    string          `json:"call_id,omitempty" doc:"the tool call ID"`
	Name      string          `json:"name" doc:"the tool's name"`
	Arguments json.RawMessage `json:"arguments,omitempty" doc:"the arguments as JSON"`
}

// ToolCallCompleted is emitted when a tool has executed successfully.
type ToolCallCompleted struct {
	CallID   string          `json:"call_id,omitempty" doc:"the tool call ID"`
	Name     string          `json:"name" doc:"the tool's name"`
	Duration time.Duration   `json:"duration_ns,omitempty" doc:"how long the tool ran"`
	Status   string          `json:"status,omitempty" doc:"the tool's own status word, such as success or pending"`
	Result   json.RawMessage `json:"result,omitempty" doc:"the result as JSON"`
}

// ToolCallFailed is emitted when a tool's execution fails.
type ToolCallFailed struct {
	CallID   string        `json:"call_id,omitempty" doc:"the tool call ID"`
	Name     string        `json:"name" doc:"the tool's name"`
	Duration time.Duration `json:"duration_ns,omitempty" doc:"how long the tool ran"`
	Error    Error         `json:"error" doc:"what went wrong"`
}

// ---- validation -----------------------------------------------------------

// ValidationStarted is emitted when a validator starts checking content.
type ValidationStarted struct {
	Validator string `json:"validator" doc:"the validator's name"`
	Kind      string `json:"kind,omitempty" doc:"input, output, or another validator kind"`
}

// ValidationPassed is emitted when a validator accepts the content.
type ValidationPassed struct {
	Validator string        `json:"validator" doc:"the validator's name"`
	Kind      string        `json:"kind,omitempty" doc:"input, output, or another validator kind"`
	Duration  time.Duration `json:"duration_ns,omitempty" doc:"how long validation took"`
}

// ValidationFailed is emitted when a validator rejects the content.
type ValidationFailed struct {
	Validator  string        `json:"validator" doc:"the validator's name"`
	Kind       string        `json:"kind,omitempty" doc:"input, output, or another validator kind"`
	Duration   time.Duration `json:"duration_ns,omitempty" doc:"how long validation took"`
	Error      Error         `json:"error,omitzero" doc:"the error, if validation itself failed"`
	Violations []string      `json:"violations,omitempty" doc:"each rule the content broke"`
}

// ---- context and state ----------------------------------------------------

// ContextBuilt is emitted when the context (the messages sent to the model)
// has been assembled.
type ContextBuilt struct {
	MessageCount int   `json:"message_count" doc:"messages in the context"`
	TokenCount   int64 `json:"token_count" doc:"estimated tokens in the context"`
	TokenBudget  int64 `json:"token_budget,omitempty" doc:"the token budget, 0 if none"`
	Truncated    bool  `json:"truncated,omitempty" doc:"whether messages were dropped to fit the budget"`
}

// ContextTokenBudgetExceeded is emitted when the context does not fit its
// token budget.
type ContextTokenBudgetExceeded struct {
	RequiredTokens int64 `json:"required_tokens" doc:"tokens the context needs"`
	Budget         int64 `json:"budget" doc:"the token budget"`
	Excess         int64 `json:"excess" doc:"required minus budget"`
}

// StateLoaded is emitted when a conversation's state is loaded from a store.
type StateLoaded struct {
	ConversationID string `json:"conversation_id" doc:"the conversation"`
	MessageCount   int    `json:"message_count" doc:"messages loaded"`
}

// StateSaved is emitted when a conversation's state is saved to a store.
type StateSaved struct {
	ConversationID string `json:"conversation_id" doc:"the conversation"`
	MessageCount   int    `json:"message_count" doc:"messages saved"`
}

// StateSnapshot carries the whole shared state of an agent and its user
// interface, a JSON value that replaces the state before it. The
// state.delta events after it change it with JSON Patch.
type StateSnapshot struct {
	State json.RawMessage `json:"state,omitempty" doc:"the whole state as a JSON value (absent: null)"`
}

// StateDelta changes the shared state with an RFC 6902 JSON Patch: a JSON
// array of operations (add, remove, replace, move, copy, test) applied to
// the state of the last state.snapshot and the deltas since, in order.
type StateDelta struct {
	Patch json.RawMessage `json:"patch,omitempty" doc:"the RFC 6902 JSON Patch, a JSON array of operations"`
}

// ---- stream ----------------------------------------------------------------

// StreamInterrupted is emitted when a streamed response stops before its end:
// the context was canceled, the connection dropped, or a consumer stopped it.
type StreamInterrupted struct {
	Reason string `json:"reason" doc:"why the stream stopped"`
	Text   string `json:"text,omitempty" doc:"the partial text received before the interruption"`
}

// StreamError is emitted when a provider reports an error in the middle of a
// stream. A ProviderCallFailed follows it.
type StreamError struct {
	Error Error `json:"error" doc:"the provider's error; Retryable says whether to try again"`
}

// ---- conversation and messages -------------------------------------------

// ConversationStarted is emitted when a conversation begins.
type ConversationStarted struct {
	SystemPrompt string `json:"system_prompt,omitempty" doc:"the system prompt"`
}

// MessageCreated is emitted when a message is added to a conversation's
// history: a user's message, the assistant's finished answer, or a tool
// result.
type MessageCreated struct {
	Role       string      `json:"role" doc:"user, assistant, system or tool"`
	Content    string      `json:"content,omitempty" doc:"the message text"`
	Index      int         `json:"index" doc:"position in the conversation, from 0"`
	ToolCalls  []ToolCall  `json:"tool_calls,omitempty" doc:"tool calls the assistant made"`
	ToolResult *ToolResult `json:"tool_result,omitempty" doc:"for a tool message, the result it carries"`
}

// MessageUpdated is emitted when a message's figures are known, after it was
// created (latency, tokens, cost).
type MessageUpdated struct {
	Index        int           `json:"index" doc:"position in the conversation"`
	Latency      time.Duration `json:"latency_ns,omitempty" doc:"time the message took to produce"`
	InputTokens  int64         `json:"input_tokens,omitempty" doc:"input tokens"`
	OutputTokens int64         `json:"output_tokens,omitempty" doc:"output tokens"`
	Cost         float64       `json:"cost,omitempty" doc:"cost in US dollars"`
}

// ---- the live provider stream ---------------------------------------------

// MessageStarted is emitted when a provider starts streaming a message.
type MessageStarted struct {
	ID    string `json:"id,omitempty" doc:"the provider's message or response ID"`
	Role  string `json:"role,omitempty" doc:"usually assistant"`
	Model string `json:"model,omitempty" doc:"the model that answers"`
}

// MessageStopped is emitted when a provider has finished streaming a message.
type MessageStopped struct {
	ID         string `json:"id,omitempty" doc:"the provider's message or response ID"`
	StopReason string `json:"stop_reason,omitempty" doc:"the provider's reason: end_turn, stop, max_tokens, tool_use, refusal, …"`
}

// BlockStarted is emitted when a content block of a streamed message starts.
type BlockStarted struct {
	Index int    `json:"index" doc:"the block's position in the message, from 0"`
	Kind  string `json:"kind" doc:"text, thinking, tool_use, refusal, or a provider's own block kind"`
	ID    string `json:"id,omitempty" doc:"the block's or item's ID, if the provider gives one"`
}

// BlockStopped is emitted when a content block of a streamed message ends.
type BlockStopped struct {
	Index int    `json:"index" doc:"the block's position in the message"`
	Kind  string `json:"kind,omitempty" doc:"the block's kind"`
	ID    string `json:"id,omitempty" doc:"the block's ID"`
}

// TextDelta carries new text of a streamed message: only the new text, and
// where it starts in the whole. The whole text arrives once, in
// TextCompleted.
type TextDelta struct {
	Index  int    `json:"index,omitempty" doc:"the content block"`
	Offset int64  `json:"offset,omitempty" doc:"byte offset of Text in the block's whole text"`
	Text   string `json:"text" doc:"the new text"`
}

// TextCompleted carries the whole text of a content block once it is done.
type TextCompleted struct {
	Index int    `json:"index,omitempty" doc:"the content block"`
	Text  string `json:"text" doc:"the whole text"`
}

// ThinkingDelta carries new thinking (reasoning) text of a streamed message.
type ThinkingDelta struct {
	Index  int    `json:"index,omitempty" doc:"the content block"`
	Offset int64  `json:"offset,omitempty" doc:"byte offset of Text in the block's whole thinking text"`
	Text   string `json:"text" doc:"the new thinking text"`
}

// ThinkingCompleted carries the whole thinking text of a block once it is
// done.
type ThinkingCompleted struct {
	Index     int    `json:"index,omitempty" doc:"the content block"`
	Text      string `json:"text" doc:"the whole thinking text"`
	Signature string `json:"signature,omitempty" doc:"the provider's signature over the thinking, needed to send it back"`
}

// UsageReported carries a provider's token counts as they arrive during a
// stream. Usage.Cumulative says whether they replace or add to earlier
// reports.
type UsageReported struct {
	Usage Usage `json:"usage" doc:"the token counts"`
}

// ---- built-in (provider-hosted) tools -----------------------------------

// WebSearchStarted is emitted when a provider-hosted web search starts.
type WebSearchStarted struct {
	ItemID string `json:"item_id" doc:"the provider's output item ID"`
	Query  string `json:"query,omitempty" doc:"the search query, if known"`
}

// WebSearchProgress is emitted while a web search runs.
type WebSearchProgress struct {
	ItemID string `json:"item_id" doc:"the provider's output item ID"`
	Status string `json:"status,omitempty" doc:"the provider's status word: searching, open_page, …"`
	URL    string `json:"url,omitempty" doc:"the page opened, for open_page"`
}

// WebSearchCompleted is emitted when a web search is done.
type WebSearchCompleted struct {
	ItemID  string          `json:"item_id" doc:"the provider's output item ID"`
	Query   string          `json:"query,omitempty" doc:"the search query"`
	Results json.RawMessage `json:"results,omitempty" doc:"the results as JSON, if the provider returns them"`
}

// FileSearchStarted is emitted when a provider-hosted file search starts.
type FileSearchStarted struct {
	ItemID  string   `json:"item_id" doc:"the provider's output item ID"`
	Queries []string `json:"queries,omitempty" doc:"the queries, if known"`
}

// FileSearchProgress is emitted while a file search runs.
type FileSearchProgress struct {
	ItemID string `json:"item_id" doc:"the provider's output item ID"`
	Status string `json:"status,omitempty" doc:"the provider's status word, such as searching"`
}

// FileSearchCompleted is emitted when a file search is done.
type FileSearchCompleted struct {
	ItemID  string          `json:"item_id" doc:"the provider's output item ID"`
	Queries []string        `json:"queries,omitempty" doc:"the queries"`
	Results json.RawMessage `json:"results,omitempty" doc:"the results as JSON"`
}

// CodeInterpreterStarted is emitted when a provider-hosted code interpreter
// call starts.
type CodeInterpreterStarted struct {
	ItemID      string `json:"item_id" doc:"the provider's output item ID"`
	ContainerID string `json:"container_id,omitempty" doc:"the sandbox the code runs in"`
}

// CodeInterpreterProgress is emitted while a code interpreter call runs: code
// as it streams, or a status change.
type CodeInterpreterProgress struct {
	ItemID    string `json:"item_id" doc:"the provider's output item ID"`
	Status    string `json:"status,omitempty" doc:"interpreting, running, …"`
	CodeDelta string `json:"code_delta,omitempty" doc:"new code text"`
}

// CodeInterpreterCompleted is emitted when a code interpreter call is done.
type CodeInterpreterCompleted struct {
	ItemID  string          `json:"item_id" doc:"the provider's output item ID"`
	Code    string          `json:"code,omitempty" doc:"the whole code that ran"`
	Outputs json.RawMessage `json:"outputs,omitempty" doc:"logs, files or images it produced, as JSON"`
}

// MCPCallStarted is emitted when a provider-hosted call to a remote MCP
// server's tool starts.
type MCPCallStarted struct {
	ItemID    string          `json:"item_id" doc:"the provider's output item ID"`
	Server    string          `json:"server,omitempty" doc:"the MCP server's label"`
	Name      string          `json:"name,omitempty" doc:"the tool's name"`
	Arguments json.RawMessage `json:"arguments,omitempty" doc:"the arguments as JSON, if known"`
}

// MCPCallProgress is emitted while an MCP call runs: arguments as they
// stream, or a status change.
type MCPCallProgress struct {
	ItemID         string  `json:"item_id" doc:"the provider's output item ID"`
	Status         string  `json:"status,omitempty" doc:"in_progress, …"`
	ArgumentsDelta string  `json:"arguments_delta,omitempty" doc:"new arguments text"`
	Progress       float64 `json:"progress,omitempty" doc:"progress so far, as the server reports it (an MCP progress notification)"`
	Total          float64 `json:"total,omitempty" doc:"the progress at completion, if the server knows it"`
	Message        string  `json:"message,omitempty" doc:"the server's progress message"`
}

// MCPCallCompleted is emitted when an MCP call returns.
type MCPCallCompleted struct {
	ItemID   string        `json:"item_id" doc:"the provider's output item ID"`
	Server   string        `json:"server,omitempty" doc:"the MCP server's label"`
	Name     string        `json:"name,omitempty" doc:"the tool's name"`
	Output   string        `json:"output,omitempty" doc:"the tool's output"`
	Duration time.Duration `json:"duration_ns,omitempty" doc:"how long the call took, where the caller measured it"`
}

// MCPCallFailed is emitted when an MCP call fails.
type MCPCallFailed struct {
	ItemID   string        `json:"item_id" doc:"the provider's output item ID"`
	Server   string        `json:"server,omitempty" doc:"the MCP server's label"`
	Name     string        `json:"name,omitempty" doc:"the tool's name"`
	Error    Error         `json:"error" doc:"what went wrong"`
	Duration time.Duration `json:"duration_ns,omitempty" doc:"how long the call took, where the caller measured it"`
}

// MCPListStarted is emitted when a provider starts listing a remote MCP
// server's tools.
type MCPListStarted struct {
	ItemID string `json:"item_id" doc:"the provider's output item ID"`
	Server string `json:"server,omitempty" doc:"the MCP server's label"`
}

// MCPListCompleted is emitted when a provider has listed an MCP server's
// tools.
type MCPListCompleted struct {
	ItemID   string          `json:"item_id" doc:"the provider's output item ID"`
	Server   string          `json:"server,omitempty" doc:"the MCP server's label"`
	Tools    json.RawMessage `json:"tools,omitempty" doc:"the tools as JSON"`
	Duration time.Duration   `json:"duration_ns,omitempty" doc:"how long listing took, where the caller measured it"`
}

// MCPListFailed is emitted when listing an MCP server's tools fails.
type MCPListFailed struct {
	ItemID   string        `json:"item_id" doc:"the provider's output item ID"`
	Server   string        `json:"server,omitempty" doc:"the MCP server's label"`
	Error    Error         `json:"error" doc:"what went wrong"`
	Duration time.Duration `json:"duration_ns,omitempty" doc:"how long listing took, where the caller measured it"`
}

// ImageGenerationStarted is emitted when a provider-hosted image generation
// starts.
type ImageGenerationStarted struct {
	ItemID string `json:"item_id" doc:"the provider's output item ID"`
}

// ImageGenerationProgress is emitted while an image is generated, with a
// partial image when the provider sends one.
type ImageGenerationProgress struct {
	ItemID       string `json:"item_id" doc:"the provider's output item ID"`
	Status       string `json:"status,omitempty" doc:"in_progress, generating, …"`
	PartialIndex int    `json:"partial_index,omitempty" doc:"which partial image this is"`
	PartialImage string `json:"partial_image,omitempty" doc:"a partial image, base64-encoded"`
}

// ImageGenerationCompleted is emitted when an image is generated.
type ImageGenerationCompleted struct {
	ItemID string `json:"item_id" doc:"the provider's output item ID"`
	Image  string `json:"image,omitempty" doc:"the image, base64-encoded, or its URL"`
}

// ---- agent ------------------------------------------------------------------

// Log is a log record emitted into the event stream.
type Log struct {
	Level   string          `json:"level" doc:"debug, info, warn or error"`
	Message string          `json:"message" doc:"the log message"`
	Fields  json.RawMessage `json:"fields,omitempty" doc:"structured attributes as a JSON object"`
}

// Info is an informational notice for a person watching the run.
type Info struct {
	Message string          `json:"message" doc:"the notice"`
	Data    json.RawMessage `json:"data,omitempty" doc:"structured details as JSON"`
}

// Status reports what the agent is doing now, for a status line.
type Status struct {
	Status  string `json:"status" doc:"a short machine-readable word: thinking, calling_tool, waiting, …"`
	Message string `json:"message,omitempty" doc:"the status as text for a person"`
}

// ModeSwitched is emitted when an agent switches its mode (for example from
// planning to executing).
type ModeSwitched struct {
	From     string `json:"from,omitempty" doc:"the previous mode"`
	To       string `json:"to" doc:"the new mode"`
	Analysis string `json:"analysis,omitempty" doc:"the agent's reasoning for the switch"`
}
