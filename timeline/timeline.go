// Package timeline folds a session's events into its conversation view:
// the messages with their text and thinking assembled from deltas, the
// tool calls they requested with arguments, status, result and duration,
// the pipeline steps with their durations, token usage and cost per
// provider and model, errors and interruptions, and the shared state.
//
// A Timeline is versioned by Seq, the sequence number of the last event
// folded into it. Build one from scratch with Read (from a store) or New
// and Apply, or keep one up to date event by event: folding a session all
// at once equals folding a prefix and then the rest, also when the prefix
// travelled as JSON in between. That is how a client hydrates: it gets the
// timeline at Seq (GET /v1/sessions/{id}/timeline), streams the session
// with after=Seq and applies what comes, with no gap and no duplicate at
// the seam.
//
// A Cache keeps the folds of recently read sessions of a store, bounded
// by sessions and approximate bytes, so that reading a session again
// costs only the events appended since; it checks each fold before
// reusing it (a deleted and restarted session, another epoch) and gives
// a session's Summary (models, tokens, cost, errors) for lists of
// sessions. The server reads timelines through one.
//
// Apply never fails: an event it cannot fold (a JSON Patch that does not
// apply, say) becomes a Problem, and events of types the timeline does not
// show are only counted in Seq.
package timeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	jsonpatch "github.com/evanphx/json-patch/v5"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// Status words of messages, tool calls, steps and runs.
const (
	StatusStreaming   = "streaming"   // a message whose stream is open
	StatusDone        = "done"        // a message that is complete
	StatusInterrupted = "interrupted" // a message or run stopped early
	StatusRequested   = "requested"   // a tool call the model asked for
	StatusRunning     = "running"     // a tool call, step or run under way
	StatusCompleted   = "completed"   // a tool call, step or run that succeeded
	StatusFailed      = "failed"      // a message, tool call, step or run that failed
	StatusStopped     = "stopped"     // a run stopped before it finished
	StatusWaiting     = "waiting"     // a run that ended waiting for answers to its interrupts
)

// Problem kinds.
const (
	ProblemError       = "error"       // something failed; Error says what
	ProblemInterrupted = "interrupted" // a stream stopped early; Reason says why
)

// Timeline is the conversation view of one session. Its exported fields
// are its whole state: a Timeline encoded to JSON and decoded again folds
// on exactly as the original.
type Timeline struct {
	// Session is the session's ID, from the first event folded.
	Session string `json:"session"`
	// Seq is the sequence number of the last event folded in; streaming
	// the session after it gives exactly the events not yet folded.
	Seq uint64 `json:"seq"`
	// SystemPrompt is the system prompt of the conversation, if known.
	SystemPrompt string `json:"system_prompt,omitempty"`
	// Runs are the agent runs seen, in the order they began.
	Runs []Run `json:"runs,omitempty"`
	// Messages are the conversation's messages in the order they began.
	Messages []Message `json:"messages,omitempty"`
	// ToolCalls are the tool calls in the order they were first seen.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// Steps are the pipeline, middleware and stage runs in the order
	// they started.
	Steps []Step `json:"steps,omitempty"`
	// Usage is the token usage and cost of the finished model calls, one
	// entry per provider and model, in the order first seen.
	Usage []Usage `json:"usage,omitempty"`
	// Problems are the errors and interruptions, in order.
	Problems []Problem `json:"problems,omitempty"`
	// State is the shared state: the last state.snapshot with every
	// state.delta since applied. Nil until the first snapshot or delta.
	State json.RawMessage `json:"state,omitempty"`

	msgs  map[string]int // message ID -> index in Messages
	tools map[string]int // tool call ID -> index in ToolCalls
	runs  map[string]int // run ID -> index in Runs
	usage map[[2]string]int
	// what the last Apply was about: indexes, -1 for none
	lastMsg, lastTool int
}

// Run is one agent run (events sharing a Meta.RunID).
type Run struct {
	ID     string       `json:"id"`
	Status string       `json:"status"` // running, completed, stopped, failed, waiting
	Prompt string       `json:"prompt,omitempty"`
	Start  time.Time    `json:"start"`
	End    time.Time    `json:"end,omitzero"`
	Reason string       `json:"reason,omitempty"` // why it stopped
	Error  *event.Error `json:"error,omitempty"`
	// Explicit is true once a run.started event was seen; a run without
	// one ends with its outermost pipeline.
	Explicit bool `json:"explicit,omitempty"`
	// Interrupts are what a waiting run waits for (run.interrupted).
	Interrupts []event.Interrupt `json:"interrupts,omitempty"`
	// AnsweredBy is the run that answered the interrupts, "" while they
	// are open.
	AnsweredBy string `json:"answered_by,omitempty"`
	// Resumes is the run whose interrupts this run answers
	// (run.resumed), with the answers.
	Resumes string                  `json:"resumes,omitempty"`
	Answers []event.InterruptAnswer `json:"answers,omitempty"`
}

