// Package jsonvalue turns values that instrumented code hands over (tool
// arguments and results, chain inputs, framework payloads) into the
// json.RawMessage fields of events, leaving out what does not encode: an
// event is never refused for a payload it could only describe.
package jsonvalue

import "encoding/json"

// Of returns v as JSON: a json.RawMessage as it is (nil if it is not
// valid JSON), anything else encoded with encoding/json, nil if v is nil
// or does not encode.
func Of(v any) json.RawMessage {
	switch v := v.(type) {
	case nil:
		return nil
	case json.RawMessage:
		if len(v) == 0 || !json.Valid(v) {
			return nil
		}
		return v
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

// Text returns s as JSON: s itself if it is JSON (a tool's JSON output),
// else s as a JSON string; nil for "".
func Text(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}
