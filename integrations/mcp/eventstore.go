package sluicemcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/option"
	"github.com/sluice-events/sluice/store"
)

// StreamMessage is the payload of the events an EventStore logs: one
// message written to an MCP stream, a JSON-RPC message as the SDK encoded
// it. Its position in the stream is its event's sequence number minus one.
type StreamMessage struct {
	Data json.RawMessage `json:"data" doc:"the JSON-RPC message"`
}

// EventType implements event.Payload.
func (StreamMessage) EventType() event.Type { return TypeStreamMessage }

// SessionSaved is the payload of the event a Handler logs once an MCP
// session is initialized: what it needs to take the session up again.
type SessionSaved struct {
	Initialize      json.RawMessage `json:"initialize" doc:"the client's initialize parameters"`
	ProtocolVersion string          `json:"protocol_version,omitempty" doc:"the negotiated protocol version"`
}

// EventType implements event.Payload.
func (SessionSaved) EventType() event.Type { return TypeSessionSaved }

// SessionEnded is the payload of the event an EventStore logs when the SDK
// closes a session for good (the client deleted it, or it timed out).
type SessionEnded struct{}

// EventType implements event.Payload.
func (SessionEnded) EventType() event.Type { return TypeSessionEnded }

// The event types of this package.
const (
	TypeStreamMessage event.Type = "mcp.stream.message"
	TypeSessionSaved  event.Type = "mcp.session.saved"
	TypeSessionEnded  event.Type = "mcp.session.ended"
)

func init() {
	event.MustRegister[StreamMessage]("A message written to a stream of an MCP streamable-HTTP session, kept for replay.",
		event.Emitted("by sluicemcp.EventStore for each message an MCP server writes to a stream"))
	event.MustRegister[SessionSaved]("An MCP session is initialized; what is needed to take it up after a restart.",
		event.Emitted("by sluicemcp.Handler once a session is initialized"))
	event.MustRegister[SessionEnded]("An MCP session is closed for good.",
		event.Emitted("by sluicemcp.EventStore when the MCP SDK closes a session"))
}

// EventStore is an mcp.EventStore over a Sluice durable log: the messages
// of each stream of each session are the events of one log session, named
// Prefix + sessionID + "/" + streamID, so they are stored, retained and
// read like any other events (and survive the process with a durable
// store). Session records (SessionSaved, SessionEnded) are logged in the
// log session Prefix + sessionID.
//
// The log's retention applies: After reports mcp.ErrEventsPurged when a
// message after the index it is asked for was removed. It is safe for
// concurrent use, as the SDK requires.
type EventStore struct {
	log    store.Store
	prefix string
}

var _ mcp.EventStore = (*EventStore)(nil)

// StoreOption configures an EventStore.
type StoreOption func(*storeConfig) error

type storeConfig struct {
	prefix string
}

// WithPrefix sets the prefix of the log sessions an EventStore writes
// (default "mcp/"). It must not be empty.
func WithPrefix(p string) StoreOption {
	return func(c *storeConfig) error {
		if p == "" {
			return fmt.Errorf("%w: empty prefix", ErrInvalid)
		}
		c.prefix = p
		return nil
	}
}

// NewEventStore returns an EventStore over log. A nil log or an invalid
// option is an error wrapping ErrInvalid. The EventStore does not close
// the log.
func NewEventStore(log store.Store, opts ...StoreOption) (*EventStore, error) {
	if log == nil {
		return nil, fmt.Errorf("sluicemcp: new event store: %w: nil log", ErrInvalid)
	}
	c := storeConfig{prefix: "mcp/"}
	if err := option.Apply(&c, opts, ErrInvalid); err != nil {
		return nil, fmt.Errorf("sluicemcp: new event store: %w", err)
	}
	return &EventStore{log: log, prefix: c.prefix}, nil
}

func (s *EventStore) streamLog(sessionID, streamID string) string {
	return s.prefix + sessionID + "/" + streamID
}

func (s *EventStore) sessionLog(sessionID string) string { return s.prefix + sessionID }

// check refuses IDs that would make log sessions of another session.
func check(sessionID string) error {
	if sessionID == "" || strings.Contains(sessionID, "/") {
		return fmt.Errorf("%w: session ID %q", ErrInvalid, sessionID)
	}
	return nil
}

