package event

import (
	"encoding/json"
	"time"
)

// This file holds the rest of the PromptKit runtime's catalog (stages,
// reasoning, media, evals, workflows, client tools, prompt templates,
// capability calls, compositions) and the run lifecycle, citations and
// search results of Geppetto.

// ---- streaming-pipeline stages --------------------------------------------

// StageStarted is emitted when a stage of a streaming pipeline starts.
type StageStarted struct {
	Name  string `json:"name" doc:"the stage's name"`
	Index int    `json:"index" doc:"its position in the pipeline, from 0"`
	Kind  string `json:"kind,omitempty" doc:"transform, accumulate, generate, sink or bidirectional"`
}

// StageCompleted is emitted when a stage of a streaming pipeline finishes.
type StageCompleted struct {
	Name     string        `json:"name" doc:"the stage's name"`
	Index    int           `json:"index" doc:"its position in the pipeline, from 0"`
	Kind     string        `json:"kind,omitempty" doc:"the stage's kind"`
	Duration time.Duration `json:"duration_ns,omitempty" doc:"how long it ran"`
}

// StageFailed is emitted when a stage of a streaming pipeline fails.
type StageFailed struct {
	Name     string        `json:"name" doc:"the stage's name"`
	Index    int           `json:"index" doc:"its position in the pipeline, from 0"`
	Kind     string        `json:"kind,omitempty" doc:"the stage's kind"`
	Duration time.Duration `json:"duration_ns,omitempty" doc:"how long it ran"`
	Error    Error         `json:"error" doc:"what went wrong"`
}

// ContextCompacted is emitted when older messages are folded to make the
// context fit its budget between rounds of a tool loop.
type ContextCompacted struct {
	Round           int   `json:"round,omitempty" doc:"the tool-loop round, from 1"`
	OriginalTokens  int64 `json:"original_tokens" doc:"tokens before compaction"`
	CompactedTokens int64 `json:"compacted_tokens" doc:"tokens after compaction"`
	MessagesFolded  int   `json:"messages_folded" doc:"messages folded into a summary"`
	BudgetTokens    int64 `json:"budget_tokens,omitempty" doc:"the budget compacted to"`
}

// ---- media ------------------------------------------------------------------

// Media describes binary content carried by or referred to from an event.
// Large content should travel by reference, not inline.
type Media struct {
	Ref      string `json:"ref,omitempty" doc:"where the content is stored (a URL or a storage key)"`
	MIMEType string `json:"mime_type,omitempty" doc:"the content's media type"`
	Size     int64  `json:"size,omitempty" doc:"size in bytes"`
	Checksum string `json:"checksum,omitempty" doc:"a checksum of the content"`
	Data     []byte `json:"data,omitempty" doc:"the content inline, base64-encoded in JSON"`
}

// AudioInput is emitted when audio from the user or the environment is
// recorded.
type AudioInput struct {
	Media      Media         `json:"media" doc:"the audio"`
	Actor      string        `json:"actor,omitempty" doc:"who produced it"`
	ChunkIndex int           `json:"chunk_index,omitempty" doc:"position of this chunk in the utterance"`
	Final      bool          `json:"final,omitempty" doc:"whether this is the last chunk"`
	SampleRate int           `json:"sample_rate,omitempty" doc:"samples per second"`
	Channels   int           `json:"channels,omitempty" doc:"number of channels"`
	Duration   time.Duration `json:"duration_ns,omitempty" doc:"length of the audio"`
}

// AudioOutput is emitted when audio produced by the agent is recorded.
type AudioOutput struct {
	Media      Media         `json:"media" doc:"the audio"`
	Actor      string        `json:"actor,omitempty" doc:"who produced it"`
	ChunkIndex int           `json:"chunk_index,omitempty" doc:"position of this chunk in the utterance"`
	Final      bool          `json:"final,omitempty" doc:"whether this is the last chunk"`
	SampleRate int           `json:"sample_rate,omitempty" doc:"samples per second"`
	Channels   int           `json:"channels,omitempty" doc:"number of channels"`
	Duration   time.Duration `json:"duration_ns,omitempty" doc:"length of the audio"`
}

