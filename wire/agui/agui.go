// Package agui encodes Sluice events as AG-UI events (protocol 1.0), the
// open agent-user interaction protocol that CopilotKit and the frameworks
// that adopted it speak, for the stream endpoints' ?format=agui.
//
// Each AG-UI event is one SSE frame "data: <json>"; the server adds an id:
// line with Sluice's cursor, which AG-UI's own client ignores and Sluice's
// resume uses. The mapping (docs/formats.md has the table): runs to
// RUN_STARTED / RUN_FINISHED (with token usage per provider and model; the
// outcome is success, cancelled for run.stopped, or interrupt with the
// interrupts of run.interrupted) / RUN_ERROR; pipelines, middlewares and stages to STEP_STARTED /
// STEP_FINISHED; text to TEXT_MESSAGE_START / _CONTENT / _END; thinking to
// REASONING_START / REASONING_MESSAGE_START / _CONTENT / _END /
// REASONING_END; tool requests to TOOL_CALL_START / _ARGS / _END and
// results to TOOL_CALL_RESULT; shared state to STATE_SNAPSHOT /
// STATE_DELTA; every other catalog event to CUSTOM (name: the event type,
// value: the event's JSON) and events of unknown types to RAW, so nothing
// is dropped but run.heartbeat, which only tells readers of the log that a
// quiet run's producer is alive (package runs).
//
// A stream resumed in the middle of a run starts with a prelude (Resume):
// RUN_STARTED, STEP_STARTED for each step still running, a
// MESSAGES_SNAPSHOT of the conversation up to the cursor, the
// STATE_SNAPSHOT, and a re-opening start (with the content so far) for
// each message, reasoning block and tool call still open, so the stream is
// valid on its own and assembles to the same messages as one never cut.
//
// Handler makes a Go Agent an AG-UI endpoint, with AG-UI 1.0 interrupts
// kept in the log: an agent returns Interrupt to end its run waiting for a
// person, and the handler checks a later input's resume against the
// thread's log (every open interrupt answered, none unknown, none resolved
// past its expiry) before it logs the answers (run.resumed) and runs the
// agent again. A runId names one run: posting it again replays that run.
// The handler keeps its runs with package runs: a heartbeat while a run is
// quiet, one end per run, and a repeated run whose producer is gone (its
// process died mid-run) closed as lost, which ends its stream with
// RUN_ERROR (code runs.CodeLost) instead of a wait for an end that never
// comes.
package agui

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/timeline"
	"github.com/sluice-events/sluice/wire"
)

// Name is the format's name on the stream endpoints (?format=agui).
const Name = "agui"

// Format is the AG-UI format for the server.
var Format = wire.Format{Name: Name, New: func() wire.Encoder { return New() }}

// Encoder turns one stream's events into AG-UI events. It keeps the
// stream's state (the open run, messages and tool calls), so every stream
// needs its own.
type Encoder struct {
	tl        *timeline.Timeline
	run       string            // the open run, "" for none
	thread    string            // the session
	text      map[string]bool   // open text messages by AG-UI ID
	reasoning map[string]bool   // open reasoning messages by AG-UI ID
	tools     map[string]int    // tool calls: toolStarted or toolEnded
	results   map[string]bool   // tool calls whose result was sent
	steps     []string          // open steps, innermost last
	usage     []tokenUsage      // of the open run
	snapshot  []json.RawMessage // a prelude's messages, sent after the next RUN_STARTED
	state     json.RawMessage   // a prelude's state, likewise
}

const (
	toolStarted = 1
	toolEnded   = 2
)

// New returns an encoder for one stream.
func New() *Encoder {
	return &Encoder{
		tl: timeline.New(""), text: map[string]bool{}, reasoning: map[string]bool{},
		tools: map[string]int{}, results: map[string]bool{},
	}
}

