package watch_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/watch"
)

// run numbers payloads as a logged session would: seq 1, 2, 3, …
func run(session string, payloads ...event.Payload) []event.Event {
	t0 := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	out := make([]event.Event, len(payloads))
	for i, p := range payloads {
		out[i] = event.New(p, event.Meta{SessionID: session, InferenceID: "inf-1"})
		out[i].Seq = uint64(i + 1)
		out[i].Time = t0.Add(time.Duration(i) * time.Second)
	}
	return out
}

// weather is the shape of the demo run: thinking, text and a tool call
// streamed, the tool executed, the answer streamed.
func weather() []event.Event {
	args := json.RawMessage(`{"city":"Paris"}`)
	return run("s1",
		event.ConversationStarted{SystemPrompt: "Be brief."},
		event.MessageCreated{Role: "user", Content: "Weather in Paris?"},
		event.PipelineStarted{},
		event.ProviderCallStarted{Provider: "anthropic", Model: "claude"},
		event.MessageStarted{Role: "assistant"},
		event.UsageReported{Usage: event.Usage{InputTokens: 400, OutputTokens: 3, Cumulative: true}},
		event.ThinkingDelta{Text: "The user wants"},
		event.ThinkingDelta{Offset: 14, Text: " the weather."},
		event.ThinkingCompleted{Text: "The user wants the weather."},
		event.TextDelta{Index: 1, Text: "I'll check"},
		event.TextDelta{Index: 1, Offset: 10, Text: " now."},
		event.TextCompleted{Index: 1, Text: "I'll check now."},
		event.ToolCallDelta{CallID: "c1", Name: "get_weather", Delta: `{"city":`},
		event.ToolCallDelta{CallID: "c1", Name: "get_weather", Offset: 8, Delta: `"Paris"}`},
		event.ToolCallRequested{CallID: "c1", Name: "get_weather", Arguments: args},
		event.MessageStopped{StopReason: "tool_use"},
		event.ProviderCallCompleted{Model: "claude", Usage: event.Usage{InputTokens: 400, OutputTokens: 90}, Cost: 0.002, FinishReason: "tool_calls"},
		event.MessageCreated{Role: "assistant", Index: 1, Content: "I'll check now.", ToolCalls: []event.ToolCall{{ID: "c1", Name: "get_weather", Arguments: args}}},
		event.ToolCallStarted{CallID: "c1", Name: "get_weather", Arguments: args},
		event.ToolCallCompleted{CallID: "c1", Name: "get_weather", Result: json.RawMessage(`{"temp_c":18}`), Duration: 600 * time.Millisecond},
		event.MessageCreated{Role: "tool", Index: 2, ToolResult: &event.ToolResult{CallID: "c1", Name: "get_weather", Content: `{"temp_c":18}`}},
		event.ProviderCallStarted{Provider: "anthropic", Model: "claude"},
		event.MessageStarted{Role: "assistant"},
		event.TextDelta{Text: "It's 18 °C."},
		event.UsageReported{Usage: event.Usage{InputTokens: 550, OutputTokens: 20, Cumulative: true}},
	)
}

func fold(evs []event.Event) *watch.Conversation {
	var c watch.Conversation
	for i := range evs {
		c.Add(&evs[i])
	}
	return &c
}

