package timeline_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/timeline"
)

// Fold a streamed answer, a tool call and shared state into the
// conversation view, event by event.
func Example() {
	m := event.Meta{SessionID: "s1", RunID: "r1", MessageID: "m1"}
	events := []event.Payload{
		event.MessageCreated{Role: "user", Content: "Weather in Paris?"},
		event.MessageStarted{ID: "m1", Role: "assistant"},
		event.TextDelta{Text: "Let me "},
		event.TextDelta{Text: "check."},
		event.ToolCallDelta{CallID: "c1", Name: "get_weather", Delta: `{"city":`},
		event.ToolCallDelta{CallID: "c1", Delta: `"Paris"}`},
		event.MessageStopped{ID: "m1", StopReason: "tool_use"},
		event.ToolCallCompleted{CallID: "c1", Name: "get_weather", Result: json.RawMessage(`{"temp_c":18}`)},
		event.StateSnapshot{State: json.RawMessage(`{"city":"Paris"}`)},
		event.StateDelta{Patch: json.RawMessage(`[{"op":"add","path":"/temp_c","value":18}]`)},
	}
	tl := timeline.New("s1")
	for i, p := range events {
		meta := m
		if i == 0 {
			meta.MessageID = ""
		}
		ev := event.New(p, meta)
		ev.Seq = uint64(i + 1)
		tl.Apply(&ev)
	}
	for _, msg := range tl.Messages {
		fmt.Printf("%s: %s (%s)\n", msg.Role, msg.Text(), msg.Status)
	}
	tc := tl.ToolCall("c1")
	fmt.Println(tc.Name, tc.Arguments, tc.Status, string(tc.Result))
	fmt.Println("state", string(tl.State), "at seq", tl.Seq)
	// Output:
	// user: Weather in Paris? (done)
	// assistant: Let me check. (done)
	// get_weather {"city":"Paris"} completed {"temp_c":18}
	// state {"city":"Paris","temp_c":18} at seq 10
}

// A Cache reads a session's timeline once, then only what was appended
// since.
func ExampleCache() {
	ctx := context.Background()
	st, _ := memory.New()
	defer st.Close()
	add := func(text string) {
		ev := event.New(event.TextDelta{Text: text}, event.Meta{SessionID: "s1", MessageID: "m1"})
		st.Append(ctx, []event.Event{ev})
	}
	c, _ := timeline.NewCache(st)
	add("Hello")
	tl, _ := c.Read(ctx, "s1", 0)
	fmt.Println(tl.Seq, tl.Messages[0].Text())
	add(", world")
	tl, _ = c.Read(ctx, "s1", 0) // folds event 2 only
	fmt.Println(tl.Seq, tl.Messages[0].Text())
	s := c.Stats()
	fmt.Println("hits", s.Hits, "misses", s.Misses)
	// Output:
	// 1 Hello
	// 2 Hello, world
	// hits 1 misses 1
}