type tokenUsage struct {
	Provider              string `json:"provider,omitempty"`
	Model                 string `json:"model,omitempty"`
	InputTokens           int64  `json:"inputTokens,omitempty"`
	OutputTokens          int64  `json:"outputTokens,omitempty"`
	TotalTokens           int64  `json:"totalTokens,omitempty"`
	ReasoningTokens       int64  `json:"reasoningTokens,omitempty"`
	CachedInputTokens     int64  `json:"cachedInputTokens,omitempty"`
	CacheWriteInputTokens int64  `json:"cacheWriteInputTokens,omitempty"`
}

// obj is one AG-UI event under construction.
type obj map[string]any

func (e *Encoder) emit(out []wire.Message, typ string, ev *event.Event, o obj) []wire.Message {
	if o == nil {
		o = obj{}
	}
	o["type"] = typ
	if ev != nil && !ev.Time.IsZero() {
		o["timestamp"] = ev.Time.UnixMilli()
	}
	b, err := json.Marshal(o)
	if err != nil {
		b, _ = json.Marshal(obj{"type": "RAW", "event": err.Error(), "source": "sluice"})
	}
	return append(out, wire.Message{Data: b})
}

func runID(ev *event.Event) string {
	if ev.Meta.RunID != "" {
		return ev.Meta.RunID
	}
	return "run-" + ev.Meta.SessionID
}

// startRun opens the run of ev, finishing another one still open.
func (e *Encoder) startRun(out []wire.Message, ev *event.Event) []wire.Message {
	id := runID(ev)
	if e.run == id {
		return out
	}
	if e.run != "" {
		out = e.finishRun(out, ev, obj{"type": "success"})
	}
	if e.thread == "" {
		e.thread = ev.Meta.SessionID
	}
	e.run, e.usage = id, nil
	out = e.emit(out, "RUN_STARTED", ev, obj{"threadId": e.thread, "runId": id})
	if e.snapshot != nil {
		out = e.emit(out, "MESSAGES_SNAPSHOT", ev, obj{"messages": e.snapshot})
		e.snapshot = nil
	}
	if e.state != nil {
		out = e.emit(out, "STATE_SNAPSHOT", ev, obj{"snapshot": e.state})
		e.state = nil
	}
	return out
}

// closeAll ends every open message, reasoning block, tool call and step.
func (e *Encoder) closeAll(out []wire.Message, ev *event.Event) []wire.Message {
	for _, id := range slices.Sorted(maps.Keys(e.reasoning)) {
		out = e.end(out, ev, id)
	}
	for _, id := range slices.Sorted(maps.Keys(e.text)) {
		out = e.end(out, ev, id)
	}
	for _, id := range slices.Sorted(maps.Keys(e.tools)) {
		out = e.endTool(out, ev, id)
	}
	for i := len(e.steps) - 1; i >= 0; i-- {
		out = e.emit(out, "STEP_FINISHED", ev, obj{"stepName": e.steps[i]})
	}
	e.steps = e.steps[:0]
	return out
}

func (e *Encoder) finishRun(out []wire.Message, ev *event.Event, outcome obj) []wire.Message {
	out = e.closeAll(out, ev)
	o := obj{"threadId": e.thread, "runId": e.run, "outcome": outcome}
	if len(e.usage) > 0 {
		o["usage"] = e.usage
	}
	e.run, e.usage = "", nil
	return e.emit(out, "RUN_FINISHED", ev, o)
}

// partIDs yields the AG-UI IDs of msg's parts, each with its part.
func (e *Encoder) partIDs(msg *timeline.Message) map[string]*timeline.Part {
	ids := map[string]*timeline.Part{}
	var nt, nr int
	for i := range msg.Parts {
		p := &msg.Parts[i]
		if p.Kind == "thinking" {
			ids[reasoningID(msg.ID, nr)] = p
			nr++
		} else {
			ids[textID(msg.ID, nt)] = p
			nt++
		}
	}
	return ids
}

func textID(msg string, n int) string {
	if n == 0 {
		return msg
	}
	return msg + "/text/" + strconv.Itoa(n)
}

func reasoningID(msg string, n int) string { return msg + "/reasoning/" + strconv.Itoa(n) }

