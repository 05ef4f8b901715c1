package event_test

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/event"
)

// source stamps the examples' events with a fixed ID and time, so that
// their output does not change from run to run.
var source = event.Source{
	NewID: func() uuid.UUID { return uuid.MustParse("0190f1d2-6a4b-7c3d-8e5f-0a1b2c3d4e5f") },
	Now:   func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) },
}

// Build an event from a typed payload and the metadata that correlates it,
// check it, and read its payload back.
func Example() {
	ev := source.New(event.TextDelta{Text: "Hel"}, event.Meta{SessionID: "sess-1", MessageID: "msg-1"})
	if err := ev.Validate(); err != nil {
		panic(err)
	}
	fmt.Println(ev.Type, ev.Meta.SessionID)
	if d, ok := event.As[event.TextDelta](ev); ok {
		fmt.Printf("%q\n", d.Text)
	}
	// Output:
	// message.text.delta sess-1
	// "Hel"
}

// An event encodes to one JSON object, the wire format of every transport.
func ExampleMarshal() {
	ev := source.New(event.ToolCallStarted{CallID: "call-1", Name: "search"}, event.Meta{SessionID: "sess-1"})
	data, err := event.Marshal(ev)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(data))
	// Output:
	// {"id":"0190f1d2-6a4b-7c3d-8e5f-0a1b2c3d4e5f","type":"tool.call.started","time":"2026-03-01T12:00:00Z","meta":{"session":"sess-1"},"payload":{"call_id":"call-1","name":"search"}}
}

// Decoding gives back an equal event, with its payload typed.
func ExampleUnmarshal() {
	data := []byte(`{"id":"0190f1d2-6a4b-7c3d-8e5f-0a1b2c3d4e5f","type":"tool.call.started","time":"2026-03-01T12:00:00Z","seq":7,"meta":{"session":"sess-1"},"payload":{"call_id":"call-1","name":"search"}}`)
	var ev event.Event
	if err := event.Unmarshal(data, &ev); err != nil {
		panic(err)
	}
	call, _ := event.As[event.ToolCallStarted](ev)
	fmt.Println(ev.Type, ev.Seq, ev.Meta.SessionID, call.Name)

	again, err := event.Marshal(ev)
	if err != nil {
		panic(err)
	}
	fmt.Println(bytes.Equal(again, data))

	err = event.Unmarshal([]byte(`{"type":`), &ev)
	fmt.Println(errors.Is(err, event.ErrMalformed))
	// Output:
	// tool.call.started 7 sess-1 search
	// true
	// true
}

// Progress is an application's own event type.
type Progress struct {
	Percent int    `json:"percent"`
	Step    string `json:"step,omitempty"`
}

// EventType implements event.Payload: the name is namespaced by the
// application.
func (Progress) EventType() event.Type { return "exampleapp.progress" }

// Register a custom payload type: events of its type then decode to it,
// instead of to a Raw payload.
func ExampleRegister() {
	if err := event.Register[Progress]("how far a long task is", event.Emitted("by the task, every few seconds")); err != nil {
		panic(err)
	}
	data, _ := event.Marshal(source.New(Progress{Percent: 40, Step: "indexing"}, event.Meta{}))
	fmt.Println(string(data))

	var ev event.Event
	if err := event.Unmarshal(data, &ev); err != nil {
		panic(err)
	}
	p, ok := event.As[Progress](ev)
	fmt.Println(ok, p.Percent, p.Step)

	err := event.Register[Progress]("again")
	fmt.Println(errors.Is(err, event.ErrDuplicate))
	// Output:
	// {"id":"0190f1d2-6a4b-7c3d-8e5f-0a1b2c3d4e5f","type":"exampleapp.progress","time":"2026-03-01T12:00:00Z","payload":{"percent":40,"step":"indexing"}}
	// true 40 indexing
	// true
}

// An event of a type this process does not know decodes to a Raw payload
// that keeps its JSON (numbers, escapes and member order as they were; only
// the white space between tokens goes), so a relay passes on what it does
// not understand without loss, and a compact event encodes to the same
// bytes.
func Example_unknownType() {
	data := []byte(`{"id":"0190f1d2-6a4b-7c3d-8e5f-0a1b2c3d4e5f","type":"otherapp.quota.changed","time":"2026-03-01T12:00:00Z","payload":{"left": 12, "unit":"req\/min","tiers":[1,2.50,1e3]}}`)
	var ev event.Event
	if err := event.Unmarshal(data, &ev); err != nil {
		panic(err)
	}
	raw, ok := event.As[event.Raw](ev)
	fmt.Println(ok, raw.Name, string(raw.Data))

	again, err := event.Marshal(ev)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(again))
	fmt.Println(bytes.Equal(again, bytes.Replace(data, []byte(`"left": 12, `), []byte(`"left":12,`), 1)))
	// Output:
	// true otherapp.quota.changed {"left":12,"unit":"req\/min","tiers":[1,2.50,1e3]}
	// {"id":"0190f1d2-6a4b-7c3d-8e5f-0a1b2c3d4e5f","type":"otherapp.quota.changed","time":"2026-03-01T12:00:00Z","payload":{"left":12,"unit":"req\/min","tiers":[1,2.50,1e3]}}
	// true
}
