// Package aisdk encodes Sluice events as the Vercel AI SDK's UI message
// stream, protocol v1 (what useChat and readUIMessageStream read), for the
// stream endpoints' ?format=aisdk.
//
// One run is one UI message: the stream starts with "start" (messageId:
// the run's ID) at the run's first event and ends at the run's end with
// "finish" (and "error" or "abort" before it when the run failed or was
// stopped) and then "data: [DONE]", after which the server closes the
// stream (the encoder is a wire.Finisher). Each model call is a step
// (start-step / finish-step); text is text-start / -delta / -end;
// thinking is reasoning-start / -delta / -end; tool calls are
// tool-input-start / -delta / -available and tool-output-available or
// tool-output-error. Every other event is a transient data part,
// "data-<event type>" with the event's JSON as data (transient: the
// client's onData sees it, the message does not keep it), so nothing is
// dropped. docs/formats.md has the table.
//
// A stream resumed in the middle of a run starts with a prelude (Resume)
// that rebuilds the message so far from the timeline: start, each step with
// its parts (closed ones whole, open ones with their content so far), and
// the tool calls with their inputs and outputs.
//
// Chat (NewChat) is a useChat endpoint over a hub: POST runs a Go agent and
// streams the run; GET {chatId}/stream replays the chat's open run from its
// start from the log (the same parts as the POST's response) and then live,
// in any process that shares the log, also after the process that produced
// the run died: a run whose producer is gone is closed as lost (package
// runs), which the stream ends with an error and a finish; POST
// {chatId}/stop stops a run wherever it runs. docs/formats.md has the
// details.
package aisdk

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/timeline"
	"github.com/sluice-events/sluice/wire"
)

// Name is the format's name on the stream endpoints (?format=aisdk).
const Name = "aisdk"

// Header is the header that marks a UI message stream, and its value.
const (
	Header        = "x-vercel-ai-ui-message-stream"
	HeaderVersion = "v1"
)

// Format is the AI SDK UI message stream format for the server.
var Format = wire.Format{Name: Name, Header: map[string]string{Header: HeaderVersion}, New: func() wire.Encoder { return New() }}

// Encoder turns one stream's events into UI message stream parts. It keeps
// the stream's state, so every stream needs its own.
type Encoder struct {
	tl      *timeline.Timeline
	run     string            // the open run
	parts   map[string]string // open text and reasoning parts: ID -> kind
	tools   map[string]int    // tool calls: inputStarted or inputAvailable
	outputs map[string]bool   // tool calls whose output was sent
	steps   int               // open steps
	finish  string            // the finish reason of the last step
	done    bool
}

const (
	inputStarted   = 1
	inputAvailable = 2
)

// New returns an encoder for one stream.
func New() *Encoder {
	return &Encoder{tl: timeline.New(""), parts: map[string]string{}, tools: map[string]int{}, outputs: map[string]bool{}}
}

// Finished implements wire.Finisher: true once the run's finish was sent.
func (e *Encoder) Finished() bool { return e.done }

type obj map[string]any

func emit(out []wire.Message, typ string, o obj) []wire.Message {
	if o == nil {
		o = obj{}
	}
	o["type"] = typ
	b, err := json.Marshal(o)
	if err != nil {
		b, _ = json.Marshal(obj{"type": "error", "errorText": err.Error()})
	}
	return append(out, wire.Message{Data: b})
}

func partID(msg, kind string, n int) string {
	if kind == "thinking" {
		return msg + "/reasoning/" + strconv.Itoa(n)
	}
	return msg + "/text/" + strconv.Itoa(n)
}

// part returns the ID of msg's last part of kind at index.
func part(msg *timeline.Message, kind string, index int) (string, *timeline.Part) {
	n, id := 0, ""
	var pt *timeline.Part
	for i := range msg.Parts {
		if msg.Parts[i].Kind != kind {
			continue
		}
		if msg.Parts[i].Index == index {
			id, pt = partID(msg.ID, kind, n), &msg.Parts[i]
		}
		n++
	}
	return id, pt
}

func prefix(kind string) string {
	if kind == "thinking" {
		return "reasoning"
	}
	return "text"
}

func (e *Encoder) open(out []wire.Message, kind, id string) []wire.Message {
	if e.parts[id] != "" {
		return out
	}
	e.parts[id] = kind
	return emit(out, prefix(kind)+"-start", obj{"id": id})
}

func (e *Encoder) delta(out []wire.Message, kind, id, text string) []wire.Message {
	if text == "" {
		return out
	}
	return appendDelta(out, prefix(kind)+"-delta", "id", id, "delta", text)
}

