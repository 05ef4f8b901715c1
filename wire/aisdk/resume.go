package aisdk

import (
	"github.com/sluice-events/sluice/timeline"
	"github.com/sluice-events/sluice/wire"
)

// Resume implements wire.Resumer: the prelude of a stream resumed after
// tl.Seq. If a run is open at the cursor, it rebuilds the run's message so
// far: start, then for each model call of the run a step (start-step, its
// reasoning and text parts, finish-step once the call's message is
// complete; a part still open is started and given its content so far),
// then the tool calls with their inputs and outputs, or the input so far
// of a call whose arguments still stream. If no run is open, the stream
// starts with the next run.
func (e *Encoder) Resume(out []wire.Message, tl *timeline.Timeline) ([]wire.Message, error) {
	e.tl = tl
	run := e.tl.OpenRun()
	if run == nil {
		return out, nil
	}
	e.run = run.ID
	out = emit(out, "start", obj{"messageId": run.ID})
	for i := range e.tl.Messages {
		m := &e.tl.Messages[i]
		if m.RunID != run.ID || m.Role != "assistant" {
			continue
		}
		streamed := m.Inference != ""
		if streamed {
			out = emit(out, "start-step", nil)
			e.steps++
		}
		n := map[string]int{}
		for j := range m.Parts {
			p := &m.Parts[j]
			id := partID(m.ID, p.Kind, n[p.Kind])
			n[p.Kind]++
			out = e.open(out, p.Kind, id)
			out = e.delta(out, p.Kind, id, p.Text())
			if p.Done {
				out = e.end(out, p.Kind, id)
			}
		}
		for _, cid := range m.ToolCallIDs {
			tc := e.tl.ToolCall(cid)
			if tc == nil {
				continue
			}
			if tc.Status == timeline.StatusStreaming {
				out = e.inputStart(out, tc)
				if tc.Arguments != "" {
					out = emit(out, "tool-input-delta", obj{"toolCallId": tc.ID, "inputTextDelta": tc.Arguments})
				}
				continue
			}
			out = e.inputAvailable(out, tc)
			out = e.output(out, tc)
		}
		if streamed && m.Status != timeline.StatusStreaming {
			out = e.closeParts(out)
			out = emit(out, "finish-step", nil)
			e.steps--
			e.finish = finishReason(m.StopReason)
		}
	}
	return out, nil
}