// AudioTranscription is emitted when speech has been transcribed.
type AudioTranscription struct {
	Text         string  `json:"text" doc:"the transcript"`
	Language     string  `json:"language,omitempty" doc:"the detected language"`
	Confidence   float64 `json:"confidence,omitempty" doc:"the recognizer's confidence, 0 to 1"`
	AudioEventID string  `json:"audio_event_id,omitempty" doc:"the audio event transcribed"`
	Final        bool    `json:"final,omitempty" doc:"false for an interim transcript"`
	Provider     string  `json:"provider,omitempty" doc:"the speech-to-text provider"`
}

// VideoFrame is emitted when a video frame is captured.
type VideoFrame struct {
	Media      Media         `json:"media" doc:"the frame"`
	FrameIndex int64         `json:"frame_index" doc:"position in the video"`
	Offset     time.Duration `json:"offset_ns,omitempty" doc:"time of the frame from the video's start"`
	Keyframe   bool          `json:"keyframe,omitempty" doc:"whether it is a keyframe"`
	Width      int           `json:"width,omitempty" doc:"pixels"`
	Height     int           `json:"height,omitempty" doc:"pixels"`
}

// Screenshot is emitted when a screenshot is captured.
type Screenshot struct {
	Media       Media  `json:"media" doc:"the image"`
	WindowTitle string `json:"window_title,omitempty" doc:"the window captured"`
	Reason      string `json:"reason,omitempty" doc:"why it was taken"`
	Width       int    `json:"width,omitempty" doc:"pixels"`
	Height      int    `json:"height,omitempty" doc:"pixels"`
}

// ImageInput is emitted when an image enters the conversation.
type ImageInput struct {
	Media       Media  `json:"media" doc:"the image"`
	Description string `json:"description,omitempty" doc:"a description of the image"`
}

// ImageOutput is emitted when the agent produces an image.
type ImageOutput struct {
	Media  Media  `json:"media" doc:"the image"`
	Prompt string `json:"prompt,omitempty" doc:"the prompt it was generated from"`
}

// MediaOperation describes an operation on a media store; the media.*
// events carry it.
type MediaOperation struct {
	Operation string        `json:"operation" doc:"store, retrieve, delete or get_url"`
	Backend   string        `json:"backend,omitempty" doc:"the storage backend"`
	Ref       string        `json:"ref,omitempty" doc:"the stored object's reference"`
	MIMEType  string        `json:"mime_type,omitempty" doc:"its media type"`
	Size      int64         `json:"size,omitempty" doc:"its size in bytes"`
	Duration  time.Duration `json:"duration_ns,omitempty" doc:"how long the operation took"`
	Reason    string        `json:"reason,omitempty" doc:"why: explicit, or policy:<name>"`
}

// MediaStored is emitted when media was written to a store.
type MediaStored struct{ MediaOperation }

// MediaRetrieved is emitted when media was read from a store.
type MediaRetrieved struct{ MediaOperation }

// MediaDeleted is emitted when media was deleted from a store.
type MediaDeleted struct{ MediaOperation }

// MediaStoreFailed is emitted when a media store operation failed.
type MediaStoreFailed struct {
	MediaOperation
	Error Error `json:"error" doc:"what went wrong"`
}

// ---- evals ------------------------------------------------------------------

// EvalCompleted is emitted when an eval, assertion or guardrail has run,
// whatever its score.
type EvalCompleted struct {
	EvalID      string          `json:"eval_id" doc:"the eval's ID"`
	EvalType    string          `json:"eval_type,omitempty" doc:"the eval's type"`
	Kind        string          `json:"kind,omitempty" doc:"eval, assertion or guardrail"`
	Trigger     string          `json:"trigger,omitempty" doc:"what made it run"`
	Passed      *bool           `json:"passed,omitempty" doc:"the verdict, if it gives one"`
	Score       *float64        `json:"score,omitempty" doc:"the score, if it gives one"`
	Explanation string          `json:"explanation,omitempty" doc:"why"`
	Duration    time.Duration   `json:"duration_ns,omitempty" doc:"how long it ran"`
	Violations  []string        `json:"violations,omitempty" doc:"each rule broken"`
	Details     json.RawMessage `json:"details,omitempty" doc:"free-form details as JSON"`
	Skipped     bool            `json:"skipped,omitempty" doc:"whether it was skipped"`
	SkipReason  string          `json:"skip_reason,omitempty" doc:"why it was skipped"`
}