// appendDelta writes a delta part by hand (they are most of a stream):
// {"type":typ,k1:v1,k2:v2}.
func appendDelta(out []wire.Message, typ, k1, v1, k2, v2 string) []wire.Message {
	b := make([]byte, 0, len(v1)+len(v2)+len(typ)+40)
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","`...)
	b = append(b, k1...)
	b = append(b, `":`...)
	b = event.AppendJSONString(b, v1)
	b = append(b, `,"`...)
	b = append(b, k2...)
	b = append(b, `":`...)
	b = event.AppendJSONString(b, v2)
	b = append(b, '}')
	return append(out, wire.Message{Data: b})
}

func (e *Encoder) end(out []wire.Message, kind, id string) []wire.Message {
	if e.parts[id] == "" {
		return out
	}
	delete(e.parts, id)
	return emit(out, prefix(kind)+"-end", obj{"id": id})
}

// sync ends msg's parts that are done.
func (e *Encoder) sync(out []wire.Message, msg *timeline.Message) []wire.Message {
	n := map[string]int{}
	for i := range msg.Parts {
		p := &msg.Parts[i]
		id := partID(msg.ID, p.Kind, n[p.Kind])
		n[p.Kind]++
		if p.Done {
			out = e.end(out, p.Kind, id)
		}
	}
	return out
}

func (e *Encoder) closeParts(out []wire.Message) []wire.Message {
	for _, id := range slices.Sorted(maps.Keys(e.parts)) {
		out = e.end(out, e.parts[id], id)
	}
	return out
}

func input(tc *timeline.ToolCall) any {
	var v any
	if json.Unmarshal([]byte(tc.Arguments), &v) == nil {
		return v
	}
	return tc.Arguments
}

func (e *Encoder) inputStart(out []wire.Message, tc *timeline.ToolCall) []wire.Message {
	if e.tools[tc.ID] != 0 {
		return out
	}
	e.tools[tc.ID] = inputStarted
	return emit(out, "tool-input-start", obj{"toolCallId": tc.ID, "toolName": tc.Name})
}

func (e *Encoder) inputAvailable(out []wire.Message, tc *timeline.ToolCall) []wire.Message {
	if e.tools[tc.ID] == inputAvailable {
		return out
	}
	e.tools[tc.ID] = inputAvailable
	return emit(out, "tool-input-available", obj{"toolCallId": tc.ID, "toolName": tc.Name, "input": input(tc)})
}

func (e *Encoder) output(out []wire.Message, tc *timeline.ToolCall) []wire.Message {
	if e.outputs[tc.ID] || (tc.Status != timeline.StatusCompleted && tc.Status != timeline.StatusFailed) {
		return out
	}
	e.outputs[tc.ID] = true
	out = e.inputAvailable(out, tc)
	if tc.Status == timeline.StatusFailed {
		msg := "the tool failed"
		if tc.Error != nil {
			msg = tc.Error.Message
		}
		return emit(out, "tool-output-error", obj{"toolCallId": tc.ID, "errorText": msg})
	}
	var v any = nil
	if len(tc.Result) > 0 {
		json.Unmarshal(tc.Result, &v)
	}
	return emit(out, "tool-output-available", obj{"toolCallId": tc.ID, "output": v})
}

// finishReason maps a provider's or Sluice's stop reason to the AI SDK's.
func finishReason(r string) string {
	switch r {
	case "stop", "end_turn", "stop_sequence", "completed":
		return "stop"
	case "length", "max_tokens", "max_output_tokens", "incomplete":
		return "length"
	case "tool_calls", "tool_use":
		return "tool-calls"
	case "content_filter", "refusal":
		return "content-filter"
	case "error", "failed":
		return "error"
	case "":
		return ""
	}
	return "other"
}

func runID(ev *event.Event) string {
	if ev.Meta.RunID != "" {
		return ev.Meta.RunID
	}
	return "run-" + ev.Meta.SessionID
}

// data sends ev as a transient data part. It is written by hand: the
// event's JSON goes in as it is, and type names need no escaping.
func (e *Encoder) data(out []wire.Message, ev *event.Event, native []byte) []wire.Message {
	b := make([]byte, 0, len(native)+len(ev.Type)+48)
	b = append(b, `{"type":"data-`...)
	b = append(b, ev.Type...)
	b = append(b, `","data":`...)
	b = append(b, native...)
	b = append(b, `,"transient":true}`...)
	return append(out, wire.Message{Data: b})
}