// partID returns the AG-UI ID of msg's last part of kind at index, and
// the part.
func partID(msg *timeline.Message, kind string, index int) (string, *timeline.Part) {
	n, at := -1, -1
	for i := range msg.Parts {
		if msg.Parts[i].Kind == kind {
			n++
			if msg.Parts[i].Index == index {
				at = n
			}
		}
	}
	if at < 0 {
		return "", nil
	}
	k := 0
	for i := range msg.Parts {
		if msg.Parts[i].Kind == kind {
			if k == at {
				if kind == "thinking" {
					return reasoningID(msg.ID, at), &msg.Parts[i]
				}
				return textID(msg.ID, at), &msg.Parts[i]
			}
			k++
		}
	}
	return "", nil
}

// open starts the AG-UI message id of kind if it is not open.
func (e *Encoder) open(out []wire.Message, ev *event.Event, kind, id, role string) []wire.Message {
	if kind == "thinking" {
		if !e.reasoning[id] {
			e.reasoning[id] = true
			out = e.emit(out, "REASONING_START", ev, obj{"messageId": id})
			out = e.emit(out, "REASONING_MESSAGE_START", ev, obj{"messageId": id, "role": "reasoning"})
		}
		return out
	}
	if !e.text[id] {
		e.text[id] = true
		out = e.emit(out, "TEXT_MESSAGE_START", ev, obj{"messageId": id, "role": role})
	}
	return out
}

// end closes the AG-UI message id if it is open.
func (e *Encoder) end(out []wire.Message, ev *event.Event, id string) []wire.Message {
	if e.reasoning[id] {
		delete(e.reasoning, id)
		out = e.emit(out, "REASONING_MESSAGE_END", ev, obj{"messageId": id})
		return e.emit(out, "REASONING_END", ev, obj{"messageId": id})
	}
	if e.text[id] {
		delete(e.text, id)
		out = e.emit(out, "TEXT_MESSAGE_END", ev, obj{"messageId": id})
	}
	return out
}

func (e *Encoder) content(out []wire.Message, ev *event.Event, kind, id, delta string) []wire.Message {
	if delta == "" {
		return out
	}
	if kind == "thinking" {
		return appendDelta(out, ev, "REASONING_MESSAGE_CONTENT", "messageId", id, delta)
	}
	return appendDelta(out, ev, "TEXT_MESSAGE_CONTENT", "messageId", id, delta)
}

// appendDelta writes a content event by hand (they are most of a stream):
// {"type":typ,key:id,"delta":delta,"timestamp":ms}.
func appendDelta(out []wire.Message, ev *event.Event, typ, key, id, delta string) []wire.Message {
	b := make([]byte, 0, len(id)+len(delta)+len(typ)+64)
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","`...)
	b = append(b, key...)
	b = append(b, `":`...)
	b = event.AppendJSONString(b, id)
	b = append(b, `,"delta":`...)
	b = event.AppendJSONString(b, delta)
	if ev != nil && !ev.Time.IsZero() {
		b = append(b, `,"timestamp":`...)
		b = strconv.AppendInt(b, ev.Time.UnixMilli(), 10)
	}
	b = append(b, '}')
	return append(out, wire.Message{Data: b})
}

// syncParts ends the parts of msg that are done.
func (e *Encoder) syncParts(out []wire.Message, ev *event.Event, msg *timeline.Message) []wire.Message {
	for id, p := range e.partIDs(msg) {
		if p.Done {
			out = e.end(out, ev, id)
		}
	}
	return out
}

// startTool announces tc if it was not.
func (e *Encoder) startTool(out []wire.Message, ev *event.Event, tc *timeline.ToolCall) []wire.Message {
	if e.tools[tc.ID] != 0 {
		return out
	}
	e.tools[tc.ID] = toolStarted
	o := obj{"toolCallId": tc.ID, "toolCallName": tc.Name}
	if tc.MessageID != "" {
		o["parentMessageId"] = tc.MessageID
	}
	return e.emit(out, "TOOL_CALL_START", ev, o)
}

func (e *Encoder) endTool(out []wire.Message, ev *event.Event, id string) []wire.Message {
	if e.tools[id] != toolStarted {
		return out
	}
	e.tools[id] = toolEnded
	return e.emit(out, "TOOL_CALL_END", ev, obj{"toolCallId": id})
}