// EvalFailed is emitted when an eval could not run (not when it scored low).
type EvalFailed struct {
	EvalID   string `json:"eval_id" doc:"the eval's ID"`
	EvalType string `json:"eval_type,omitempty" doc:"the eval's type"`
	Error    Error  `json:"error" doc:"what went wrong"`
}

// ---- workflows --------------------------------------------------------------

// WorkflowTransitioned is emitted when a workflow state machine moves to
// another state.
type WorkflowTransitioned struct {
	From       string `json:"from" doc:"the state left"`
	To         string `json:"to" doc:"the state entered"`
	Trigger    string `json:"trigger,omitempty" doc:"the workflow event that caused it"`
	PromptTask string `json:"prompt_task,omitempty" doc:"the prompt task of the new state"`
}

// WorkflowCompleted is emitted when a workflow reaches a terminal state.
type WorkflowCompleted struct {
	FinalState      string `json:"final_state" doc:"the terminal state"`
	TransitionCount int    `json:"transition_count" doc:"transitions taken"`
}

// WorkflowMaxVisitsExceeded is emitted when a state was entered more often
// than its limit allows.
type WorkflowMaxVisitsExceeded struct {
	From           string `json:"from" doc:"the state left"`
	OriginalTarget string `json:"original_target" doc:"the state that hit its limit"`
	Trigger        string `json:"trigger,omitempty" doc:"the workflow event"`
	VisitCount     int    `json:"visit_count" doc:"visits so far"`
	MaxVisits      int    `json:"max_visits" doc:"the limit"`
	RedirectedTo   string `json:"redirected_to,omitempty" doc:"where the workflow went instead"`
	Terminated     bool   `json:"terminated,omitempty" doc:"whether the workflow stopped"`
}

// WorkflowBudgetExhausted is emitted when a workflow-wide budget runs out.
type WorkflowBudgetExhausted struct {
	Limit           string `json:"limit" doc:"which budget"`
	Current         int64  `json:"current" doc:"the amount used"`
	Max             int64  `json:"max" doc:"the budget"`
	CurrentState    string `json:"current_state,omitempty" doc:"the state at the time"`
	TransitionCount int    `json:"transition_count,omitempty" doc:"transitions taken"`
}

// ---- client-side tools ------------------------------------------------------

// ClientToolRequested is emitted when a tool must be fulfilled by the caller
// (for example in a browser) or needs the user's consent.
type ClientToolRequested struct {
	CallID         string          `json:"call_id" doc:"the tool call ID"`
	Name           string          `json:"name" doc:"the tool's name"`
	Arguments      json.RawMessage `json:"arguments,omitempty" doc:"the arguments as JSON"`
	ConsentMessage string          `json:"consent_message,omitempty" doc:"what to ask the user"`
	Categories     []string        `json:"categories,omitempty" doc:"the tool's categories"`
}

// ClientToolResolved is emitted when the caller has answered a client-side
// tool request.
type ClientToolResolved struct {
	CallID          string `json:"call_id" doc:"the tool call ID"`
	Name            string `json:"name" doc:"the tool's name"`
	Status          string `json:"status" doc:"fulfilled, rejected or error"`
	RejectionReason string `json:"rejection_reason,omitempty" doc:"why it was rejected"`
}

// ---- prompt templates -------------------------------------------------------

// TemplateStarted is emitted when a prompt template starts rendering.
type TemplateStarted struct {
	Task          string `json:"task,omitempty" doc:"the prompt's task type"`
	VariableCount int    `json:"variable_count,omitempty" doc:"variables supplied"`
	ModelOverride string `json:"model_override,omitempty" doc:"the model the prompt asks for"`
}

