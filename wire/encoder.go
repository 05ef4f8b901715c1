package wire

import "github.com/sluice-events/sluice/event"

// Message is one message of a wire format: its name (an SSE event: field;
// empty for none) and its data, one JSON value.
type Message struct {
	Name string
	Data []byte
}

// An Encoder turns events into the messages of one wire format. The server
// streams every format through one loop that takes an Encoder, over SSE,
// WebSocket and JSON-RPC alike; a new format is a new Encoder.
//
// An Encoder may keep state from one event to the next (formats that open
// and close messages do), so a stream uses one of its own, from one
// goroutine.
type Encoder interface {
	// Encode appends the messages for ev to out and returns the extended
	// slice; it may append none. native is ev's JSON in Sluice's own
	// format (as ev.AppendJSON makes it): data may point into it, or
	// into buffers the encoder owns, valid until the next call.
	Encode(out []Message, ev *event.Event, native []byte) ([]Message, error)
}

// Native is Sluice's own format: one message per event, named by the
// event's type, with the event's JSON as data.
type Native struct{}

// Encode implements Encoder.
func (Native) Encode(out []Message, ev *event.Event, native []byte) ([]Message, error) {
	return append(out, Message{Name: string(ev.Type), Data: native}), nil
}