// Message is one message of the conversation.
type Message struct {
	// ID is the provider's message ID for a streamed message, else the
	// ID of the event that created it.
	ID   string `json:"id"`
	Role string `json:"role"` // user, assistant, system or tool
	// Index is the message's position in the conversation history
	// (message.created), -1 while it is only streamed.
	Index  int    `json:"index"`
	Status string `json:"status"` // streaming, done, interrupted, failed
	// Parts are the text and thinking blocks in the order they began.
	Parts     []Part           `json:"parts,omitempty"`
	Citations []event.Citation `json:"citations,omitempty"`
	// ToolCallIDs are the tool calls the message requested.
	ToolCallIDs []string `json:"tool_call_ids,omitempty"`
	// ToolCallID is, for a tool message, the call it answers.
	ToolCallID string      `json:"tool_call_id,omitempty"`
	StopReason string      `json:"stop_reason,omitempty"`
	RunID      string      `json:"run_id,omitempty"`
	TurnID     string      `json:"turn_id,omitempty"`
	Inference  string      `json:"inference_id,omitempty"`
	Provider   string      `json:"provider,omitempty"`
	Model      string      `json:"model,omitempty"`
	Usage      event.Usage `json:"usage,omitzero"` // tokens reported while it streamed
	Start      time.Time   `json:"start"`
	End        time.Time   `json:"end,omitzero"`
	FirstSeq   uint64      `json:"first_seq,omitempty"`
}

// Part is a text or thinking block of a message.
type Part struct {
	Kind      string // text or thinking
	Index     int    // the provider's content block index
	Done      bool   // the block has ended
	Signature string // the provider's signature over thinking
	text      []byte
}

// Text returns the part's text so far.
func (p *Part) Text() string { return string(p.text) }

type partJSON struct {
	Kind      string `json:"kind"`
	Index     int    `json:"index"`
	Text      string `json:"text"`
	Done      bool   `json:"done,omitempty"`
	Signature string `json:"signature,omitempty"`
}

// MarshalJSON encodes the part with its text.
func (p Part) MarshalJSON() ([]byte, error) {
	return json.Marshal(partJSON{Kind: p.Kind, Index: p.Index, Text: string(p.text), Done: p.Done, Signature: p.Signature})
}

// UnmarshalJSON decodes what MarshalJSON made.
func (p *Part) UnmarshalJSON(b []byte) error {
	var j partJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*p = Part{Kind: j.Kind, Index: j.Index, Done: j.Done, Signature: j.Signature, text: []byte(j.Text)}
	return nil
}

// Text returns the message's text: its text parts joined.
func (m *Message) Text() string { return m.join("text") }

// Thinking returns the message's thinking: its thinking parts joined.
func (m *Message) Thinking() string { return m.join("thinking") }

func (m *Message) join(kind string) string {
	var b []byte
	for i := range m.Parts {
		if m.Parts[i].Kind == kind {
			b = append(b, m.Parts[i].text...)
		}
	}
	return string(b)
}

// ToolCall is one tool call: the model's request and its execution.
type ToolCall struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	MessageID string `json:"message_id,omitempty"` // the message that requested it
	Index     int    `json:"index"`                // its position among the message's tool calls
	// Arguments is the arguments' JSON text, assembled from deltas while
	// it streams (so not yet valid JSON), whole once requested.
	Arguments string          `json:"arguments,omitempty"`
	Status    string          `json:"status"` // streaming, requested, running, completed, failed
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *event.Error    `json:"error,omitempty"`
	// ToolStatus is the tool's own status word (tool.call.completed).
	ToolStatus string        `json:"tool_status,omitempty"`
	Duration   time.Duration `json:"duration_ns,omitempty"`
	Start      time.Time     `json:"start"`
	End        time.Time     `json:"end,omitzero"`
}

// Step is one run of a pipeline, middleware or stage.
type Step struct {
	Kind     string        `json:"kind"` // pipeline, middleware or stage
	Name     string        `json:"name"`
	Index    int           `json:"index"`
	RunID    string        `json:"run_id,omitempty"`
	Status   string        `json:"status"` // running, completed, failed
	Start    time.Time     `json:"start"`
	End      time.Time     `json:"end,omitzero"`
	Duration time.Duration `json:"duration_ns,omitempty"`
	Error    *event.Error  `json:"error,omitempty"`
}

