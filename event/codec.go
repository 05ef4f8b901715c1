package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ErrMalformed reports JSON that is not a well-formed event: a syntax error,
// a field of the wrong JSON type, or a payload that does not fit its type.
var ErrMalformed = errors.New("malformed event")

// Raw is the payload of an event whose type this process does not know. It
// keeps the payload's JSON in compact form: the white space between tokens
// is dropped and invalid UTF-8 inside strings becomes \ufffd (as in the
// strings of every other payload); numbers, escapes and the order of
// members are kept byte for byte. So a relay never loses what it does not
// understand, every encoded event is valid JSON on one line, and a compact
// payload encodes back to the same bytes.
type Raw struct {
	// Name is the event type.
	Name Type
	// Data is the payload's JSON text. Decoding gives its compact form;
	// encoding writes the compact form of whatever it holds, and fails if
	// it is not exactly one JSON value.
	Data json.RawMessage
}

// EventType implements Payload.
func (r Raw) EventType() Type { return r.Name }

// fastAppender is implemented by the hot payload types, which encode without
// reflection.
type fastAppender interface {
	appendJSON(b []byte) []byte
}

// Marshal returns the JSON encoding of ev (see docs/wire.md).
func Marshal(ev Event) ([]byte, error) {
	return ev.AppendJSON(make([]byte, 0, 256))
}

// MarshalJSON implements json.Marshaler.
func (e Event) MarshalJSON() ([]byte, error) { return Marshal(e) }

