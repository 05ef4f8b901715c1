package cloudevents_test

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/wire/cloudevents"
)

// An event as a structured CloudEvent, and back.
func Example() {
	ev := event.New(event.TextDelta{Text: "Hi"}, event.Meta{SessionID: "s1", RunID: "r1"})
	ev.ID = uuid.MustParse("01936d3c-0000-7000-8000-000000000001")
	ev.Time = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	ev.Seq = 7
	b, _ := cloudevents.Append(nil, &ev)
	fmt.Println(string(b))
	back, _ := cloudevents.Decode(b)
	fmt.Println(back.Type, back.Meta.RunID, back.Payload.(event.TextDelta).Text)
	// Output:
	// {"specversion":"1.0","id":"01936d3c-0000-7000-8000-000000000001","source":"/sluice/sessions/s1","type":"message.text.delta","time":"2026-12-01T12:00:00Z","subject":"s1","datacontenttype":"application/json","sequence":"7","runid":"r1","data":{"text":"Hi"}}
	// message.text.delta r1 Hi
}
