package page

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// Decoder turns stored JSON back into events. Create it with NewDecoder;
// it is safe for concurrent use.
type Decoder struct {
	log    *slog.Logger
	name   string
	logged sync.Map // event.Type → struct{}: fallbacks already logged
}

// NewDecoder returns a decoder that logs to log; name is the store's name
// in the log ("sqlite").
func NewDecoder(log *slog.Logger, name string) *Decoder {
	if log == nil {
		log = slog.Default()
	}
	return &Decoder{log: log, name: name}
}

// fallbackType is a type name that no payload can be registered under
// (Register refuses it), so that the fallback decodes the envelope with a
// Raw payload.
const fallbackType = `"!undecodable"`

// Decode decodes one stored event and sets its Seq. An event whose payload
// does not decode as its registered type (a custom type whose Go struct
// changed shape, or a Raw payload stored under a registered name) comes
// back with an event.Raw payload of the same name holding the stored
// payload JSON byte for byte; the first such event of each type is logged.
// Only data that is not an event at all fails, with an error wrapping
// store.ErrCorrupt that names seq and pos.
func (d *Decoder) Decode(data []byte, seq, pos uint64) (event.Event, error) {
	var ev event.Event
	if err := event.Unmarshal(data, &ev); err != nil {
		var ferr error
		if ev, ferr = fallback(data); ferr != nil {
			return event.Event{}, fmt.Errorf("%w: event seq %d at position %d: %w", store.ErrCorrupt, seq, pos, err)
		}
		if _, seen := d.logged.LoadOrStore(ev.Type, struct{}{}); !seen {
			d.log.Warn("store: a stored payload does not decode as its registered type; it is read as event.Raw (logged once per type)",
				"store", d.name, "type", string(ev.Type), "seq", seq, "pos", pos, "err", err)
		}
	}
	ev.Seq = seq
	return ev, nil
}

// fallback decodes the event in data with its payload kept as JSON.
func fallback(data []byte) (event.Event, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return event.Event{}, err
	}
	payload, ok := m["payload"]
	var name string
	if !ok || json.Unmarshal(m["type"], &name) != nil || name == "" {
		return event.Event{}, errors.New("no type or payload")
	}
	m["type"], m["payload"] = json.RawMessage(fallbackType), json.RawMessage("0")
	env, err := json.Marshal(m)
	if err != nil {
		return event.Event{}, err
	}
	var ev event.Event
	if err := event.Unmarshal(env, &ev); err != nil {
		return event.Event{}, err // the envelope itself is damaged
	}
	// json.RawMessage.UnmarshalJSON copied the payload out of data.
	ev.Type = event.Type(name)
	ev.Payload = event.Raw{Name: ev.Type, Data: payload}
	return ev, nil
}