// TemplateRendered is emitted when a prompt template has rendered.
type TemplateRendered struct {
	Task            string   `json:"task,omitempty" doc:"the prompt's task type"`
	SystemPrompt    string   `json:"system_prompt,omitempty" doc:"the rendered prompt"`
	PromptHash      string   `json:"prompt_hash,omitempty" doc:"a hash of the rendered prompt"`
	UnusedVariables []string `json:"unused_variables,omitempty" doc:"variables the template did not use"`
	Fragments       []string `json:"fragments,omitempty" doc:"fragments included"`
	Passes          int      `json:"passes,omitempty" doc:"render passes"`
}

// TemplateFailed is emitted when a prompt template fails to render.
type TemplateFailed struct {
	Task       string   `json:"task,omitempty" doc:"the prompt's task type"`
	Error      Error    `json:"error" doc:"what went wrong"`
	Unresolved []string `json:"unresolved,omitempty" doc:"placeholders left unresolved"`
}

// ---- non-chat model capabilities --------------------------------------------

// CapabilityCallStarted is emitted when a non-chat model call starts: image
// generation, text to speech, speech to text, or embedding.
type CapabilityCallStarted struct {
	Capability string `json:"capability" doc:"image_gen, tts, stt or embedding"`
	Provider   string `json:"provider" doc:"the provider"`
	Model      string `json:"model,omitempty" doc:"the model"`
}

// CapabilityCallCompleted is emitted when a non-chat model call succeeds.
type CapabilityCallCompleted struct {
	Capability string           `json:"capability" doc:"image_gen, tts, stt or embedding"`
	Provider   string           `json:"provider" doc:"the provider"`
	Model      string           `json:"model,omitempty" doc:"the model"`
	Duration   time.Duration    `json:"duration_ns,omitempty" doc:"how long the call took"`
	Cost       float64          `json:"cost,omitempty" doc:"cost in US dollars"`
	Quantities map[string]int64 `json:"quantities,omitempty" doc:"billed quantities: images, characters, audio_ms, input_tokens, vectors, …"`
}

// CapabilityCallFailed is emitted when a non-chat model call fails.
type CapabilityCallFailed struct {
	Capability string        `json:"capability" doc:"image_gen, tts, stt or embedding"`
	Provider   string        `json:"provider" doc:"the provider"`
	Model      string        `json:"model,omitempty" doc:"the model"`
	Duration   time.Duration `json:"duration_ns,omitempty" doc:"how long until the failure"`
	Error      Error         `json:"error" doc:"what went wrong"`
}

// ---- compositions -----------------------------------------------------------

// CompositionStarted is emitted when a composition (a flow of prompt and
// tool steps) starts.
type CompositionStarted struct {
	Composition string          `json:"composition" doc:"the composition's name"`
	Input       json.RawMessage `json:"input,omitempty" doc:"its input as JSON"`
}

// CompositionCompleted is emitted when a composition ends, well or not.
type CompositionCompleted struct {
	Composition string          `json:"composition" doc:"the composition's name"`
	Output      json.RawMessage `json:"output,omitempty" doc:"its output as JSON"`
	Error       Error           `json:"error,omitzero" doc:"set if it failed"`
	Duration    time.Duration   `json:"duration_ns,omitempty" doc:"how long it ran"`
}

// CompositionStepStarted is emitted when a step of a composition starts.
type CompositionStepStarted struct {
	StepID string          `json:"step_id" doc:"the step"`
	Kind   string          `json:"kind,omitempty" doc:"prompt, tool, branch or parallel"`
	Input  json.RawMessage `json:"input,omitempty" doc:"its input as JSON"`
}

