package printer_test

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/printer"
)

// exampleEvents returns a short run with fixed IDs and times.
func exampleEvents() []event.Event {
	n := byte(0)
	src := event.Source{
		NewID: func() uuid.UUID { n++; return uuid.UUID{6: 0x70, 8: 0x80, 15: n} },
		Now:   func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, int(n)*int(time.Millisecond), time.UTC) },
	}
	meta := event.Meta{SessionID: "s1"}
	return []event.Event{
		src.New(event.TextDelta{Text: "Hello, "}, meta),
		src.New(event.TextDelta{Offset: 7, Text: "world."}, meta),
		src.New(event.TextCompleted{Text: "Hello, world."}, meta),
		src.New(event.ToolCallRequested{CallID: "c1", Name: "clock", Arguments: json.RawMessage(`{"tz":"UTC"}`)}, meta),
		src.New(event.ProviderCallCompleted{Provider: "openai", Model: "gpt-x", Duration: 850 * time.Millisecond,
			Usage: event.Usage{InputTokens: 42, OutputTokens: 7}, Cost: 0.00123}, meta),
	}
}

func ExampleText() {
	p, err := printer.Text(os.Stdout)
	if err != nil {
		panic(err)
	}
	for _, ev := range exampleEvents() {
		if err := p.Publish(context.Background(), &ev); err != nil {
			panic(err)
		}
	}
	// Output:
	// Hello, world.
	// tool.call.requested clock call_id=c1
	//   {
	//     "tz": "UTC"
	//   }
	// provider.call.completed openai/gpt-x duration=850ms input=42 output=7 cost=$0.0012
}

func ExampleWithMeta() {
	p, err := printer.Text(os.Stdout, printer.WithMeta(true))
	if err != nil {
		panic(err)
	}
	ev := exampleEvents()[3]
	ev.Seq = 4
	if err := p.Publish(context.Background(), &ev); err != nil {
		panic(err)
	}
	// Output:
	// [2025-01-02T03:04:05.004Z seq=4 id=00000000-0000-7000-8000-000000000004 session=s1] tool.call.requested clock call_id=c1
	//   {
	//     "tz": "UTC"
	//   }
}

func ExampleJSON() {
	p, err := printer.JSON(os.Stdout)
	if err != nil {
		panic(err)
	}
	for _, ev := range exampleEvents()[:2] {
		if err := p.Publish(context.Background(), &ev); err != nil {
			panic(err)
		}
	}
	// Output:
	// {"id":"00000000-0000-7000-8000-000000000001","type":"message.text.delta","time":"2025-01-02T03:04:05.001Z","meta":{"session":"s1"},"payload":{"text":"Hello, "}}
	// {"id":"00000000-0000-7000-8000-000000000002","type":"message.text.delta","time":"2025-01-02T03:04:05.002Z","meta":{"session":"s1"},"payload":{"offset":7,"text":"world."}}
}

func ExampleYAML() {
	p, err := printer.YAML(os.Stdout, printer.WithMeta(false))
	if err != nil {
		panic(err)
	}
	for _, ev := range exampleEvents()[3:5] {
		if err := p.Publish(context.Background(), &ev); err != nil {
			panic(err)
		}
	}
	// Output:
	// ---
	// id: 00000000-0000-7000-8000-000000000004
	// type: tool.call.requested
	// time: "2025-01-02T03:04:05.004Z"
	// payload:
	//   call_id: c1
	//   name: clock
	//   arguments:
	//     tz: UTC
	// ---
	// id: 00000000-0000-7000-8000-000000000005
	// type: provider.call.completed
	// time: "2025-01-02T03:04:05.005Z"
	// payload:
	//   provider: openai
	//   model: gpt-x
	//   duration_ns: 850000000
	//   usage:
	//     input_tokens: 42
	//     output_tokens: 7
	//   cost: 0.00123
}