// Usage is the token usage and cost of one provider and model's finished
// calls.
type Usage struct {
	Provider string      `json:"provider"`
	Model    string      `json:"model"`
	Calls    int         `json:"calls"`
	Tokens   event.Usage `json:"tokens"`
	Cost     float64     `json:"cost"`
	// CostUnknown is true when some call had no known price, so Cost is
	// a lower bound.
	CostUnknown bool `json:"cost_unknown,omitempty"`
}

// Problem is an error or an interruption.
type Problem struct {
	Kind       string       `json:"kind"` // error or interrupted
	Type       event.Type   `json:"type"` // the event that reported it
	Seq        uint64       `json:"seq,omitempty"`
	Time       time.Time    `json:"time"`
	Error      *event.Error `json:"error,omitempty"`
	Reason     string       `json:"reason,omitempty"`
	RunID      string       `json:"run_id,omitempty"`
	MessageID  string       `json:"message_id,omitempty"`
	ToolCallID string       `json:"tool_call_id,omitempty"`
}

// New returns the empty timeline of a session.
func New(session string) *Timeline { return &Timeline{Session: session} }

// Read folds the events of session in st with sequence numbers up to upTo
// (0: all of them) into a new timeline.
func Read(ctx context.Context, st store.Store, session string, upTo uint64) (*Timeline, error) {
	t := New(session)
	for ev, err := range st.Read(ctx, store.Query{Session: session}) {
		if err != nil {
			return nil, fmt.Errorf("timeline: read %q: %w", session, err)
		}
		if upTo != 0 && ev.Seq > upTo {
			break
		}
		t.Apply(&ev)
	}
	return t, nil
}

// UnmarshalJSON decodes a timeline that MarshalJSON (encoding/json) made,
// ready to fold on.
func (t *Timeline) UnmarshalJSON(b []byte) error {
	type plain Timeline
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	*t = Timeline(p)
	t.index()
	return nil
}

// Clone returns a deep copy of t that folds on independently: nothing
// that Apply (or a caller) changes in one is shared with the other.
func (t *Timeline) Clone() *Timeline {
	c := *t
	c.Runs = slices.Clone(t.Runs)
	for i := range c.Runs {
		r := &c.Runs[i]
		r.Error = cloneError(r.Error)
		r.Interrupts = slices.Clone(r.Interrupts)
		for j := range r.Interrupts {
			in := &r.Interrupts[j]
			in.ResponseSchema, in.Metadata = bytes.Clone(in.ResponseSchema), bytes.Clone(in.Metadata)
		}
		r.Answers = slices.Clone(r.Answers)
		for j := range r.Answers {
			a := &r.Answers[j]
			a.Payload, a.Metadata = bytes.Clone(a.Payload), bytes.Clone(a.Metadata)
		}
	}
	c.Messages = slices.Clone(t.Messages)
	for i := range c.Messages {
		m := &c.Messages[i]
		m.Parts = slices.Clone(m.Parts)
		for j := range m.Parts {
			m.Parts[j].text = bytes.Clone(m.Parts[j].text)
		}
		m.Citations = slices.Clone(m.Citations)
		m.ToolCallIDs = slices.Clone(m.ToolCallIDs)
	}
	c.ToolCalls = slices.Clone(t.ToolCalls)
	for i := range c.ToolCalls {
		tc := &c.ToolCalls[i]
		tc.Result = bytes.Clone(tc.Result)
		tc.Error = cloneError(tc.Error)
	}
	c.Steps = slices.Clone(t.Steps)
	for i := range c.Steps {
		c.Steps[i].Error = cloneError(c.Steps[i].Error)
	}
	c.Usage = slices.Clone(t.Usage)
	c.Problems = slices.Clone(t.Problems)
	for i := range c.Problems {
		c.Problems[i].Error = cloneError(c.Problems[i].Error)
	}
	c.State = bytes.Clone(t.State)
	if t.msgs == nil {
		c.index()
	} else {
		c.msgs, c.tools, c.runs, c.usage = maps.Clone(t.msgs), maps.Clone(t.tools), maps.Clone(t.runs), maps.Clone(t.usage)
	}
	return &c
}

func cloneError(e *event.Error) *event.Error {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}

// index rebuilds the lookup maps from the exported fields.
func (t *Timeline) index() {
	t.lastMsg, t.lastTool = -1, -1
	t.msgs = make(map[string]int, len(t.Messages))
	for i := range t.Messages {
		t.msgs[t.Messages[i].ID] = i
	}
	t.tools = make(map[string]int, len(t.ToolCalls))
	for i := range t.ToolCalls {
		t.tools[t.ToolCalls[i].ID] = i
	}
	t.runs = make(map[string]int, len(t.Runs))
	for i := range t.Runs {
		t.runs[t.Runs[i].ID] = i
	}
	t.usage = make(map[[2]string]int, len(t.Usage))
	for i := range t.Usage {
		t.usage[[2]string{t.Usage[i].Provider, t.Usage[i].Model}] = i
	}
}