// wholeTool announces tc with all its arguments and ends it.
func (e *Encoder) wholeTool(out []wire.Message, ev *event.Event, tc *timeline.ToolCall) []wire.Message {
	if e.tools[tc.ID] != 0 {
		return e.endTool(out, ev, tc.ID)
	}
	out = e.startTool(out, ev, tc)
	if tc.Arguments != "" {
		out = e.emit(out, "TOOL_CALL_ARGS", ev, obj{"toolCallId": tc.ID, "delta": tc.Arguments})
	}
	return e.endTool(out, ev, tc.ID)
}

func resultID(call string) string { return "result-" + call }

func (e *Encoder) result(out []wire.Message, ev *event.Event, tc *timeline.ToolCall) []wire.Message {
	if e.results[tc.ID] {
		return out
	}
	e.results[tc.ID] = true
	out = e.wholeTool(out, ev, tc)
	return e.emit(out, "TOOL_CALL_RESULT", ev, obj{"messageId": resultID(tc.ID), "toolCallId": tc.ID, "content": resultText(tc), "role": "tool"})
}

func resultText(tc *timeline.ToolCall) string {
	if tc.Error != nil {
		return "error: " + tc.Error.Message
	}
	var s string
	if json.Unmarshal(tc.Result, &s) == nil {
		return s
	}
	return string(tc.Result)
}

// custom sends ev as CUSTOM, or RAW for an unknown type. It is written by
// hand: the event's JSON goes in as it is, and type names need no
// escaping.
func (e *Encoder) custom(out []wire.Message, ev *event.Event, native []byte) []wire.Message {
	b := make([]byte, 0, len(native)+len(ev.Type)+80)
	if _, ok := ev.Payload.(event.Raw); ok {
		b = append(b, `{"type":"RAW","source":"sluice","event":`...)
	} else {
		b = append(b, `{"type":"CUSTOM","name":"`...)
		b = append(b, ev.Type...)
		b = append(b, `","value":`...)
	}
	b = append(b, native...)
	if !ev.Time.IsZero() {
		b = append(b, `,"timestamp":`...)
		b = strconv.AppendInt(b, ev.Time.UnixMilli(), 10)
	}
	b = append(b, '}')
	return append(out, wire.Message{Data: b})
}

func (e *Encoder) startStep(out []wire.Message, ev *event.Event, name string) []wire.Message {
	e.steps = append(e.steps, name)
	return e.emit(out, "STEP_STARTED", ev, obj{"stepName": name})
}

func (e *Encoder) endStep(out []wire.Message, ev *event.Event, name string) []wire.Message {
	for i := len(e.steps) - 1; i >= 0; i-- {
		if e.steps[i] == name {
			e.steps = append(e.steps[:i], e.steps[i+1:]...)
			return e.emit(out, "STEP_FINISHED", ev, obj{"stepName": name})
		}
	}
	return out
}

// runEnded finishes the open run if the timeline says it ended.
func (e *Encoder) runEnded(out []wire.Message, ev *event.Event) []wire.Message {
	r := e.tl.Run(ev.Meta.RunID)
	if r == nil || e.run != r.ID {
		return out
	}
	switch r.Status {
	case timeline.StatusCompleted:
		return e.finishRun(out, ev, obj{"type": "success"})
	case timeline.StatusStopped:
		return e.finishRun(out, ev, obj{"type": "cancelled"})
	case timeline.StatusWaiting:
		if len(r.Interrupts) > 0 {
			return e.finishRun(out, ev, obj{"type": "interrupt", "interrupts": interrupts(r.Interrupts)})
		}
		// AG-UI has no interrupt outcome without interrupts, and the run
		// did not succeed.
		r = &timeline.Run{Status: timeline.StatusFailed, Error: &event.Error{Message: "the run was interrupted without saying what it waits for", Code: "interrupt"}}
		fallthrough
	case timeline.StatusFailed:
		out = e.closeAll(out, ev)
		o := obj{"message": "the run failed"}
		if r.Error != nil {
			o["message"] = r.Error.Message
			if r.Error.Code != "" {
				o["code"] = r.Error.Code
			}
		}
		if len(e.usage) > 0 {
			o["usage"] = e.usage
		}
		e.run, e.usage = "", nil
		return e.emit(out, "RUN_ERROR", ev, o)
	}
	return out
}

