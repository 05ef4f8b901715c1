package otlp_test

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sluice-events/sluice/telemetry/otlp"
)

// FuzzDecode feeds bodies to the decoder and the conversion, as protobuf
// and as JSON: they must return events or an error wrapping one of the
// package's sentinels, never panic, and every event must be valid.
func FuzzDecode(f *testing.F) {
	req, err := otlp.Decode(otlp.ContentTypeJSON, []byte(jsonBody))
	if err != nil {
		f.Fatal(err)
	}
	pb, err := proto.Marshal(req)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(pb, false)
	f.Add([]byte(jsonBody), true)
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"","spanId":""}]}]}]}`), true)
	f.Add([]byte{0x0a, 0x02, 0x12, 0x00}, false)
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		ct := otlp.ContentTypeProtobuf
		if asJSON {
			ct = otlp.ContentTypeJSON
		}
		req, err := otlp.Decode(ct, body)
		if err != nil {
			if !errors.Is(err, otlp.ErrDecode) {
				t.Fatalf("Decode error %v does not wrap ErrDecode", err)
			}
			return
		}
		events, err := otlp.Events(req)
		if err != nil {
			if !errors.Is(err, otlp.ErrInvalidSpan) || events != nil {
				t.Fatalf("Events = %d events, %v", len(events), err)
			}
			return
		}
		for _, ev := range events {
			if err := ev.Validate(); err != nil && ev.Meta.SessionID != "" && len(ev.Meta.SessionID) < 256 {
				t.Fatalf("invalid %s event: %v", ev.Type, err)
			}
		}
	})
}