// Message returns the message with the given ID, or nil.
func (t *Timeline) Message(id string) *Message {
	if i, ok := t.msgs[id]; ok {
		return &t.Messages[i]
	}
	return nil
}

// ToolCall returns the tool call with the given ID, or nil.
func (t *Timeline) ToolCall(id string) *ToolCall {
	if i, ok := t.tools[id]; ok {
		return &t.ToolCalls[i]
	}
	return nil
}

// Run returns the run with the given ID, or nil.
func (t *Timeline) Run(id string) *Run {
	if i, ok := t.runs[id]; ok {
		return &t.Runs[i]
	}
	return nil
}

// OpenRun returns the last run still running, or nil.
func (t *Timeline) OpenRun() *Run {
	for i := len(t.Runs) - 1; i >= 0; i-- {
		if t.Runs[i].Status == StatusRunning {
			return &t.Runs[i]
		}
	}
	return nil
}

// Waiting returns the most recent run that ended waiting for answers to
// its interrupts, if no run has answered them yet; else nil. Its
// Interrupts are the session's open interrupts.
func (t *Timeline) Waiting() *Run {
	for i := len(t.Runs) - 1; i >= 0; i-- {
		if r := &t.Runs[i]; r.Status == StatusWaiting {
			if r.AnsweredBy != "" {
				return nil
			}
			return r
		}
	}
	return nil
}

// Cost returns the total cost of every finished model call, and whether
// it is exact (false: some call had no known price).
func (t *Timeline) Cost() (float64, bool) {
	var c float64
	exact := true
	for _, u := range t.Usage {
		c += u.Cost
		exact = exact && !u.CostUnknown
	}
	return c, exact
}

// Apply folds ev into t and reports whether it did: an event with a
// sequence number at or below t.Seq was folded before and is skipped, so
// applying the events of a resumed stream twice changes nothing. Events
// not logged yet (Seq 0) are folded without moving Seq.
func (t *Timeline) Apply(ev *event.Event) bool {
	if ev.Seq != 0 && ev.Seq <= t.Seq {
		return false
	}
	if t.msgs == nil {
		t.index()
	}
	if t.Session == "" {
		t.Session = ev.Meta.SessionID
	}
	if ev.Seq != 0 {
		t.Seq = ev.Seq
	}
	t.lastMsg, t.lastTool = -1, -1
	t.fold(ev)
	return true
}

// Touched returns the message and the tool call the last event applied was
// about (nil for none). Encoders that translate events into another
// protocol use it to tell which message a delta belongs to.
func (t *Timeline) Touched() (*Message, *ToolCall) {
	var m *Message
	var tc *ToolCall
	if t.lastMsg >= 0 && t.lastMsg < len(t.Messages) {
		m = &t.Messages[t.lastMsg]
	}
	if t.lastTool >= 0 && t.lastTool < len(t.ToolCalls) {
		tc = &t.ToolCalls[t.lastTool]
	}
	return m, tc
}