// interrupts returns AG-UI's Interrupt objects for ins. Metadata and a
// response schema that are not JSON objects, which AG-UI refuses, are
// left out.
func interrupts(ins []event.Interrupt) []obj {
	out := make([]obj, 0, len(ins))
	for _, in := range ins {
		o := obj{"id": in.ID, "reason": in.Reason}
		if in.Message != "" {
			o["message"] = in.Message
		}
		if in.ToolCallID != "" {
			o["toolCallId"] = in.ToolCallID
		}
		if isObject(in.ResponseSchema) {
			o["responseSchema"] = in.ResponseSchema
		}
		if !in.ExpiresAt.IsZero() {
			o["expiresAt"] = in.ExpiresAt.UTC().Format(time.RFC3339Nano)
		}
		if isObject(in.Metadata) {
			o["metadata"] = in.Metadata
		}
		out = append(out, o)
	}
	return out
}

func isObject(b json.RawMessage) bool { return len(b) > 0 && b[0] == '{' }

func (e *Encoder) addUsage(p event.ProviderCallCompleted, ev *event.Event) {
	prov, model := p.Provider, p.Model
	if prov == "" {
		prov = ev.Meta.Provider
	}
	if model == "" {
		model = ev.Meta.Model
	}
	i := 0
	for ; i < len(e.usage); i++ {
		if e.usage[i].Provider == prov && e.usage[i].Model == model {
			break
		}
	}
	if i == len(e.usage) {
		e.usage = append(e.usage, tokenUsage{Provider: prov, Model: model})
	}
	u := &e.usage[i]
	u.InputTokens += p.Usage.InputTokens
	u.OutputTokens += p.Usage.OutputTokens
	u.TotalTokens += p.Usage.InputTokens + p.Usage.OutputTokens
	u.ReasoningTokens += p.Usage.ReasoningTokens
	u.CachedInputTokens += p.Usage.CachedTokens + p.Usage.CacheReadTokens
	u.CacheWriteInputTokens += p.Usage.CacheCreationTokens
}

