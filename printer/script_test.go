package printer_test

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/sluice-events/sluice/event"
)

// source stamps events with IDs 00000000-0000-7000-8000-0000000000NN and
// times one millisecond apart from 2025-01-02T03:04:05Z.
func source() event.Source {
	var n byte
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	return event.Source{
		NewID: func() uuid.UUID {
			n++
			return uuid.UUID{6: 0x70, 8: 0x80, 15: n}
		},
		Now: func() time.Time { return start.Add(time.Duration(n) * time.Millisecond) },
	}
}

// script is a run: a message with thinking and text, a tool call, the
// provider call's figures, a stream error, and a custom type unknown here.
func script() []event.Event {
	src := source()
	meta := event.Meta{RunID: "run1", SessionID: "s1", InferenceID: "inf1", MessageID: "msg1"}
	var evs []event.Event
	add := func(p event.Payload) {
		ev := src.New(p, meta)
		ev.Seq = uint64(len(evs) + 1)
		evs = append(evs, ev)
	}
	add(event.MessageStarted{ID: "msg1", Role: "assistant", Model: "claude-x"})
	add(event.BlockStarted{Index: 0, Kind: "thinking"})
	add(event.ThinkingDelta{Text: "The user wants "})
	add(event.ThinkingDelta{Offset: 15, Text: "the weather.\nCall the tool."})
	add(event.ThinkingCompleted{Text: "The user wants the weather.\nCall the tool.", Signature: "sig"})
	add(event.BlockStopped{Index: 0, Kind: "thinking"})
	add(event.BlockStarted{Index: 1, Kind: "text"})
	add(event.TextDelta{Index: 1, Text: "Let me "})
	add(event.TextDelta{Index: 1, Offset: 7, Text: "check."})
	add(event.TextCompleted{Index: 1, Text: "Let me check."})
	add(event.BlockStopped{Index: 1, Kind: "text"})
	add(event.ToolCallRequested{CallID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris","days":2}`)})
	add(event.MessageStopped{ID: "msg1", StopReason: "tool_use"})
	add(event.ToolCallStarted{CallID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris","days":2}`)})
	add(event.ToolCallCompleted{CallID: "call_1", Name: "get_weather", Duration: 12345678 * time.Nanosecond,
		Status: "success", Result: json.RawMessage(`{"temp_c":21,"sky":["sun","clouds"]}`)})
	add(event.ProviderCallCompleted{Provider: "anthropic", Model: "claude-x", Duration: 1234567890 * time.Nanosecond,
		Usage: event.Usage{InputTokens: 1200, OutputTokens: 80, CachedTokens: 1000, ReasoningTokens: 30},
		Cost:  0.0123, FinishReason: "tool_use", ToolCallCount: 1})
	add(event.StreamError{Error: event.Error{Message: "Overloaded", Code: "overloaded_error", Kind: "provider", Retryable: true}})
	add(event.Raw{Name: "myapp.progress", Data: json.RawMessage(`{"step":3,"of":10,"note":"half way"}`)})
	add(event.Dropped{Count: 2, Reason: "queue_full"})
	return evs
}

// must returns v, and panics if err is not nil: printers made in tests
// have valid arguments.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
