// Package event defines the data that flows through Sluice: the Event
// envelope with its correlation metadata, the catalog of typed payloads, the
// registry for custom payload types, and a lossless JSON codec.
//
// Every step of an AI run is one Event: its Type names what happened
// ("message.text.delta", "tool.call.completed", …) and its Payload is a typed
// Go value that says the details. Payloads are plain structs; create events
// with New and read them back with a type switch or As:
//
//	ev := event.New(event.TextDelta{Text: "Hel"})
//	if d, ok := event.As[event.TextDelta](ev); ok {
//		fmt.Print(d.Text)
//	}
//
// This package imports nothing else of Sluice.
package event

import (
	"maps"
	"time"

	"github.com/google/uuid"
)

// Type names an event type: lowercase dotted segments such as
// "provider.call.completed". Custom types are namespaced by their
// application ("myapp.progress").
type Type string

// Payload is the typed body of an event. Every catalog type and every
// registered custom type implements it; EventType reports the Type the
// payload belongs to.
type Payload interface {
	EventType() Type
}

// Event is the envelope every Sluice event travels in.
type Event struct {
	// ID identifies the event uniquely. It is a UUIDv7, so IDs made by one
	// process sort in creation order.
	ID uuid.UUID
	// Type names what happened; it equals Payload.EventType().
	Type Type
	// Time is when the event happened, in UTC.
	Time time.Time
	// Seq is the event's position in its session, assigned by the durable
	// log (1, 2, 3, … without gaps). It is 0 until the event is logged.
	Seq uint64
	// Meta correlates the event with the run, session, conversation and the
	// other scopes it belongs to.
	Meta Meta
	// Payload is the typed body. An event of a type this process does not
	// know carries a Raw payload.
	Payload Payload
}

// Meta is the correlation metadata of an event. Every field is optional.
type Meta struct {
	RunID          string // one run of an agent or pipeline
	SessionID      string // the session the event is logged and streamed under
	ConversationID string // the conversation, which may span sessions
	TurnID         string // one user turn: the request and everything it causes
	InferenceID    string // one call to a model
	MessageID      string // the message being produced or recorded
	ToolCallID     string // the tool call the event belongs to
	RequestID      string // the outside request (HTTP, RPC) that caused the event
	ParentID       string // the enclosing scope's ID (a turn, a message, a tool call)
	Provider       string // the model provider, such as "openai" or "anthropic"
	Model          string // the model name as the provider reports it
	// Labels are free-form key/value pairs for routing and filtering.
	Labels map[string]string
}

// IsZero reports whether m carries no metadata at all.
func (m *Meta) IsZero() bool {
	return m.RunID == "" && m.SessionID == "" && m.ConversationID == "" && m.TurnID == "" &&
		m.InferenceID == "" && m.MessageID == "" && m.ToolCallID == "" && m.RequestID == "" &&
		m.ParentID == "" && m.Provider == "" && m.Model == "" && len(m.Labels) == 0
}

// Clone returns a copy of m whose Labels map is not shared with m.
func (m Meta) Clone() Meta {
	if m.Labels != nil {
		m.Labels = maps.Clone(m.Labels)
	}
	return m
}

// Source makes events: it stamps each new event with an ID and a time. The
// zero Source uses NewID and the wall clock; tests replace either function to
// get deterministic IDs and times.
type Source struct {
	// NewID returns the ID of the next event. Nil means NewID.
	NewID func() uuid.UUID
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// New returns an event carrying p, stamped with an ID and the time by s.
func (s Source) New(p Payload, meta Meta) Event {
	id := s.NewID
	if id == nil {
		id = NewID
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	var t Type
	if p != nil {
		t = p.EventType()
	}
	return Event{ID: id(), Type: t, Time: now().UTC().Round(0), Meta: meta, Payload: p}
}

// New returns an event carrying p with a fresh ID, the current time and the
// given metadata (at most one Meta is used).
func New(p Payload, meta ...Meta) Event {
	var m Meta
	if len(meta) > 0 {
		m = meta[0]
	}
	return Source{}.New(p, m)
}

// As returns the payload of ev as a T, and whether it is one.
func As[T Payload](ev Event) (T, bool) {
	p, ok := ev.Payload.(T)
	return p, ok
}
