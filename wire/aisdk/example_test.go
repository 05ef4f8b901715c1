package aisdk_test

import (
	"fmt"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/wire/aisdk"
)

// Encode a short run as a UI message stream: the encoder reports the end
// of the stream after the run's finish and [DONE].
func Example() {
	m := event.Meta{SessionID: "s1", RunID: "r1", MessageID: "m1"}
	enc := aisdk.New()
	for i, p := range []event.Payload{
		event.ProviderCallStarted{Provider: "openai", Model: "gpt-4.1"},
		event.TextDelta{Text: "Hi"},
		event.MessageStopped{StopReason: "stop"},
		event.ProviderCallCompleted{Provider: "openai", Model: "gpt-4.1", FinishReason: "stop"},
		event.RunCompleted{},
	} {
		ev := event.New(p, m)
		ev.Seq = uint64(i + 1)
		native, _ := ev.AppendJSON(nil)
		msgs, _ := enc.Encode(nil, &ev, native)
		for _, msg := range msgs {
			fmt.Println(string(msg.Data))
		}
	}
	fmt.Println("finished:", enc.Finished())
	// Output:
	// {"messageId":"r1","type":"start"}
	// {"type":"start-step"}
	// {"id":"m1/text/0","type":"text-start"}
	// {"type":"text-delta","id":"m1/text/0","delta":"Hi"}
	// {"id":"m1/text/0","type":"text-end"}
	// {"type":"finish-step"}
	// {"finishReason":"stop","type":"finish"}
	// [DONE]
	// finished: true
}
