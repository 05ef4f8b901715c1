package printer_test

import (
	"context"
	"io"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/printer"
)

func benchDelta(b *testing.B, s sluice.Sink) {
	ev := event.New(event.TextDelta{Index: 1, Offset: 1234, Text: "Hello, wor"},
		event.Meta{RunID: "run-1", SessionID: "session-1", InferenceID: "inf-1", MessageID: "msg-1"})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Publish(ctx, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkText measures streaming one text delta, mid-stream.
func BenchmarkText(b *testing.B) { benchDelta(b, must(printer.Text(io.Discard))) }

// BenchmarkTextMeta measures a text delta with metadata on: one prefix per
// section, so mid-stream it costs the same as without.
func BenchmarkTextMeta(b *testing.B) {
	benchDelta(b, must(printer.Text(io.Discard, printer.WithMeta(true))))
}

// BenchmarkJSON measures encoding one text delta as a JSON line.
func BenchmarkJSON(b *testing.B) { benchDelta(b, must(printer.JSON(io.Discard))) }

// BenchmarkJSONNoMeta measures a JSON line with the metadata left out.
func BenchmarkJSONNoMeta(b *testing.B) {
	benchDelta(b, must(printer.JSON(io.Discard, printer.WithMeta(false))))
}

// BenchmarkYAML measures one text delta as a YAML document.
func BenchmarkYAML(b *testing.B) { benchDelta(b, must(printer.YAML(io.Discard))) }

// BenchmarkTextToolCall measures a tool call with indented arguments.
func BenchmarkTextToolCall(b *testing.B) {
	p := must(printer.Text(io.Discard))
	ev := event.New(event.ToolCallRequested{CallID: "c1", Name: "search", Arguments: []byte(`{"q":"go","limit":10}`)})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Publish(ctx, &ev); err != nil {
			b.Fatal(err)
		}
	}
}