// CompositionStepCompleted is emitted when a step of a composition ends.
type CompositionStepCompleted struct {
	StepID  string          `json:"step_id" doc:"the step"`
	Kind    string          `json:"kind,omitempty" doc:"prompt, tool, branch or parallel"`
	Output  json.RawMessage `json:"output,omitempty" doc:"its output as JSON"`
	Attempt int             `json:"attempt,omitempty" doc:"the attempt, from 1; more than 1 is a retry"`
	Error   Error           `json:"error,omitzero" doc:"set if it failed"`
}

// CompositionBranchEvaluated is emitted when a branch step has chosen.
type CompositionBranchEvaluated struct {
	StepID string `json:"step_id" doc:"the branch step"`
	Taken  string `json:"taken" doc:"the branch taken"`
}

// CompositionParallelCompleted is emitted when every branch of a parallel
// step has ended.
type CompositionParallelCompleted struct {
	StepID   string            `json:"step_id" doc:"the parallel step"`
	Branches map[string]string `json:"branches,omitempty" doc:"each branch's status by branch ID"`
}

// ---- runs, citations, search results, debugging -----------------------------

// RunStarted is emitted when an agent run begins.
type RunStarted struct {
	Prompt string `json:"prompt,omitempty" doc:"the prompt that started it"`
}

// RunCompleted is emitted when an agent run finishes.
type RunCompleted struct {
	Status   string        `json:"status,omitempty" doc:"how it finished"`
	Duration time.Duration `json:"duration_ns,omitempty" doc:"how long it ran"`
}

// RunStopped is emitted when an agent run is stopped before it finished.
type RunStopped struct {
	Reason string `json:"reason,omitempty" doc:"why"`
}

// RunFailed is emitted when an agent run fails.
type RunFailed struct {
	Error Error `json:"error" doc:"what went wrong"`
}

// RunInterrupted is emitted when an agent run ends waiting for something
// only the outside world can give it (an approval, a value, a choice). A
// later run answers its interrupts (RunResumed); until then they are open.
type RunInterrupted struct {
	Interrupts []Interrupt `json:"interrupts" doc:"what the run waits for, at least one"`
}

// Interrupt is one thing an interrupted run waits for.
type Interrupt struct {
	ID             string          `json:"id" doc:"identifies it within the run; an answer names it"`
	Reason         string          `json:"reason" doc:"why the run needs it, an open word such as approval"`
	Message        string          `json:"message,omitempty" doc:"the question for whoever answers"`
	ToolCallID     string          `json:"tool_call_id,omitempty" doc:"the tool call an approval is about"`
	ResponseSchema json.RawMessage `json:"response_schema,omitempty" doc:"the JSON Schema of the expected answer"`
	ExpiresAt      time.Time       `json:"expires_at,omitzero" doc:"after it the interrupt can only be cancelled, not answered"`
	Metadata       json.RawMessage `json:"metadata,omitempty" doc:"more about it, a JSON object"`
}

// RunResumed is emitted when a run starts that answers the open interrupts
// of an earlier run, before the agent continues.
type RunResumed struct {
	Interrupted string            `json:"interrupted_run" doc:"the run whose interrupts it answers"`
	Answers     []InterruptAnswer `json:"answers" doc:"one answer for each of its interrupts"`
}

// InterruptAnswer answers one interrupt.
type InterruptAnswer struct {
	InterruptID string          `json:"interrupt_id" doc:"the interrupt it answers"`
	Status      string          `json:"status" doc:"resolved (answered) or cancelled (abandoned)"`
	Payload     json.RawMessage `json:"payload,omitempty" doc:"the answer, any JSON value"`
	Metadata    json.RawMessage `json:"metadata,omitempty" doc:"about the answer, not part of it, a JSON object"`
}

// RunHeartbeat is emitted by a run's producer while the run goes on
// without logging anything else, so that readers of the log in other
// processes can tell a quiet run from one whose producer is gone (see
// package runs).
type RunHeartbeat struct {
	Owner string `json:"owner,omitempty" doc:"the process that runs it (host and process ID)"`
}

