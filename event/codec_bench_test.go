package event_test

import (
	"testing"

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
