package agui_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/wire/agui"
)

// Encode a short streamed answer as AG-UI events.
func Example() {
	m := event.Meta{SessionID: "s1", RunID: "r1", MessageID: "m1"}
	enc := agui.New()
	for i, p := range []event.Payload{
		event.MessageStarted{ID: "m1", Role: "assistant"},
		event.TextDelta{Text: "Hello"},
		event.MessageStopped{ID: "m1", StopReason: "end_turn"},
		event.RunCompleted{},
	} {
		ev := event.New(p, m)
		ev.Seq = uint64(i + 1)
		native, _ := ev.AppendJSON(nil)
		msgs, _ := enc.Encode(nil, &ev, native)
		for _, msg := range msgs {
			var v struct{ Type, MessageID, Delta string }
			json.Unmarshal(msg.Data, &v)
			fmt.Println(strings.TrimSpace(v.Type + " " + v.MessageID + " " + v.Delta))
		}
	}
	// Output:
	// RUN_STARTED
	// TEXT_MESSAGE_START m1
	// TEXT_MESSAGE_CONTENT m1 Hello
	// TEXT_MESSAGE_END m1
	// RUN_FINISHED
}