// Citation is emitted when the model cites a source for part of its text.
type Citation struct {
	Index int    `json:"index,omitempty" doc:"the content block"`
	Title string `json:"title,omitempty" doc:"the source's title"`
	URL   string `json:"url,omitempty" doc:"the source's URL"`
	Start int64  `json:"start,omitempty" doc:"byte offset where the cited text starts"`
	End   int64  `json:"end,omitempty" doc:"byte offset where it ends"`
}

// SearchResult is one normalized search hit.
type SearchResult struct {
	URL     string `json:"url,omitempty" doc:"the hit's URL"`
	Title   string `json:"title,omitempty" doc:"its title"`
	Snippet string `json:"snippet,omitempty" doc:"an excerpt"`
}

// SearchResults carries the normalized results of a search tool.
type SearchResults struct {
	Tool    string         `json:"tool" doc:"the tool: web_search, file_search, …"`
	ItemID  string         `json:"item_id,omitempty" doc:"the provider's output item ID"`
	Results []SearchResult `json:"results" doc:"the hits"`
}

// DebuggerPaused is emitted when a run is paused in step mode, waiting for a
// person to continue it.
type DebuggerPaused struct {
	PauseID  string          `json:"pause_id" doc:"identifies the pause, to continue it"`
	Phase    string          `json:"phase,omitempty" doc:"where the run stopped"`
	Summary  string          `json:"summary,omitempty" doc:"what it is about to do"`
	Deadline time.Time       `json:"deadline,omitzero" doc:"when it continues by itself"`
	Extra    json.RawMessage `json:"extra,omitempty" doc:"free-form details as JSON"`
}

// ---- delivery ---------------------------------------------------------------

// Dropped tells a consumer that chose lossy delivery how many events it
// missed. It is delivered in place of the missing events, just before the
// next event the consumer does receive.
type Dropped struct {
	Count  int64  `json:"count" doc:"events missed since the last one delivered"`
	Reason string `json:"reason,omitempty" doc:"why: queue_full (drop newest or oldest), slow_consumer, …"`
}

// ---- structured-block extraction --------------------------------------------

// ExtractBlockStarted is emitted when a tagged block
// (<package:type:version>) starts in a streamed text or thinking block.
type ExtractBlockStarted struct {
	Tag        string `json:"tag" doc:"the block's tag: package:type:version"`
	Block      int    `json:"block" doc:"the block's position among the tagged blocks of its text, from 0"`
	Index      int    `json:"index,omitempty" doc:"the content block (message.text.delta index) it appears in"`
	Thinking   bool   `json:"thinking,omitempty" doc:"true when it appears in thinking text"`
	Start      int64  `json:"start" doc:"byte offset of the open tag in the raw text"`
	TextOffset int64  `json:"text_offset" doc:"byte offset in the filtered text (the text outside blocks) where the block sits"`
}

// ExtractBlockSnapshot carries the best value parsed so far from a tagged
// block that is still streaming.
type ExtractBlockSnapshot struct {
	Tag      string          `json:"tag" doc:"the block's tag: package:type:version"`
	Block    int             `json:"block" doc:"the block's position among the tagged blocks of its text"`
	Index    int             `json:"index,omitempty" doc:"the content block it appears in"`
	Thinking bool            `json:"thinking,omitempty" doc:"true when it appears in thinking text"`
	Bytes    int64           `json:"bytes" doc:"body bytes the snapshot was parsed from"`
	Value    json.RawMessage `json:"value,omitempty" doc:"the value parsed so far, as JSON"`
}

// ExtractBlockCompleted is emitted when a tagged block has closed and its
// body parsed.
type ExtractBlockCompleted struct {
	Tag        string          `json:"tag" doc:"the block's tag: package:type:version"`
	Block      int             `json:"block" doc:"the block's position among the tagged blocks of its text"`
	Index      int             `json:"index,omitempty" doc:"the content block it appears in"`
	Thinking   bool            `json:"thinking,omitempty" doc:"true when it appears in thinking text"`
	Start      int64           `json:"start" doc:"byte offset of the open tag in the raw text"`
	End        int64           `json:"end" doc:"byte offset just past the close tag in the raw text"`
	TextOffset int64           `json:"text_offset" doc:"byte offset in the filtered text where the block sat"`
	Value      json.RawMessage `json:"value,omitempty" doc:"the parsed value, as JSON"`
}

