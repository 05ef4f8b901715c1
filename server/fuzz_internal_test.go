package server

import (
	"testing"

	"github.com/sluice-events/sluice/event"
)

// FuzzParseEvents: the ingest body parser never panics; it either returns
// decoded events (at most max) or an error with a 4xx status that names
// the bad event when it can; accepted events re-encode.
func FuzzParseEvents(f *testing.F) {
	for _, s := range []string{
		`{"type":"message.text.delta","meta":{"session":"s"},"payload":{"text":"a"}}`,
		`[{"type":"message.text.delta","payload":{"text":"a"}},{"type":"x.y","payload":{"any":[1,2]}}]`,
		"{\"type\":\"a.b\",\"payload\":{}}\n{\"type\":\"a.c\",\"payload\":{}}\r\n",
		`[`, `[1]`, `{"type":3}`, "\xEF\xBB\xBF{}", ` `, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, aerr := parseEvents(body, 50)
		if aerr != nil {
			if aerr.Status < 400 || aerr.Status >= 500 || aerr.Code == "" || aerr.Message == "" {
				t.Fatalf("bad error %+v", aerr)
			}
			return
		}
		if len(events) == 0 || len(events) > 50 {
			t.Fatalf("%d events", len(events))
		}
		for i := range events {
			if _, err := events[i].AppendJSON(nil); err != nil {
				var ev event.Event
				_ = ev
				t.Fatalf("event %d does not encode: %v", i, err)
			}
		}
	})
}

// FuzzParseKey: key specs never panic, and accepted keys have a name, a
// secret of 8 bytes or more and a scope.
func FuzzParseKey(f *testing.F) {
	f.Add("ui:s3cret-xx:read:acme-")
	f.Add("a:b:c")
	f.Fuzz(func(t *testing.T, spec string) {
		k, err := ParseKey(spec)
		if err == nil && (k.Name == "" || len(k.Secret) < 8 || len(k.Scopes) == 0) {
			t.Fatalf("accepted %+v", k)
		}
	})
}