func (t *Timeline) fold(ev *event.Event) {
	m := &ev.Meta
	var run *Run
	if m.RunID != "" {
		run = t.Run(m.RunID)
		if run == nil {
			t.runs[m.RunID] = len(t.Runs)
			t.Runs = append(t.Runs, Run{ID: m.RunID, Status: StatusRunning, Start: ev.Time})
			run = &t.Runs[len(t.Runs)-1]
		}
	}
	switch p := ev.Payload.(type) {
	case event.ConversationStarted:
		t.SystemPrompt = p.SystemPrompt

	// runs
	case event.RunStarted:
		if run != nil {
			run.Explicit, run.Prompt, run.Status = true, p.Prompt, StatusRunning
		}
	case event.RunCompleted:
		t.endRun(run, ev, StatusCompleted, "", nil)
	case event.RunStopped:
		t.endRun(run, ev, StatusStopped, p.Reason, nil)
		t.problem(ev, ProblemInterrupted, nil, p.Reason)
	case event.RunFailed:
		t.endRun(run, ev, StatusFailed, "", &p.Error)
		t.problem(ev, ProblemError, &p.Error, "")
	case event.RunInterrupted:
		t.endRun(run, ev, StatusWaiting, "", nil)
		if run != nil {
			run.Interrupts = p.Interrupts
		}
	case event.RunResumed:
		if run != nil {
			run.Resumes, run.Answers = p.Interrupted, p.Answers
			if r := t.Run(p.Interrupted); r != nil && r != run {
				r.AnsweredBy = run.ID
			}
		}

	// messages
	case event.MessageStarted:
		msg := t.streamed(ev, p.ID)
		if p.Role != "" {
			msg.Role = p.Role
		}
		if p.Model != "" {
			msg.Model = p.Model
		}
	case event.BlockStarted:
		if p.Kind == "text" || p.Kind == "thinking" {
			t.part(t.streamed(ev, ""), p.Kind, p.Index)
		}
	case event.BlockStopped:
		if p.Kind == "text" || p.Kind == "thinking" {
			t.last(t.streamed(ev, ""), p.Kind, p.Index).Done = true
		}
	case event.TextDelta:
		pt := t.part(t.streamed(ev, ""), "text", p.Index)
		pt.text = append(pt.text, p.Text...)
	case event.ThinkingDelta:
		pt := t.part(t.streamed(ev, ""), "thinking", p.Index)
		pt.text = append(pt.text, p.Text...)
	case event.TextCompleted:
		pt := t.last(t.streamed(ev, ""), "text", p.Index)
		pt.text, pt.Done = append(pt.text[:0], p.Text...), true
	case event.ThinkingCompleted:
		pt := t.last(t.streamed(ev, ""), "thinking", p.Index)
		pt.text, pt.Done, pt.Signature = append(pt.text[:0], p.Text...), true, p.Signature
	case event.Citation:
		msg := t.streamed(ev, "")
		msg.Citations = append(msg.Citations, p)
	case event.UsageReported:
		msg := t.streamed(ev, "")
		if p.Usage.Cumulative {
			msg.Usage = p.Usage
		} else {
			msg.Usage = msg.Usage.Add(p.Usage)
		}
	case event.MessageStopped:
		msg := t.streamed(ev, p.ID)
		msg.Status, msg.StopReason, msg.End = StatusDone, p.StopReason, ev.Time
		for i := range msg.Parts {
			msg.Parts[i].Done = true
		}
	case event.MessageCreated:
		t.created(ev, p)
	case event.StreamInterrupted:
		id := ""
		if msg := t.open(ev); msg != nil {
			msg.Status, msg.End, id = StatusInterrupted, ev.Time, msg.ID
			if msg.Text() == "" && p.Text != "" {
				pt := t.part(msg, "text", 0)
				pt.text = append(pt.text, p.Text...)
			}
		}
		t.problem(ev, ProblemInterrupted, nil, p.Reason).MessageID = id
	case event.StreamError:
		t.problem(ev, ProblemError, &p.Error, "")

	// provider calls
	case event.ProviderCallCompleted:
		t.addUsage(first(p.Provider, m.Provider), first(p.Model, m.Model), p.Usage, p.Cost, p.CostUnknown)
	case event.CapabilityCallCompleted:
		t.addUsage(p.Provider, p.Model, event.Usage{InputTokens: p.Quantities["input_tokens"]}, p.Cost, false)
	case event.ProviderCallFailed:
		for i := range t.Messages {
			msg := &t.Messages[i]
			if msg.Status == StatusStreaming && m.InferenceID != "" && msg.Inference == m.InferenceID {
				msg.Status, msg.End = StatusFailed, ev.Time
			}
		}
		t.problem(ev, ProblemError, &p.Error, "")

	// tool calls
	case event.ToolCallDelta:
		tc := t.tool(ev, p.CallID, p.Name, p.Index, StatusStreaming)
		tc.Arguments += p.Delta
	case event.ToolCallRequested:
		tc := t.tool(ev, p.CallID, p.Name, p.Index, StatusRequested)
		if tc.Status != StatusStreaming || !json.Valid([]byte(tc.Arguments)) {
			tc.Arguments = string(p.Arguments) // else keep the text as it streamed
		}
		if tc.Status == StatusStreaming {
			tc.Status = StatusRequested
		}
	case event.ClientToolRequested:
		tc := t.tool(ev, p.CallID, p.Name, 0, StatusRequested)
		if len(p.Arguments) > 0 {
			tc.Arguments = string(p.Arguments)
		}
	case event.ToolCallStarted:
		tc := t.tool(ev, first(p.CallID, m.ToolCallID), p.Name, 0, StatusRunning)
		tc.Status, tc.Start = StatusRunning, ev.Time
		if tc.Arguments == "" {
			tc.Arguments = string(p.Arguments)
		}
	case event.ToolCallCompleted:
		tc := t.tool(ev, first(p.CallID, m.ToolCallID), p.Name, 0, StatusCompleted)
		tc.Status, tc.Result, tc.ToolStatus, tc.End = StatusCompleted, p.Result, p.Status, ev.Time
		tc.Duration = duration(p.Duration, tc.Start, ev.Time)
	case event.ToolCallFailed:
		tc := t.tool(ev, first(p.CallID, m.ToolCallID), p.Name, 0, StatusFailed)
		tc.Status, tc.Error, tc.End = StatusFailed, &p.Error, ev.Time
		tc.Duration = duration(p.Duration, tc.Start, ev.Time)
		t.problem(ev, ProblemError, &p.Error, "").ToolCallID = tc.ID
	case event.ClientToolResolved:
		tc := t.tool(ev, p.CallID, p.Name, 0, StatusRequested)
		tc.ToolStatus = p.Status
		if p.Status != "fulfilled" {
			tc.Status, tc.End = StatusFailed, ev.Time
			tc.Error = &event.Error{Message: first(p.RejectionReason, p.Status), Kind: "tool"}
		}

	// steps
	case event.PipelineStarted:
		t.startStep(ev, "pipeline", "pipeline", 0)
	case event.PipelineCompleted:
		t.endStep(ev, "pipeline", "pipeline", 0, p.Duration, nil)
		if run != nil && !run.Explicit && t.outermost(m.RunID) {
			t.endRun(run, ev, StatusCompleted, "", nil)
		}
	case event.PipelineFailed:
		t.endStep(ev, "pipeline", "pipeline", 0, p.Duration, &p.Error)
		t.problem(ev, ProblemError, &p.Error, "")
		if run != nil && !run.Explicit && t.outermost(m.RunID) {
			t.endRun(run, ev, StatusFailed, "", &p.Error)
		}
	case event.MiddlewareStarted:
		t.startStep(ev, "middleware", p.Name, p.Index)
	case event.MiddlewareCompleted:
		t.endStep(ev, "middleware", p.Name, p.Index, p.Duration, nil)
	case event.MiddlewareFailed:
		t.endStep(ev, "middleware", p.Name, p.Index, p.Duration, &p.Error)
	case event.StageStarted:
		t.startStep(ev, "stage", p.Name, p.Index)
	case event.StageCompleted:
		t.endStep(ev, "stage", p.Name, p.Index, p.Duration, nil)
	case event.StageFailed:
		t.endStep(ev, "stage", p.Name, p.Index, p.Duration, &p.Error)

	// shared state
	case event.StateSnapshot:
		t.State = append(json.RawMessage(nil), p.State...)
		if len(t.State) == 0 {
			t.State = json.RawMessage("null")
		}
	case event.StateDelta:
		if err := t.patch(p.Patch); err != nil {
			t.problem(ev, ProblemError, &event.Error{Message: err.Error(), Kind: "state"}, "")
		}
	}
}