// Encode implements wire.Encoder.
func (e *Encoder) Encode(out []wire.Message, ev *event.Event, native []byte) ([]wire.Message, error) {
	if ev.Type == event.TypeRunHeartbeat {
		// It only tells readers of the log that the run goes on (see
		// package runs); as a CUSTOM event it would be noise, and after
		// the run's end it would open the run again.
		return out, nil
	}
	before := len(e.tl.Messages)
	if !e.tl.Apply(ev) {
		return out, nil // folded before: sent by the prelude
	}
	msg, tc := e.tl.Touched()
	out = e.startRun(out, ev)
	switch p := ev.Payload.(type) {
	case event.RunStarted, event.MessageStarted:
		// the run is open; a message opens with its first part
	case event.RunCompleted, event.RunStopped, event.RunFailed, event.RunInterrupted:
		out = e.runEnded(out, ev)
	case event.PipelineStarted:
		out = e.startStep(out, ev, "pipeline")
	case event.MiddlewareStarted:
		out = e.startStep(out, ev, p.Name)
	case event.StageStarted:
		out = e.startStep(out, ev, p.Name)
	case event.MiddlewareCompleted:
		out = e.endStep(out, ev, p.Name)
	case event.StageCompleted:
		out = e.endStep(out, ev, p.Name)
	case event.MiddlewareFailed:
		out = e.custom(e.endStep(out, ev, p.Name), ev, native)
	case event.StageFailed:
		out = e.custom(e.endStep(out, ev, p.Name), ev, native)
	case event.PipelineCompleted:
		out = e.runEnded(e.endStep(out, ev, "pipeline"), ev)
	case event.PipelineFailed:
		out = e.runEnded(e.custom(e.endStep(out, ev, "pipeline"), ev, native), ev)
	case event.BlockStarted:
		if msg != nil && (p.Kind == "text" || p.Kind == "thinking") {
			if id, _ := partID(msg, p.Kind, p.Index); id != "" {
				out = e.open(out, ev, p.Kind, id, msg.Role)
			}
		}
	case event.TextDelta:
		out = e.delta(out, ev, msg, "text", p.Index, p.Text)
	case event.ThinkingDelta:
		out = e.delta(out, ev, msg, "thinking", p.Index, p.Text)
	case event.TextCompleted, event.ThinkingCompleted, event.BlockStopped, event.MessageStopped:
		if msg != nil {
			out = e.syncParts(out, ev, msg)
		}
		if b, ok := p.(event.BlockStopped); ok && b.Kind == "tool_use" && b.ID != "" {
			out = e.endTool(out, ev, b.ID)
		}
		if _, ok := p.(event.MessageStopped); ok && msg != nil {
			for _, id := range msg.ToolCallIDs {
				if t := e.tl.ToolCall(id); t != nil && t.Status != timeline.StatusStreaming {
					out = e.wholeTool(out, ev, t)
				}
			}
		}
	case event.ToolCallDelta:
		if tc != nil {
			out = e.startTool(out, ev, tc)
			if p.Delta != "" && e.tools[tc.ID] == toolStarted {
				out = appendDelta(out, ev, "TOOL_CALL_ARGS", "toolCallId", tc.ID, p.Delta)
			}
		}
	case event.ToolCallRequested:
		if tc != nil {
			out = e.wholeTool(out, ev, tc)
		}
	case event.ToolCallCompleted, event.ToolCallFailed:
		if tc != nil {
			out = e.result(out, ev, tc)
		}
	case event.MessageCreated:
		out = e.created(out, ev, native, msg, len(e.tl.Messages) > before, p)
	case event.StateSnapshot:
		st := p.State
		if len(st) == 0 {
			st = json.RawMessage("null")
		}
		out = e.emit(out, "STATE_SNAPSHOT", ev, obj{"snapshot": st})
	case event.StateDelta:
		var ops []json.RawMessage
		if json.Unmarshal(p.Patch, &ops) == nil {
			out = e.emit(out, "STATE_DELTA", ev, obj{"delta": json.RawMessage(p.Patch)})
		} else {
			out = e.custom(out, ev, native)
		}
	default:
		out = e.custom(out, ev, native)
	}
	return out, nil
}

func (e *Encoder) delta(out []wire.Message, ev *event.Event, msg *timeline.Message, kind string, index int, text string) []wire.Message {
	if msg == nil {
		return out
	}
	id, _ := partID(msg, kind, index)
	if id == "" {
		return out
	}
	out = e.open(out, ev, kind, id, msg.Role)
	return e.content(out, ev, kind, id, text)
}

// created maps a message.created: a message that was not streamed is sent
// whole; one that was streamed was sent already.
func (e *Encoder) created(out []wire.Message, ev *event.Event, native []byte, msg *timeline.Message, isNew bool, p event.MessageCreated) []wire.Message {
	if msg == nil {
		return out
	}
	if p.Role == "tool" {
		if tc := e.tl.ToolCall(msg.ToolCallID); tc != nil && tc.Status != timeline.StatusRunning {
			return e.result(out, ev, tc)
		}
		return e.custom(out, ev, native)
	}
	if !isNew {
		for _, id := range msg.ToolCallIDs {
			if t := e.tl.ToolCall(id); t != nil {
				out = e.wholeTool(out, ev, t)
			}
		}
		return out
	}
	role := msg.Role
	if role != "user" && role != "system" && role != "developer" {
		role = "assistant"
	}
	out = e.open(out, ev, "text", msg.ID, role)
	out = e.content(out, ev, "text", msg.ID, msg.Text())
	out = e.end(out, ev, msg.ID)
	for _, id := range msg.ToolCallIDs {
		if t := e.tl.ToolCall(id); t != nil {
			out = e.wholeTool(out, ev, t)
		}
	}
	return out
}
