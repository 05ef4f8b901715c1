package event_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
)

func fullMeta() event.Meta {
	return event.Meta{
		RunID: "run-01", SessionID: "sess-42", ConversationID: "conv-7", TurnID: "turn-3",
		InferenceID: "inf-9", MessageID: "msg-11", ToolCallID: "call_abc", RequestID: "req-5",
		ParentID: "turn-3", Provider: "anthropic", Model: "claude-sonnet-4-5",
		Labels: map[string]string{"tenant": "acme", "env": "prod"},
	}
}

func deltaEvent() event.Event {
	ev := event.New(event.TextDelta{Index: 0, Offset: 1024, Text: "Hello, world! The answer is"}, fullMeta())
	ev.Seq = 4812
	return ev
}

// BenchmarkEncodeTextDelta appends a text delta with full metadata into a
// reused buffer.
func BenchmarkEncodeTextDelta(b *testing.B) {
	ev := deltaEvent()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = ev.AppendJSON(buf[:0])
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeTextDelta decodes a text delta with full metadata.
func BenchmarkDecodeTextDelta(b *testing.B) {
	ev := deltaEvent()
	data, err := event.Marshal(ev)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var out event.Event
		if err := event.Unmarshal(data, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRoundTripTextDelta encodes into a reused buffer and decodes again.
func BenchmarkRoundTripTextDelta(b *testing.B) {
	ev := deltaEvent()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = ev.AppendJSON(buf[:0])
		if err != nil {
			b.Fatal(err)
		}
		var out event.Event
		if err := event.Unmarshal(buf, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// stdEvent mirrors the envelope as a plain struct for the baseline: what
// encoding/json alone does with the same content.
type stdEvent struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Time    time.Time       `json:"time"`
	Seq     uint64          `json:"seq,omitempty"`
	Meta    stdMeta         `json:"meta"`
	Payload event.TextDelta `json:"payload"`
}

type stdMeta struct {
	Run, Session, Conversation, Turn, Inference, Message, ToolCall, Request, Parent, Provider, Model string
	Labels                                                                                           map[string]string
}

// BenchmarkRoundTripStdlibJSON is the baseline: encoding/json marshals and
// unmarshals a plain struct with the same content.
func BenchmarkRoundTripStdlibJSON(b *testing.B) {
	ev := deltaEvent()
	m := ev.Meta
	in := stdEvent{ID: ev.ID.String(), Type: string(ev.Type), Time: ev.Time, Seq: ev.Seq,
		Meta: stdMeta{m.RunID, m.SessionID, m.ConversationID, m.TurnID, m.InferenceID, m.MessageID,
			m.ToolCallID, m.RequestID, m.ParentID, m.Provider, m.Model, m.Labels},
		Payload: ev.Payload.(event.TextDelta)}
	b.ReportAllocs()
	for b.Loop() {
		data, err := json.Marshal(in)
		if err != nil {
			b.Fatal(err)
		}
		var out stdEvent
		if err := json.Unmarshal(data, &out); err != nil {
			b.Fatal(err)
		}
	}
}