// patch applies an RFC 6902 patch to the state.
func (t *Timeline) patch(patch json.RawMessage) error {
	ops, err := jsonpatch.DecodePatch(patch)
	if err != nil {
		return fmt.Errorf("state.delta: %w", err)
	}
	doc := t.State
	if len(doc) == 0 {
		doc = json.RawMessage("null")
	}
	out, err := ops.ApplyWithOptions(doc, &jsonpatch.ApplyOptions{SupportNegativeIndices: false, AccumulatedCopySizeLimit: 1 << 20, EnsurePathExistsOnAdd: false})
	if err != nil {
		return fmt.Errorf("state.delta: %w", err)
	}
	var c bytes.Buffer
	if err := json.Compact(&c, out); err != nil {
		return fmt.Errorf("state.delta: %w", err)
	}
	t.State = c.Bytes()
	return nil
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func duration(d time.Duration, start, end time.Time) time.Duration {
	if d == 0 && !start.IsZero() {
		return end.Sub(start)
	}
	return d
}

func (t *Timeline) endRun(run *Run, ev *event.Event, status, reason string, err *event.Error) {
	if run == nil {
		return
	}
	run.Status, run.End, run.Reason, run.Error = status, ev.Time, reason, err
}

func (t *Timeline) problem(ev *event.Event, kind string, err *event.Error, reason string) *Problem {
	t.Problems = append(t.Problems, Problem{
		Kind: kind, Type: ev.Type, Seq: ev.Seq, Time: ev.Time, Error: err, Reason: reason,
		RunID: ev.Meta.RunID, MessageID: ev.Meta.MessageID, ToolCallID: ev.Meta.ToolCallID,
	})
	return &t.Problems[len(t.Problems)-1]
}

// addMessage appends msg and returns it.
func (t *Timeline) addMessage(msg Message) *Message {
	t.msgs[msg.ID] = len(t.Messages)
	t.lastMsg = len(t.Messages)
	t.Messages = append(t.Messages, msg)
	return &t.Messages[len(t.Messages)-1]
}

// touch records that the event is about msg.
func (t *Timeline) touch(msg *Message) *Message {
	if msg != nil {
		t.lastMsg = t.msgs[msg.ID]
	}
	return msg
}

// open returns the message ev belongs to if it is still streaming: the one
// named by Meta.MessageID, else the last streaming one.
func (t *Timeline) open(ev *event.Event) *Message {
	if id := ev.Meta.MessageID; id != "" {
		if msg := t.Message(id); msg != nil && msg.Status == StatusStreaming {
			return msg
		}
		return nil
	}
	for i := len(t.Messages) - 1; i >= 0; i-- {
		if t.Messages[i].Status == StatusStreaming {
			return &t.Messages[i]
		}
	}
	return nil
}

// streamed returns the streamed message ev belongs to, creating it: the
// one named by Meta.MessageID (or id), else the last streaming one.
func (t *Timeline) streamed(ev *event.Event, id string) *Message {
	m := &ev.Meta
	id = first(m.MessageID, id)
	if id != "" {
		if msg := t.Message(id); msg != nil {
			return t.touch(msg)
		}
	} else if msg := t.open(ev); msg != nil {
		return t.touch(msg)
	} else {
		id = ev.ID.String()
	}
	return t.addMessage(Message{
		ID: id, Role: "assistant", Index: -1, Status: StatusStreaming, RunID: m.RunID, TurnID: m.TurnID,
		Inference: m.InferenceID, Provider: m.Provider, Model: m.Model, Start: ev.Time, FirstSeq: ev.Seq,
	})
}

// part returns msg's open part of kind at index, starting one if none is
// open.
func (t *Timeline) part(msg *Message, kind string, index int) *Part {
	for i := len(msg.Parts) - 1; i >= 0; i-- {
		p := &msg.Parts[i]
		if p.Kind == kind && p.Index == index {
			if !p.Done {
				return p
			}
			break
		}
	}
	msg.Parts = append(msg.Parts, Part{Kind: kind, Index: index})
	return &msg.Parts[len(msg.Parts)-1]
}

// last returns msg's last part of kind at index, open or not, starting
// one if there is none: the part a block's end or whole text is about.
func (t *Timeline) last(msg *Message, kind string, index int) *Part {
	for i := len(msg.Parts) - 1; i >= 0; i-- {
		if p := &msg.Parts[i]; p.Kind == kind && p.Index == index {
			return p
		}
	}
	msg.Parts = append(msg.Parts, Part{Kind: kind, Index: index})
	return &msg.Parts[len(msg.Parts)-1]
}

// created folds a message.created: an assistant message that was streamed
// gets its place in the history; any other becomes a new message.
func (t *Timeline) created(ev *event.Event, p event.MessageCreated) {
	var msg *Message
	if p.Role == "assistant" {
		if ev.Meta.MessageID != "" {
			msg = t.Message(ev.Meta.MessageID)
		}
		for i := len(t.Messages) - 1; msg == nil && i >= 0; i-- {
			c := &t.Messages[i]
			if c.Index >= 0 || c.Role != "assistant" {
				if c.Index >= 0 {
					break // only a stream since the last recorded message
				}
				continue
			}
			msg = c
		}
	}
	if msg == nil {
		m := &ev.Meta
		id := first(m.MessageID, ev.ID.String())
		if t.Message(id) != nil {
			id = ev.ID.String()
		}
		msg = t.addMessage(Message{
			ID: id, Role: p.Role, Status: StatusDone, RunID: m.RunID, TurnID: m.TurnID,
			Provider: m.Provider, Model: m.Model, Start: ev.Time, End: ev.Time, FirstSeq: ev.Seq,
		})
		if p.Content != "" {
			msg.Parts = append(msg.Parts, Part{Kind: "text", Done: true, text: []byte(p.Content)})
		}
	} else if msg.Text() == "" && p.Content != "" {
		msg.Parts = append(msg.Parts, Part{Kind: "text", Done: true, text: []byte(p.Content)})
	}
	t.touch(msg)
	msg.Index = p.Index
	if msg.Status == StatusStreaming {
		msg.Status, msg.End = StatusDone, ev.Time
	}
	for i, c := range p.ToolCalls {
		tc := t.tool(ev, c.ID, c.Name, i, StatusRequested)
		if tc.MessageID == "" || tc.MessageID == msg.ID {
			t.link(msg, tc)
		}
		if len(c.Arguments) > 0 && (tc.Status == StatusStreaming || tc.Arguments == "") {
			tc.Arguments = string(c.Arguments)
		}
		if tc.Status == StatusStreaming {
			tc.Status = StatusRequested
		}
	}
	if r := p.ToolResult; r != nil {
		msg.ToolCallID = r.CallID
		if tc := t.ToolCall(r.CallID); tc != nil && (tc.Status == StatusRequested || tc.Status == StatusRunning || tc.Status == StatusStreaming) {
			tc.End = ev.Time
			tc.Duration = duration(r.Latency, tc.Start, ev.Time)
			if !r.Error.IsZero() {
				tc.Status, tc.Error = StatusFailed, &r.Error
			} else {
				tc.Status = StatusCompleted
				if json.Valid([]byte(r.Content)) {
					tc.Result = json.RawMessage(r.Content)
				} else {
					tc.Result, _ = json.Marshal(r.Content)
				}
			}
		}
	}
}

// link records that msg requested tc.
func (t *Timeline) link(msg *Message, tc *ToolCall) {
	tc.MessageID = msg.ID
	for _, id := range msg.ToolCallIDs {
		if id == tc.ID {
			return
		}
	}
	msg.ToolCallIDs = append(msg.ToolCallIDs, tc.ID)
}

// tool returns the tool call ev is about, creating it with status: by ID,
// else by its index among the tool calls of the streamed message.
func (t *Timeline) tool(ev *event.Event, id, name string, index int, status string) *ToolCall {
	var msg *Message
	if ev.Meta.MessageID != "" || (id == "" && ev.Meta.ToolCallID == "") {
		msg = t.open(ev)
	}
	if id == "" && msg != nil {
		for _, cid := range msg.ToolCallIDs {
			if tc := t.ToolCall(cid); tc != nil && tc.Index == index {
				t.lastTool = t.tools[cid]
				return tc
			}
		}
	}
	if id == "" {
		id = first(ev.Meta.ToolCallID, fmt.Sprintf("%s#%d", first(ev.Meta.MessageID, ev.ID.String()), index))
	}
	if tc := t.ToolCall(id); tc != nil {
		if tc.Name == "" {
			tc.Name = name
		}
		t.lastTool = t.tools[id]
		return tc
	}
	t.tools[id] = len(t.ToolCalls)
	t.lastTool = len(t.ToolCalls)
	t.ToolCalls = append(t.ToolCalls, ToolCall{ID: id, Name: name, Index: index, Status: status, Start: ev.Time})
	tc := &t.ToolCalls[len(t.ToolCalls)-1]
	if msg != nil {
		t.link(msg, tc)
	}
	return tc
}

func (t *Timeline) startStep(ev *event.Event, kind, name string, index int) {
	t.Steps = append(t.Steps, Step{Kind: kind, Name: name, Index: index, RunID: ev.Meta.RunID, Status: StatusRunning, Start: ev.Time})
}

func (t *Timeline) endStep(ev *event.Event, kind, name string, index int, d time.Duration, err *event.Error) {
	var s *Step
	for i := len(t.Steps) - 1; i >= 0; i-- {
		c := &t.Steps[i]
		if c.Kind == kind && c.Name == name && c.Index == index && c.Status == StatusRunning && c.RunID == ev.Meta.RunID {
			s = c
			break
		}
	}
	if s == nil { // its start was not seen
		t.Steps = append(t.Steps, Step{Kind: kind, Name: name, Index: index, RunID: ev.Meta.RunID, Start: ev.Time.Add(-d)})
		s = &t.Steps[len(t.Steps)-1]
	}
	s.Status, s.End, s.Error = StatusCompleted, ev.Time, err
	if err != nil {
		s.Status = StatusFailed
	}
	s.Duration = duration(d, s.Start, ev.Time)
}

// outermost reports whether no pipeline of run is still running.
func (t *Timeline) outermost(run string) bool {
	for i := range t.Steps {
		if s := &t.Steps[i]; s.Kind == "pipeline" && s.RunID == run && s.Status == StatusRunning {
			return false
		}
	}
	return true
}

func (t *Timeline) addUsage(provider, model string, u event.Usage, cost float64, unknown bool) {
	k := [2]string{provider, model}
	i, ok := t.usage[k]
	if !ok {
		i = len(t.Usage)
		t.usage[k] = i
		t.Usage = append(t.Usage, Usage{Provider: provider, Model: model})
	}
	e := &t.Usage[i]
	u.Cumulative = false
	e.Calls++
	e.Tokens = e.Tokens.Add(u)
	e.Cost += cost
	e.CostUnknown = e.CostUnknown || unknown
}
