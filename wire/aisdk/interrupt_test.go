package aisdk_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/wire/aisdk"
)

// TestInterruptIsCarried: the UI message stream has no interrupt outcome,
// so a run that ends waiting for a person (run.interrupted) sends its
// interrupts as a data part and then finishes.
func TestInterruptIsCarried(t *testing.T) {
	m := event.Meta{SessionID: "s", RunID: "r"}
	enc := aisdk.New()
	var got []string
	for i, p := range []event.Payload{
		event.RunStarted{},
		event.RunInterrupted{Interrupts: []event.Interrupt{{ID: "approve", Reason: "approval"}}},
	} {
		ev := event.New(p, m)
		ev.Seq = uint64(i + 1)
		native, _ := ev.AppendJSON(nil)
		msgs, err := enc.Encode(nil, &ev, native)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range msgs {
			if string(msg.Data) == "[DONE]" {
				got = append(got, "[DONE]")
				continue
			}
			var v struct {
				Type string
				Data struct{ Payload json.RawMessage }
			}
			json.Unmarshal(msg.Data, &v)
			got = append(got, strings.TrimSpace(v.Type+" "+string(v.Data.Payload)))
		}
	}
	want := `start|data-run.interrupted {"interrupts":[{"id":"approve","reason":"approval"}]}|finish|[DONE]`
	if strings.Join(got, "|") != want || !enc.Finished() {
		t.Fatalf("got %q\nwant %q (finished %v)", strings.Join(got, "|"), want, enc.Finished())
	}
}
