package event

import (
	"fmt"
	"strconv"
)

// The stream's delta events are the hottest payloads in the system: they are
// encoded and decoded here without reflection.

func appendDelta(b []byte, index int, offset int64, key, text string) []byte {
	b = append(b, '{')
	b = appendIntField(b, "index", int64(index))
	b = appendIntField(b, "offset", offset)
	b = appendString(appendKey(b, key), text)
	return append(b, '}')
}

func (d TextDelta) appendJSON(b []byte) []byte {
	return appendDelta(b, d.Index, d.Offset, "text", d.Text)
}

func (d ThinkingDelta) appendJSON(b []byte) []byte {
	return appendDelta(b, d.Index, d.Offset, "text", d.Text)
}

func (d ToolCallDelta) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendStringField(b, "call_id", d.CallID)
	b = appendStringField(b, "name", d.Name)
	b = appendIntField(b, "index", int64(d.Index))
	b = appendIntField(b, "offset", d.Offset)
	b = appendString(appendKey(b, "delta"), d.Delta)
	return append(b, '}')
}

// deltaFields decodes the members of a delta payload: index, offset and a
// text member (named textKey), plus call_id and name for tool deltas.
type deltaFields struct {
	index        int
	offset       int64
	text         string
	callID, name string
}

func (f *deltaFields) decode(r *reader, textKey string) error {
	if err := r.openObject(); err != nil {
		return err
	}
	for first := true; ; {
		key, ok, err := r.member(&first)
		if err != nil || !ok {
			return err
		}
		switch key {
		case "index":
			n, err := r.int()
			if err != nil {
				return fmt.Errorf("index: %w", err)
			}
			if int64(int(n)) != n {
				return fmt.Errorf("index: %s out of range", strconv.FormatInt(n, 10))
			}
			f.index = int(n)
		case "offset":
			if f.offset, err = r.int(); err != nil {
				return fmt.Errorf("offset: %w", err)
			}
		case textKey:
			if f.text, err = r.str(); err != nil {
				return fmt.Errorf("%s: %w", textKey, err)
			}
		case "call_id":
			if f.callID, err = r.str(); err != nil {
				return fmt.Errorf("call_id: %w", err)
			}
		case "name":
			if f.name, err = r.str(); err != nil {
				return fmt.Errorf("name: %w", err)
			}
		default:
			if _, err := r.skip(); err != nil {
				return err
			}
		}
	}
}

func decodeTextDelta(r *reader) (Payload, error) {
	var f deltaFields
	if err := f.decode(r, "text"); err != nil {
		return nil, err
	}
	return TextDelta{Index: f.index, Offset: f.offset, Text: f.text}, nil
}

func decodeThinkingDelta(r *reader) (Payload, error) {
	var f deltaFields
	if err := f.decode(r, "text"); err != nil {
		return nil, err
	}
	return ThinkingDelta{Index: f.index, Offset: f.offset, Text: f.text}, nil
}

func decodeToolCallDelta(r *reader) (Payload, error) {
	var f deltaFields
	if err := f.decode(r, "delta"); err != nil {
		return nil, err
	}
	return ToolCallDelta{CallID: f.callID, Name: f.name, Index: f.index, Offset: f.offset, Delta: f.text}, nil
}

// Validate implements Validator.
func (d TextDelta) Validate() error { return checkOffset(d.Offset, d.Index) }

// Validate implements Validator.
func (d ThinkingDelta) Validate() error { return checkOffset(d.Offset, d.Index) }

// Validate implements Validator.
func (d ToolCallDelta) Validate() error { return checkOffset(d.Offset, d.Index) }

func checkOffset(offset int64, index int) error {
	switch {
	case offset < 0:
		return fmt.Errorf("negative offset %d", offset)
	case index < 0:
		return fmt.Errorf("negative index %d", index)
	}
	return nil
}