// brief renders entries one a line, for comparing.
func brief(es []watch.Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s", e.Kind)
		if e.Kind == watch.Tool {
			fmt.Fprintf(&b, " %s %s args=%s result=%s", e.Name, e.State, e.Args, e.Result)
		}
		if e.Text != "" {
			fmt.Fprintf(&b, " %q", e.Text)
		}
		if e.Streaming {
			b.WriteString(" …")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestConversationStreamsADemoLikeRun(t *testing.T) {
	c := fold(weather())
	want := `system "Be brief."
user "Weather in Paris?"
thinking "The user wants the weather."
assistant "I'll check now."
tool get_weather done args={"city":"Paris"} result={"temp_c":18}
note "claude · 400 in / 90 out tokens · $0.0020 · tool_calls"
assistant "It's 18 °C." …
`
	if got := brief(c.Entries()); got != want {
		t.Errorf("entries:\n%s\nwant:\n%s", got, want)
	}
	if c.LastSeq() != 25 {
		t.Errorf("LastSeq = %d, want 25", c.LastSeq())
	}
}

func TestConversationWhileStreaming(t *testing.T) {
	evs := weather()
	c := fold(evs[:8]) // two thinking deltas
	es := c.Entries()
	last := es[len(es)-1]
	if last.Kind != watch.Thinking || last.Text != "The user wants the weather." || !last.Streaming {
		t.Errorf("while streaming: %+v", last)
	}
	c = fold(evs[:14]) // the tool's arguments half streamed
	es = c.Entries()
	last = es[len(es)-1]
	if last.Kind != watch.Tool || last.State != watch.ToolStreaming || last.Args != `{"city":"Paris"}` {
		t.Errorf("tool while its arguments stream: %+v", last)
	}
}

// A stream that resumed with an overlap repeats no text.
func TestConversationSkipsRepeatedEvents(t *testing.T) {
	evs := weather()
	var c watch.Conversation
	for i := range evs[:12] {
		c.Add(&evs[i])
	}
	for i := range evs[8:] { // reconnected after seq 8, sent again from 9
		c.Add(&evs[8+i])
	}
	if got, want := brief(c.Entries()), brief(fold(evs).Entries()); got != want {
		t.Errorf("after an overlap:\n%s\nwant:\n%s", got, want)
	}
	if c.Add(&evs[3]) {
		t.Error("an old event changed the conversation")
	}
}

// A recorded run without deltas shows the messages themselves.
func TestConversationRecordedMessages(t *testing.T) {
	c := fold(run("s2",
		event.MessageCreated{Role: "user", Content: "hi"},
		event.MessageCreated{Role: "assistant", Content: "Let me look.", ToolCalls: []event.ToolCall{{ID: "t1", Name: "search", Arguments: json.RawMessage(`{"q":"x"}`)}}},
		event.MessageCreated{Role: "tool", ToolResult: &event.ToolResult{CallID: "t1", Name: "search", Error: event.Error{Message: "offline"}}},
		event.ProviderCallFailed{Provider: "openai", Error: event.Error{Code: "429", Message: "rate limited"}},
		event.StreamInterrupted{Reason: "canceled"},
		event.Dropped{Count: 3, Reason: "queue_full"},
		event.Info{Message: "not shown"},
	))
	want := `user "hi"
assistant "Let me look."
tool search failed args={"q":"x"} result= "offline"
error "provider call failed: 429: rate limited"
error "stream interrupted: canceled"
note "3 events lost (queue_full)"
`
	if got := brief(c.Entries()); got != want {
		t.Errorf("entries:\n%s\nwant:\n%s", got, want)
	}
}

func TestBoard(t *testing.T) {
	var b watch.Board
	b.Known("old", 10, 10, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC))
	evs := weather()
	for i := range evs {
		b.Add(&evs[i])
	}
	s, ok := b.Get("s1")
	if !ok {
		t.Fatal("s1 missing")
	}
	in, out := s.Tokens()
	if in != 950 || out != 110 {
		t.Errorf("tokens while the second call streams = %d/%d, want 950/110", in, out)
	}
	if s.Cost != 0.002 || s.Status != watch.StatusRunning || s.Events != 25 || s.LastSeq != 25 || s.Model != "claude" {
		t.Errorf("summary: %+v", s)
	}
	more := run("s1", make([]event.Payload, 27)...)[25:]
	more[0].Payload, more[0].Type = event.ProviderCallCompleted{Model: "claude", Usage: event.Usage{InputTokens: 550, OutputTokens: 40}, CostUnknown: true}, event.ProviderCallCompleted{}.EventType()
	more[1].Payload, more[1].Type = event.PipelineCompleted{}, event.PipelineCompleted{}.EventType()
	for i := range more {
		b.Add(&more[i])
	}
	s, _ = b.Get("s1")
	in, out = s.Tokens()
	if in != 950 || out != 130 || !s.CostUnknown || s.Status != watch.StatusDone {
		t.Errorf("after the run: %d/%d tokens, %+v", in, out, s)
	}

	// The stored session is listed, after the newer one; its history
	// arriving later is not counted twice.
	list := b.Sessions()
	if len(list) != 2 || list[0].ID != "s1" || list[1].ID != "old" {
		t.Fatalf("sessions: %+v", list)
	}
	old := run("old", event.Info{}, event.Info{})
	old[1].Seq = 11
	for i := range old {
		b.Add(&old[i])
	}
	if s, _ := b.Get("old"); s.Events != 11 || s.LastSeq != 11 {
		t.Errorf("old: events %d, last %d; want 11, 11", s.Events, s.LastSeq)
	}
}

func TestBoardFailures(t *testing.T) {
	var b watch.Board
	evs := run("f",
		event.RunStarted{},
		event.ToolCallFailed{Name: "x", Error: event.Error{Message: "boom"}},
		event.RunFailed{Error: event.Error{Message: "gave up"}},
		event.RunCompleted{},
	)
	for i := range evs {
		b.Add(&evs[i])
	}
	s, _ := b.Get("f")
	if s.Status != watch.StatusFailed || s.Errors != 2 {
		t.Errorf("summary: %+v", s)
	}
	ev := event.New(event.Info{}, event.Meta{})
	b.Add(&ev)
	if b.Len() != 1 {
		t.Errorf("an event without a session made a row: %d rows", b.Len())
	}
}

func TestLog(t *testing.T) {
	l := watch.NewLog(4)
	evs := weather()
	for i := range evs[:10] {
		l.Add(&evs[i])
	}
	all := l.Lines(event.Pattern{})
	if len(all) != 4 || all[0].Seq != 7 || all[3].Seq != 10 || l.Total() != 10 {
		t.Fatalf("kept %d lines from %d, total %d", len(all), all[0].Seq, l.Total())
	}
	if all[3].Payload != `{"index":1,"text":"I'll check"}` {
		t.Errorf("payload %s", all[3].Payload)
	}
	th := l.Lines(event.MustPattern("message.thinking.*"))
	if len(th) != 3 || th[0].Type != "message.thinking.delta" || th[2].Type != "message.thinking.completed" {
		t.Errorf("filtered: %+v", th)
	}
}

// Fold a session's events into the conversation a screen shows.
func ExampleConversation() {
	evs := run("chat",
		event.MessageCreated{Role: "user", Content: "Hello?"},
		event.MessageStarted{Role: "assistant"},
		event.TextDelta{Text: "Hi"},
		event.TextDelta{Offset: 2, Text: " there."},
		event.MessageStopped{},
		event.MessageCreated{Role: "assistant", Content: "Hi there."},
	)
	var c watch.Conversation
	for i := range evs {
		c.Add(&evs[i])
	}
	for _, e := range c.Entries() {
		fmt.Printf("%s: %s\n", e.Kind, e.Text)
	}
	// Output:
	// user: Hello?
	// assistant: Hi there.
}