// end sends the run's end and finishes the stream.
func (e *Encoder) endRun(out []wire.Message, r *timeline.Run) []wire.Message {
	out = e.closeParts(out)
	for ; e.steps > 0; e.steps-- {
		out = emit(out, "finish-step", nil)
	}
	reason := e.finish
	switch r.Status {
	case timeline.StatusFailed:
		msg := "the run failed"
		if r.Error != nil {
			msg = r.Error.Message
		}
		out = emit(out, "error", obj{"errorText": msg})
		reason = "error"
	case timeline.StatusStopped:
		out = emit(out, "abort", obj{"reason": r.Reason})
		reason = "interrupted"
	}
	o := obj{}
	if reason != "" {
		o["finishReason"] = reason
	}
	out = emit(out, "finish", o)
	e.done = true
	return append(out, wire.Message{Data: []byte("[DONE]")})
}

// Encode implements wire.Encoder.
func (e *Encoder) Encode(out []wire.Message, ev *event.Event, native []byte) ([]wire.Message, error) {
	if e.done {
		return out, nil
	}
	before := len(e.tl.Messages)
	if !e.tl.Apply(ev) {
		return out, nil
	}
	msg, tc := e.tl.Touched()
	if e.run == "" {
		e.run = runID(ev)
		out = emit(out, "start", obj{"messageId": e.run})
	}
	switch p := ev.Payload.(type) {
	case event.ProviderCallStarted:
		e.steps++
		out = emit(out, "start-step", nil)
	case event.ProviderCallCompleted, event.ProviderCallFailed:
		if c, ok := p.(event.ProviderCallCompleted); ok {
			e.finish = finishReason(c.FinishReason)
		} else {
			e.finish = "error"
			out = e.data(out, ev, native)
		}
		if e.steps > 0 {
			out = e.closeParts(out)
			e.steps--
			out = emit(out, "finish-step", nil)
		}
	case event.BlockStarted:
		if msg != nil && (p.Kind == "text" || p.Kind == "thinking") {
			if id, _ := part(msg, p.Kind, p.Index); id != "" {
				out = e.open(out, p.Kind, id)
			}
		}
	case event.TextDelta:
		out = e.content(out, msg, "text", p.Index, p.Text)
	case event.ThinkingDelta:
		out = e.content(out, msg, "thinking", p.Index, p.Text)
	case event.TextCompleted, event.ThinkingCompleted, event.BlockStopped, event.MessageStopped, event.StreamInterrupted:
		if msg != nil {
			out = e.sync(out, msg)
		}
		if _, ok := p.(event.StreamInterrupted); ok {
			out = e.data(out, ev, native)
		}
	case event.MessageStarted, event.RunStarted, event.RunCompleted, event.RunStopped, event.RunFailed, event.RunHeartbeat:
		// a message opens with its first part; a run ends below; a
		// heartbeat only tells readers of the log that the run goes on
	case event.ToolCallDelta:
		if tc != nil {
			out = e.inputStart(out, tc)
			if p.Delta != "" && e.tools[tc.ID] == inputStarted {
				out = appendDelta(out, "tool-input-delta", "toolCallId", tc.ID, "inputTextDelta", p.Delta)
			}
		}
	case event.ToolCallRequested:
		if tc != nil {
			out = e.inputAvailable(out, tc)
		}
	case event.ToolCallCompleted, event.ToolCallFailed:
		if tc != nil {
			out = e.output(out, tc)
		}
	case event.MessageCreated:
		switch {
		case msg != nil && p.Role == "assistant" && len(e.tl.Messages) > before:
			id := partID(msg.ID, "text", 0)
			out = e.open(out, "text", id)
			out = e.delta(out, "text", id, msg.Text())
			out = e.end(out, "text", id)
			for _, cid := range msg.ToolCallIDs {
				if t := e.tl.ToolCall(cid); t != nil {
					out = e.inputAvailable(out, t)
				}
			}
		case msg != nil && p.Role == "assistant":
			for _, cid := range msg.ToolCallIDs {
				if t := e.tl.ToolCall(cid); t != nil {
					out = e.inputAvailable(out, t)
				}
			}
		default:
			out = e.data(out, ev, native)
		}
	default:
		out = e.data(out, ev, native)
	}
	if r := e.tl.Run(runID(ev)); r != nil && r.ID == e.run && r.Status != timeline.StatusRunning {
		out = e.endRun(out, r)
	}
	return out, nil
}

func (e *Encoder) content(out []wire.Message, msg *timeline.Message, kind string, index int, text string) []wire.Message {
	if msg == nil {
		return out
	}
	id, _ := part(msg, kind, index)
	if id == "" {
		return out
	}
	return e.delta(e.open(out, kind, id), kind, id, text)
}
