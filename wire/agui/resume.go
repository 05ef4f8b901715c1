package agui

import (
	"encoding/json"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/timeline"
	"github.com/sluice-events/sluice/wire"
)

// Resume implements wire.Resumer: the prelude of a stream resumed after
// tl.Seq. If a run is open at the cursor: RUN_STARTED, STEP_STARTED for
// each step still running, MESSAGES_SNAPSHOT with every message complete
// at the cursor, STATE_SNAPSHOT, then for each message part and tool call
// still open its start and its content so far. If no run is open, the
// snapshots follow the next RUN_STARTED.
func (e *Encoder) Resume(out []wire.Message, tl *timeline.Timeline) ([]wire.Message, error) {
	e.tl = tl
	e.thread = tl.Session
	snap := Messages(e.tl)
	e.snapshot = snap
	if e.snapshot == nil {
		e.snapshot = []json.RawMessage{}
	}
	e.state = e.tl.State
	// What the messages in the snapshot hold counts as sent.
	for i := range e.tl.ToolCalls {
		tc := &e.tl.ToolCalls[i]
		if tc.Status != timeline.StatusStreaming {
			e.tools[tc.ID] = toolEnded
		}
		if tc.Status == timeline.StatusCompleted || tc.Status == timeline.StatusFailed {
			e.results[tc.ID] = true
		}
	}
	run := e.tl.OpenRun()
	if run == nil {
		return out, nil
	}
	ev := &event.Event{Meta: event.Meta{RunID: run.ID, SessionID: tl.Session}}
	out = e.startRun(out, ev)
	for _, s := range e.tl.Steps {
		if s.Status == timeline.StatusRunning && s.RunID == run.ID {
			name := s.Name
			if s.Kind == "pipeline" {
				name = "pipeline"
			}
			out = e.startStep(out, ev, name)
		}
	}
	for i := range e.tl.Messages {
		m := &e.tl.Messages[i]
		if m.Status != timeline.StatusStreaming {
			continue
		}
		var nt, nr int
		for j := range m.Parts {
			p := &m.Parts[j]
			var id string
			if p.Kind == "thinking" {
				id = reasoningID(m.ID, nr)
				nr++
			} else {
				id = textID(m.ID, nt)
				nt++
			}
			if p.Done {
				continue
			}
			out = e.open(out, ev, p.Kind, id, m.Role)
			out = e.content(out, ev, p.Kind, id, p.Text())
		}
		for _, id := range m.ToolCallIDs {
			if tc := e.tl.ToolCall(id); tc != nil && tc.Status == timeline.StatusStreaming {
				out = e.startTool(out, ev, tc)
				if tc.Arguments != "" {
					out = e.emit(out, "TOOL_CALL_ARGS", ev, obj{"toolCallId": tc.ID, "delta": tc.Arguments})
				}
			}
		}
	}
	return out, nil
}

// Messages returns the AG-UI messages of tl (for MESSAGES_SNAPSHOT), as
// AG-UI's client assembles them from the stream: each thinking part a
// reasoning message, each text part an assistant message (the first with
// the message's ID and its tool calls), each tool result a tool message.
// Parts and tool calls still streaming are left out.
func Messages(tl *timeline.Timeline) []json.RawMessage {
	var out []json.RawMessage
	add := func(v obj) {
		b, _ := json.Marshal(v)
		out = append(out, b)
	}
	sent := map[string]bool{}
	results := func(m *timeline.Message) {
		for _, id := range m.ToolCallIDs {
			tc := tl.ToolCall(id)
			if tc == nil || sent[id] || (tc.Status != timeline.StatusCompleted && tc.Status != timeline.StatusFailed) {
				continue
			}
			sent[id] = true
			add(obj{"id": resultID(id), "role": "tool", "toolCallId": id, "content": resultText(tc)})
		}
	}
	for i := range tl.Messages {
		m := &tl.Messages[i]
		if m.Role == "tool" {
			if tc := tl.ToolCall(m.ToolCallID); tc != nil && !sent[tc.ID] {
				sent[tc.ID] = true
				add(obj{"id": resultID(tc.ID), "role": "tool", "toolCallId": tc.ID, "content": resultText(tc)})
			}
			continue
		}
		role := m.Role
		if role != "user" && role != "system" && role != "developer" {
			role = "assistant"
		}
		var nt, nr int
		main := -1
		for j := range m.Parts {
			p := &m.Parts[j]
			if p.Kind == "thinking" {
				if p.Done || m.Status != timeline.StatusStreaming {
					add(obj{"id": reasoningID(m.ID, nr), "role": "reasoning", "content": p.Text()})
				}
				nr++
				continue
			}
			if p.Done || m.Status != timeline.StatusStreaming {
				if nt == 0 {
					main = len(out)
				}
				add(obj{"id": textID(m.ID, nt), "role": role, "content": p.Text()})
			}
			nt++
		}
		var calls []obj
		for _, id := range m.ToolCallIDs {
			if tc := tl.ToolCall(id); tc != nil && tc.Status != timeline.StatusStreaming {
				calls = append(calls, obj{"id": tc.ID, "type": "function", "function": obj{"name": tc.Name, "arguments": tc.Arguments}})
			}
		}
		if len(calls) > 0 {
			if main < 0 {
				main = len(out)
				add(obj{"id": m.ID, "role": "assistant"})
			}
			var v obj
			json.Unmarshal(out[main], &v)
			v["toolCalls"] = calls
			out[main], _ = json.Marshal(v)
		}
		results(m)
	}
	return out
}