// AppendJSON appends the JSON encoding of e to b and returns the extended
// buffer. Reusing the buffer makes encoding of the hot event types
// allocation-free. On error b is returned unchanged.
func (e *Event) AppendJSON(b []byte) ([]byte, error) {
	if e.Payload == nil {
		return b, fmt.Errorf("%w: event %q has no payload", ErrInvalid, e.Type)
	}
	start := len(b)
	b = append(b, '{')
	if e.ID != (uuid.UUID{}) {
		b = appendKey(b, "id")
		b = appendUUID(b, e.ID)
	}
	b = appendStringField(b, "type", string(e.Type))
	if !e.Time.IsZero() {
		if y := e.Time.UTC().Year(); y < 0 || y > 9999 {
			return b[:start], fmt.Errorf("%w: %w: year %d is outside 0 to 9999", ErrInvalid, ErrInvalidTime, y)
		}
		b = appendKey(b, "time")
		b = append(b, '"')
		b = e.Time.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if e.Seq != 0 {
		b = strconv.AppendUint(appendKey(b, "seq"), e.Seq, 10)
	}
	if !e.Meta.IsZero() {
		b = appendKey(b, "meta")
		b = e.Meta.appendJSON(b)
	}
	b = appendKey(b, "payload")
	switch p := e.Payload.(type) {
	case fastAppender:
		b = p.appendJSON(b)
	case Raw:
		if compactValid(p.Data) {
			b = append(b, p.Data...)
			break
		}
		var err error
		if b, err = appendCompact(b, string(p.Data)); err != nil {
			return b[:start], fmt.Errorf("%w: raw payload of %q is not valid JSON: %w", ErrInvalid, e.Type, err)
		}
	default:
		var err error
		if b, err = appendReflect(b, p); err != nil {
			return b[:start], fmt.Errorf("encode payload of %q: %w", e.Type, err)
		}
	}
	return append(b, '}'), nil
}

// encoders pools encoding/json encoders for the payloads without a fast
// path. HTML escaping is off so that strings and raw JSON fields keep their
// bytes exactly.
var encoders = sync.Pool{New: func() any {
	e := &pooledEncoder{}
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

type pooledEncoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

func appendReflect(b []byte, p Payload) ([]byte, error) {
	e := encoders.Get().(*pooledEncoder)
	defer encoders.Put(e)
	e.buf.Reset()
	if err := e.enc.Encode(p); err != nil {
		return b, err
	}
	out := bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'})
	if !utf8.Valid(out) {
		// A json.RawMessage field holds invalid UTF-8, which encoding/json
		// passes on: repair it as strings are repaired.
		return appendCompact(b, string(out))
	}
	return append(b, out...), nil
}

func appendUUID(b []byte, u uuid.UUID) []byte {
	var buf [38]byte
	buf[0] = '"'
	j := 1
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			buf[j] = '-'
			j++
		}
		buf[j], buf[j+1] = hexDigits[c>>4], hexDigits[c&0xF]
		j += 2
	}
	buf[37] = '"'
	return append(b, buf[:]...)
}

func (m *Meta) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStringField(b, "run", m.RunID)
	b = appendStringField(b, "session", m.SessionID)
	b = appendStringField(b, "conversation", m.ConversationID)
	b = appendStringField(b, "turn", m.TurnID)
	b = appendStringField(b, "inference", m.InferenceID)
	b = appendStringField(b, "message", m.MessageID)
	b = appendStringField(b, "tool_call", m.ToolCallID)
	b = appendStringField(b, "request", m.RequestID)
	b = appendStringField(b, "parent", m.ParentID)
	b = appendStringField(b, "provider", m.Provider)
	b = appendStringField(b, "model", m.Model)
	if len(m.Labels) > 0 {
		b = appendKey(b, "labels")
		b = append(b, '{')
		var arr [16]string
		keys := arr[:0]
		for k := range m.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, m.Labels[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// Unmarshal decodes one JSON event into ev. A payload of a registered type
// decodes to that type; any other payload decodes to Raw. Every error wraps
// ErrMalformed. Unmarshal does not validate; call Validate for that.
func Unmarshal(data []byte, ev *Event) error {
	// One copy of the input backs every string of the event.
	r := reader{s: string(data)}
	if err := ev.decode(&r, data); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (e *Event) UnmarshalJSON(data []byte) error { return Unmarshal(data, e) }

func (e *Event) decode(r *reader, data []byte) error {
	*e = Event{}
	pStart, pEnd := -1, -1
	if err := r.openObject(); err != nil {
		return err
	}
	for first := true; ; {
		key, ok, err := r.member(&first)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch key {
		case "id":
			s, err := r.str()
			if err != nil {
				return fmt.Errorf("id: %w", err)
			}
			if e.ID, err = uuid.Parse(s); err != nil {
				return fmt.Errorf("id %q: %w", s, err)
			}
		case "type":
			s, err := r.str()
			if err != nil {
				return fmt.Errorf("type: %w", err)
			}
			e.Type = Type(s)
		case "time":
			s, err := r.str()
			if err != nil {
				return fmt.Errorf("time: %w", err)
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return fmt.Errorf("time: %w", err)
			}
			e.Time = t.UTC()
		case "seq":
			if e.Seq, err = r.uint(); err != nil {
				return fmt.Errorf("seq: %w", err)
			}
		case "meta":
			// Meta gets its own copy of its bytes, so that a consumer that
			// keeps a session ID does not keep the whole payload alive.
			r.ws()
			start := r.pos
			if err := r.skipValue(0); err != nil {
				return fmt.Errorf("meta: %w", err)
			}
			mr := reader{s: strings.Clone(r.s[start:r.pos])}
			if err := e.Meta.decode(&mr); err != nil {
				return fmt.Errorf("meta: %w", err)
			}
		case "payload":
			r.ws()
			pStart = r.pos
			if err := r.skipValue(0); err != nil {
				return fmt.Errorf("payload: %w", err)
			}
			pEnd = r.pos
		default:
			if _, err := r.skip(); err != nil {
				return err
			}
		}
	}
	if err := r.end(); err != nil {
		return err
	}
	if e.Type == "" {
		return errors.New("missing type")
	}
	if pStart < 0 {
		return fmt.Errorf("event %q: missing payload", e.Type)
	}
	info, known := reg.Load().byName[e.Type]
	if known {
		e.Type = info.Type // the registered constant, not a piece of the input
	} else {
		e.Type = Type(strings.Clone(string(e.Type)))
	}
	if known && data[pStart] == 'n' {
		return fmt.Errorf("event %q: payload is null", e.Type)
	}
	if !known {
		// The payload was checked by skipValue; compacting cannot fail.
		raw, err := appendCompact(make([]byte, 0, pEnd-pStart), r.s[pStart:pEnd])
		if err != nil {
			return fmt.Errorf("payload of %q: %w", e.Type, err)
		}
		e.Payload = Raw{Name: e.Type, Data: raw}
		return nil
	}
	sub := reader{s: r.s[:pEnd], pos: pStart}
	p, err := info.decode(&sub, data[pStart:pEnd])
	if err != nil {
		return fmt.Errorf("payload of %q: %w", e.Type, err)
	}
	e.Payload = p
	return nil
}

func (m *Meta) decode(r *reader) error {
	if r.null() {
		return nil
	}
	if err := r.openObject(); err != nil {
		return err
	}
	for first := true; ; {
		key, ok, err := r.member(&first)
		if err != nil || !ok {
			return err
		}
		var dst *string
		switch key {
		case "run":
			dst = &m.RunID
		case "session":
			dst = &m.SessionID
		case "conversation":
			dst = &m.ConversationID
		case "turn":
			dst = &m.TurnID
		case "inference":
			dst = &m.InferenceID
		case "message":
			dst = &m.MessageID
		case "tool_call":
			dst = &m.ToolCallID
		case "request":
			dst = &m.RequestID
		case "parent":
			dst = &m.ParentID
		case "provider":
			dst = &m.Provider
		case "model":
			dst = &m.Model
		case "labels":
			if err := m.decodeLabels(r); err != nil {
				return fmt.Errorf("labels: %w", err)
			}
			continue
		default:
			if _, err := r.skip(); err != nil {
				return err
			}
			continue
		}
		if *dst, err = r.str(); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
}

func (m *Meta) decodeLabels(r *reader) error {
	if r.null() {
		return nil
	}
	if err := r.openObject(); err != nil {
		return err
	}
	for first := true; ; {
		key, ok, err := r.member(&first)
		if err != nil || !ok {
			return err
		}
		v, err := r.str()
		if err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
		if m.Labels == nil {
			m.Labels = make(map[string]string, 4)
		}
		m.Labels[key] = v
	}
}