// streamName returns the log session of a stream, or an error wrapping
// ErrInvalid (and the log's own store.ErrInvalid) for IDs the log refuses.
func (s *EventStore) streamName(sessionID, streamID string) (string, error) {
	if err := check(sessionID); err != nil {
		return "", err
	}
	name := s.streamLog(sessionID, streamID)
	if err := store.CheckSessionID(name); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return name, nil
}

// Open implements mcp.EventStore. A stream's log session comes into being
// with its first message, so Open only checks the IDs.
func (s *EventStore) Open(_ context.Context, sessionID, streamID string) error {
	if _, err := s.streamName(sessionID, streamID); err != nil {
		return fmt.Errorf("sluicemcp: open: %w", err)
	}
	return nil
}

// Append implements mcp.EventStore: it logs data as the stream's next
// message. data must be JSON, as every MCP message is.
func (s *EventStore) Append(ctx context.Context, sessionID, streamID string, data []byte) error {
	name, err := s.streamName(sessionID, streamID)
	if err != nil {
		return fmt.Errorf("sluicemcp: append: %w", err)
	}
	if !json.Valid(data) {
		return fmt.Errorf("sluicemcp: append: %w: message is not JSON", ErrInvalid)
	}
	ev := event.Source{}.New(StreamMessage{Data: data}, event.Meta{SessionID: name})
	if err := s.log.Append(ctx, []event.Event{ev}); err != nil {
		return fmt.Errorf("sluicemcp: append: %w", err)
	}
	return nil
}

// After implements mcp.EventStore: the stream's messages after index (the
// SDK numbers them from 0), or mcp.ErrEventsPurged, at once, if retention
// removed any of them.
func (s *EventStore) After(ctx context.Context, sessionID, streamID string, index int) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		name, err := s.streamName(sessionID, streamID)
		if err != nil {
			yield(nil, fmt.Errorf("sluicemcp: after: %w", err))
			return
		}
		if index < -1 {
			yield(nil, fmt.Errorf("sluicemcp: after: %w: index %d", ErrInvalid, index))
			return
		}
		next := uint64(index) + 2 // the sequence number of the first message wanted
		info, err := s.log.Session(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return // a stream without messages
		case err != nil:
			yield(nil, fmt.Errorf("sluicemcp: after: %w", err))
			return
		}
		if next <= info.LastSeq && info.LastSeq-info.Count+1 > next {
			yield(nil, fmt.Errorf("sluicemcp: after: index %d of stream %q of session %q: %w", index, streamID, sessionID, mcp.ErrEventsPurged))
			return
		}
		for ev, err := range s.log.Read(ctx, store.Query{Session: name, After: next - 1}) {
			if err != nil {
				yield(nil, fmt.Errorf("sluicemcp: after: %w", err))
				return
			}
			m, ok := ev.Payload.(StreamMessage)
			if !ok {
				continue // not a message of this package
			}
			if !yield(m.Data, nil) {
				return
			}
		}
	}
}

// SessionClosed implements mcp.EventStore: it logs that the session ended,
// so that a Handler does not take it up again. The messages stay in the
// log until its retention removes them.
func (s *EventStore) SessionClosed(ctx context.Context, sessionID string) error {
	if err := check(sessionID); err != nil {
		return fmt.Errorf("sluicemcp: session closed: %w", err)
	}
	return s.record(ctx, sessionID, SessionEnded{})
}

func (s *EventStore) record(ctx context.Context, sessionID string, p event.Payload) error {
	ev := event.Source{}.New(p, event.Meta{SessionID: s.sessionLog(sessionID)})
	if err := s.log.Append(ctx, []event.Event{ev}); err != nil {
		return fmt.Errorf("sluicemcp: %w", err)
	}
	return nil
}

// session reads what the log knows of a session: its saved state, if any,
// and whether it ended.
func (s *EventStore) session(ctx context.Context, sessionID string) (saved *SessionSaved, ended bool, err error) {
	for ev, err := range s.log.Read(ctx, store.Query{Session: s.sessionLog(sessionID)}) {
		if err != nil {
			return nil, false, err
		}
		switch p := ev.Payload.(type) {
		case SessionSaved:
			saved = &p
		case SessionEnded:
			ended = true
		}
	}
	return saved, ended, nil
}
