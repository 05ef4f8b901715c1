package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/sluice-events/sluice/event"
)

// FuzzUnmarshal feeds arbitrary bytes to the decoder. It must never panic;
// what it rejects must wrap ErrMalformed; what it accepts must encode to
// valid JSON (valid UTF-8) on one line, and decode again to the same event,
// which encodes to the same bytes: decoding is stable after one pass, also
// for payloads of unknown types.
func FuzzUnmarshal(f *testing.F) {
	seeds := []string{
		`{"id":"0193a5b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b","type":"message.text.delta","time":"2026-11-21T10:00:00.123456789Z","seq":4812,"meta":{"run":"r","session":"s","labels":{"a":"b"}},"payload":{"index":1,"offset":5,"text":"h\u00e9llo \"q\" \ud83d\ude00"}}`,
		`{"type":"tool.call.delta","payload":{"call_id":"c","index":2,"offset":3,"delta":"{\"a\""}}`,
		`{"type":"provider.call.completed","payload":{"provider":"p","model":"m","usage":{"input_tokens":12,"cumulative":true},"cost":0.25}}`,
		`{"type":"otherapp.x","payload":[1,{"a":null},"s"]}`,
		`{"type":"stream.error","payload":{"error":{"message":"overloaded","code":"529","retryable":true}}}`,
		`{"type":"message.text.delta","payload":{"text":"x","index":1e3}}`,
		`{"type":"message.text.delta","payload":null}`,
		`{"type":"x","payload":{}} trailing`,
		`[`, `{"type":"a.b","payload":{"k":[[[[[[]]]]]]}}`, `"\ud800"`, `{"type":"a.b","payload":"\u00"}`,
		"{\"type\":\"otherapp.x\",\"payload\":{\r\n \"a\" :\t[1 ,2],\n\"b\":\"\xff\\u00e9\xc3\"}\r\n}",
		"{\"type\":\"agent.log\",\"payload\":{\"message\":\"m\",\"fields\":{\"a\":\"\xed\xa0\x80\"}}}",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev event.Event
		err := event.Unmarshal(data, &ev)
		if err != nil {
			if !errors.Is(err, event.ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		_ = ev.Validate()
		out, err := event.Marshal(ev)
		if err != nil {
			t.Fatalf("accepted event does not encode: %v\ninput: %q", err, data)
		}
		if !json.Valid(out) || !utf8.Valid(out) || bytes.ContainsAny(out, "\r\n") {
			t.Fatalf("encoding is not valid JSON on one line: %q\ninput: %q", out, data)
		}
		var back event.Event
		if err := event.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-encoded event does not decode: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(ev, back) {
			t.Fatalf("decode/encode/decode changed the event\n%#v\n%#v\n%s", ev, back, out)
		}
		again, err := event.Marshal(back)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("re-encoding is not stable (%v)\n%q\n%q", err, out, again)
		}
	})
}