// ExtractBlockMalformed is emitted when a tagged block cannot be extracted:
// its body does not parse, it never closes, it outgrows the capture limit,
// or its stream ends early.
type ExtractBlockMalformed struct {
	Tag        string `json:"tag" doc:"the block's tag: package:type:version"`
	Block      int    `json:"block" doc:"the block's position among the tagged blocks of its text"`
	Index      int    `json:"index,omitempty" doc:"the content block it appears in"`
	Thinking   bool   `json:"thinking,omitempty" doc:"true when it appears in thinking text"`
	Start      int64  `json:"start" doc:"byte offset of the open tag in the raw text"`
	End        int64  `json:"end" doc:"byte offset in the raw text where capture stopped"`
	TextOffset int64  `json:"text_offset" doc:"byte offset in the filtered text where the block sat"`
	Reason     string `json:"reason" doc:"parse, unclosed, too_large, interrupted or failed"`
	Error      Error  `json:"error" doc:"what went wrong"`
	Raw        string `json:"raw,omitempty" doc:"the captured body, empty when it outgrew the capture limit"`
}

// ---- guards -------------------------------------------------------------------

// CostBudgetExceeded is emitted when a run has spent more than its cost
// budget, by a guard that then stops the run. (A token budget uses
// ContextTokenBudgetExceeded.)
type CostBudgetExceeded struct {
	Cost   float64 `json:"cost" doc:"the run's cost so far in US dollars"`
	Budget float64 `json:"budget" doc:"the budget in US dollars"`
}

// LoopDetected is emitted when a run calls the same tool with the same
// arguments several times in a row, by a guard that then stops the run.
type LoopDetected struct {
	Tool      string          `json:"tool" doc:"the tool called again and again"`
	Arguments json.RawMessage `json:"arguments,omitempty" doc:"the arguments it was called with each time"`
	Repeats   int             `json:"repeats" doc:"calls in a row with these arguments"`
}

// CircuitOpened is emitted when a circuit breaker stops letting calls
// through after too many failures.
type CircuitOpened struct {
	Name     string        `json:"name" doc:"what the breaker guards, such as a provider"`
	Failures int           `json:"failures" doc:"failures counted in the window"`
	Window   time.Duration `json:"window_ns,omitempty" doc:"the window the failures were counted in"`
	Cooldown time.Duration `json:"cooldown_ns,omitempty" doc:"how long calls are refused before one is let through to try"`
	Error    Error         `json:"error,omitzero" doc:"the last failure"`
}

// CircuitClosed is emitted when a circuit breaker lets calls through again
// after a trial call succeeded.
type CircuitClosed struct {
	Name string `json:"name" doc:"what the breaker guards"`
}

// ---- traces -------------------------------------------------------------------

// Span is an OpenTelemetry span taken in (by OTLP ingest) that is not a
// GenAI operation Sluice has an event for; GenAI spans become provider,
// tool and run events instead.
type Span struct {
	TraceID      string          `json:"trace_id" doc:"the trace, 32 hex digits"`
	SpanID       string          `json:"span_id" doc:"the span, 16 hex digits"`
	ParentSpanID string          `json:"parent_span_id,omitempty" doc:"the parent span, if any"`
	Name         string          `json:"name" doc:"the span's name"`
	Kind         string          `json:"kind,omitempty" doc:"internal, server, client, producer or consumer"`
	Service      string          `json:"service,omitempty" doc:"the service.name of the span's resource"`
	Start        time.Time       `json:"start,omitzero" doc:"when the span started"`
	End          time.Time       `json:"end,omitzero" doc:"when it ended"`
	StatusCode   string          `json:"status_code,omitempty" doc:"ok or error; empty when unset"`
	Status       string          `json:"status,omitempty" doc:"the status message"`
	Attributes   json.RawMessage `json:"attributes,omitempty" doc:"the span's attributes as a JSON object"`
}
