package timeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/timeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func fold(evs []event.Event) *timeline.Timeline {
	t := timeline.New("")
	for i := range evs {
		t.Apply(&evs[i])
	}
	return t
}

func js(t testing.TB, tl *timeline.Timeline) []byte {
	t.Helper()
	b, err := json.Marshal(tl)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSplitAnywhere checks, for every recorded session and every split
// point, that folding all events at once equals folding a prefix and then
// the rest: in the same value, in a Clone, and in a timeline that went
// through JSON in between (as a client hydrating from the timeline
// endpoint does).
func TestSplitAnywhere(t *testing.T) {
	sessions := recorded.All(t)
	if len(sessions) < 10 {
		t.Fatalf("only %d recorded sessions", len(sessions))
	}
	for _, s := range sessions {
		t.Run(s.Name, func(t *testing.T) {
			if len(s.Events) == 0 {
				t.Fatal("no events")
			}
			whole := js(t, fold(s.Events))
			for k := 0; k <= len(s.Events); k++ {
				prefix := fold(s.Events[:k])
				var back timeline.Timeline
				if err := json.Unmarshal(js(t, prefix), &back); err != nil {
					t.Fatal(err)
				}
				clone := prefix.Clone()
				for _, tl := range []*timeline.Timeline{prefix, &back, clone} {
					for i := k; i < len(s.Events); i++ {
						tl.Apply(&s.Events[i])
					}
					if got := js(t, tl); !bytes.Equal(got, whole) {
						t.Fatalf("split at %d differs:\n got %s\nwant %s", k, got, whole)
					}
				}
			}
		})
	}
}

// TestApplyTwiceChangesNothing: a resumed stream may repeat events; those
// at or below Seq are skipped.
func TestApplyTwiceChangesNothing(t *testing.T) {
	s := recorded.Demo(t)
	tl := fold(s.Events)
	want := js(t, tl)
	for i := range s.Events {
		if tl.Apply(&s.Events[i]) {
			t.Fatalf("event %d applied twice", s.Events[i].Seq)
		}
	}
	if !bytes.Equal(js(t, tl), want) {
		t.Fatal("applying again changed the timeline")
	}
}

// TestDemo checks what the demo run looks like as a conversation.
func TestDemo(t *testing.T) {
	s := recorded.Demo(t)
	tl := fold(s.Events)
	if tl.Seq != uint64(len(s.Events)) || tl.Session != s.Events[0].Meta.SessionID {
		t.Fatalf("seq %d session %q", tl.Seq, tl.Session)
	}
	if len(tl.Messages) != 4 {
		t.Fatalf("%d messages, want 4: %s", len(tl.Messages), js(t, tl))
	}
	roles := []string{"user", "assistant", "tool", "assistant"}
	for i, m := range tl.Messages {
		if m.Role != roles[i] || m.Index != i || m.Status != timeline.StatusDone {
			t.Errorf("message %d: role %q index %d status %q", i, m.Role, m.Index, m.Status)
		}
	}
	a := tl.Messages[1]
	if a.Text() != "I'll check the current weather in Paris for you." || !strings.HasPrefix(a.Thinking(), "The user wants the current weather in Paris.") {
		t.Errorf("assistant text %q thinking %q", a.Text(), a.Thinking())
	}
	if a.StopReason != "tool_use" || len(a.ToolCallIDs) != 1 || a.Usage.OutputTokens != 96 {
		t.Errorf("assistant: %+v", a)
	}
	tc := tl.ToolCall(a.ToolCallIDs[0])
	if tc == nil || tc.Name != "get_weather" || tc.Status != timeline.StatusCompleted || tc.MessageID != a.ID {
		t.Fatalf("tool call %+v", tc)
	}
	var args, result map[string]any
	if json.Unmarshal([]byte(tc.Arguments), &args) != nil || args["city"] != "Paris" {
		t.Errorf("arguments %q", tc.Arguments)
	}
	if json.Unmarshal(tc.Result, &result) != nil || result["temp_c"] != 18.0 || tc.Duration <= 0 {
		t.Errorf("result %s duration %v", tc.Result, tc.Duration)
	}
	if tl.Messages[2].ToolCallID != tc.ID {
		t.Errorf("tool message answers %q", tl.Messages[2].ToolCallID)
	}
	if !strings.HasPrefix(tl.Messages[3].Text(), "It's 18 °C and partly cloudy") {
		t.Errorf("answer %q", tl.Messages[3].Text())
	}
	var names []string
	for _, st := range tl.Steps {
		if st.Status != timeline.StatusCompleted || st.Duration <= 0 {
			t.Errorf("step %+v", st)
		}
		names = append(names, st.Kind+":"+st.Name)
	}
	if got := strings.Join(names, " "); got != "pipeline:pipeline middleware:build_context middleware:agent_loop" {
		t.Errorf("steps %s", got)
	}
	if len(tl.Usage) != 1 {
		t.Fatalf("usage %+v", tl.Usage)
	}
	u := tl.Usage[0]
	if u.Provider != "anthropic" || u.Calls != 2 || u.Tokens.InputTokens != 973 || u.Tokens.OutputTokens != 137 {
		t.Errorf("usage %+v", u)
	}
	if c, exact := tl.Cost(); fmt.Sprintf("%.6f", c) != "0.004974" || !exact {
		t.Errorf("cost %v %v", c, exact)
	}
	if len(tl.Runs) != 1 || tl.Runs[0].Status != timeline.StatusCompleted {
		t.Errorf("runs %+v", tl.Runs)
	}
	if len(tl.Problems) != 0 {
		t.Errorf("problems %+v", tl.Problems)
	}
}

// TestProviderErrors: a provider error mid-stream is a problem and fails
// the message it interrupted.
func TestProviderErrors(t *testing.T) {
	for _, s := range recorded.All(t) {
		if s.Name != "anthropic_error_midstream" {
			continue
		}
		tl := fold(s.Events)
		if len(tl.Problems) == 0 || tl.Problems[0].Error == nil || tl.Problems[0].Kind != timeline.ProblemError {
			t.Fatalf("problems %+v", tl.Problems)
		}
		if len(tl.Messages) != 1 || tl.Messages[0].Status != timeline.StatusFailed {
			t.Fatalf("messages %s", js(t, tl))
		}
		return
	}
	t.Fatal("no anthropic_error_midstream session")
}

func ev(seq uint64, p event.Payload, meta ...event.Meta) *event.Event {
	e := event.New(p, meta...)
	e.Seq = seq
	return &e
}

func TestState(t *testing.T) {
	tl := timeline.New("s")
	tl.Apply(ev(1, event.StateSnapshot{State: json.RawMessage(`{"todo":["a"],"done":0}`)}))
	tl.Apply(ev(2, event.StateDelta{Patch: json.RawMessage(`[{"op":"add","path":"/todo/-","value":"b"},{"op":"replace","path":"/done","value":1}]`)}))
	if got := string(tl.State); got != `{"done":1,"todo":["a","b"]}` && got != `{"todo":["a","b"],"done":1}` {
		t.Fatalf("state %s", got)
	}
	before := string(tl.State)
	tl.Apply(ev(3, event.StateDelta{Patch: json.RawMessage(`[{"op":"remove","path":"/missing"}]`)}))
	tl.Apply(ev(4, event.StateDelta{Patch: json.RawMessage(`{"not":"a patch"}`)}))
	if string(tl.State) != before || len(tl.Problems) != 2 || tl.Problems[0].Seq != 3 || tl.Problems[1].Error.Kind != "state" {
		t.Fatalf("state %s problems %+v", tl.State, tl.Problems)
	}
	tl.Apply(ev(5, event.StateSnapshot{}))
	if string(tl.State) != "null" || tl.Seq != 5 {
		t.Fatalf("state %s seq %d", tl.State, tl.Seq)
	}
}

func TestInterrupted(t *testing.T) {
	m := event.Meta{RunID: "r", SessionID: "s", MessageID: "m1"}
	tl := timeline.New("s")
	tl.Apply(ev(1, event.MessageStarted{ID: "m1", Role: "assistant"}, m))
	tl.Apply(ev(2, event.TextDelta{Text: "Hel"}, m))
	tl.Apply(ev(3, event.ToolCallDelta{CallID: "c1", Name: "f", Delta: `{"a":`}, m))
	tl.Apply(ev(4, event.ToolCallDelta{Index: 0, Delta: `1}`}, m))
	tl.Apply(ev(5, event.StreamInterrupted{Reason: "canceled", Text: "Hel"}, m))
	tl.Apply(ev(6, event.RunStopped{Reason: "user"}, event.Meta{RunID: "r"}))
	msg := tl.Message("m1")
	if msg.Status != timeline.StatusInterrupted || msg.Text() != "Hel" {
		t.Fatalf("message %+v", msg)
	}
	if tc := tl.ToolCall("c1"); tc == nil || tc.Arguments != `{"a":1}` || tc.Status != timeline.StatusStreaming {
		t.Fatalf("tool call %+v", tc)
	}
	if len(tl.Problems) != 2 || tl.Problems[0].Kind != timeline.ProblemInterrupted || tl.Problems[0].MessageID != "m1" {
		t.Fatalf("problems %+v", tl.Problems)
	}
	if r := tl.Run("r"); r.Status != timeline.StatusStopped || r.Reason != "user" {
		t.Fatalf("run %+v", r)
	}
}

// TestWaiting folds a run that ends waiting for a person and the run that
// answers it: the interrupts are open until the answering run's
// run.resumed, and a second interrupt opens them again.
func TestWaiting(t *testing.T) {
	r1, r2 := event.Meta{RunID: "r1", SessionID: "s"}, event.Meta{RunID: "r2", SessionID: "s"}
	ask := event.Interrupt{ID: "i1", Reason: "approval", Message: "Book it?"}
	tl := timeline.New("s")
	tl.Apply(ev(1, event.RunStarted{Prompt: "book"}, r1))
	if tl.Waiting() != nil {
		t.Fatal("a running run is waiting")
	}
	tl.Apply(ev(2, event.RunInterrupted{Interrupts: []event.Interrupt{ask}}, r1))
	w := tl.Waiting()
	if w == nil || w.ID != "r1" || w.Status != timeline.StatusWaiting || len(w.Interrupts) != 1 || w.Interrupts[0].ID != "i1" || tl.OpenRun() != nil {
		t.Fatalf("waiting %+v, open %+v", w, tl.OpenRun())
	}
	// The answering run's start alone answers nothing.
	tl.Apply(ev(3, event.RunStarted{}, r2))
	if w := tl.Waiting(); w == nil || w.ID != "r1" {
		t.Fatalf("waiting %+v before the answers", w)
	}
	answer := event.InterruptAnswer{InterruptID: "i1", Status: "resolved", Payload: json.RawMessage(`{"ok":true}`)}
	tl.Apply(ev(4, event.RunResumed{Interrupted: "r1", Answers: []event.InterruptAnswer{answer}}, r2))
	if w := tl.Waiting(); w != nil {
		t.Fatalf("still waiting %+v", w)
	}
	if r := tl.Run("r1"); r.AnsweredBy != "r2" {
		t.Fatalf("r1 %+v", r)
	}
	if r := tl.Run("r2"); r.Resumes != "r1" || len(r.Answers) != 1 || string(r.Answers[0].Payload) != `{"ok":true}` || r.Status != timeline.StatusRunning {
		t.Fatalf("r2 %+v", r)
	}
	tl.Apply(ev(5, event.RunInterrupted{Interrupts: []event.Interrupt{{ID: "i2", Reason: "input"}}}, r2))
	if w := tl.Waiting(); w == nil || w.ID != "r2" || w.Interrupts[0].ID != "i2" {
		t.Fatalf("waiting %+v after the second interrupt", w)
	}
	var back timeline.Timeline
	if err := json.Unmarshal(js(t, tl), &back); err != nil || back.Waiting() == nil || back.Waiting().ID != "r2" {
		t.Fatalf("through JSON: %v %+v", err, back.Waiting())
	}
}

// TestRead folds a session from a store, whole and up to a sequence
// number.
func TestRead(t *testing.T) {
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s := recorded.Demo(t)
	ctx := context.Background()
	if err := st.Append(ctx, s.Events); err != nil {
		t.Fatal(err)
	}
	whole, err := timeline.Read(ctx, st, s.Events[0].Meta.SessionID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(js(t, whole), js(t, fold(s.Events))) {
		t.Fatal("Read differs from folding the events")
	}
	part, err := timeline.Read(ctx, st, s.Events[0].Meta.SessionID, 20)
	if err != nil || part.Seq != 20 || !bytes.Equal(js(t, part), js(t, fold(s.Events[:20]))) {
		t.Fatalf("Read up to 20: seq %d, %v", part.Seq, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := timeline.Read(cctx, st, s.Events[0].Meta.SessionID, 0); err == nil {
		t.Fatal("Read with a cancelled context succeeded")
	}
}

func TestSession10k(t *testing.T) {
	tl := fold(recorded.Repeat(t, 10000))
	if tl.Seq != 10000 || len(tl.Runs) != 173 || len(tl.ToolCalls) != 172 {
		t.Fatalf("seq %d runs %d tool calls %d", tl.Seq, len(tl.Runs), len(tl.ToolCalls))
	}
	for _, tc := range tl.ToolCalls {
		if tc.Status != timeline.StatusCompleted {
			t.Fatalf("tool call %+v", tc)
		}
	}
}

// BenchmarkFold10k folds a 10,000-event session from scratch.
func BenchmarkFold10k(b *testing.B) {
	evs := recorded.Repeat(b, 10000)
	b.ReportAllocs()
	for b.Loop() {
		fold(evs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
}

// BenchmarkApply folds one event at a time into a timeline that already
// holds the session so far.
func BenchmarkApply(b *testing.B) {
	evs := recorded.Repeat(b, 10000)
	tl := timeline.New("")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i == len(evs) {
			b.StopTimer()
			tl, i = timeline.New(""), 0
			b.StartTimer()
		}
		tl.Apply(&evs[i])
		i++
	}
}

// TestCloneInterrupts: a clone shares nothing of the runs' interrupts and
// answers with its original (the cache hands out clones of the folds it
// keeps).
func TestCloneInterrupts(t *testing.T) {
	r1, r2 := event.Meta{RunID: "r1", SessionID: "s"}, event.Meta{RunID: "r2", SessionID: "s"}
	tl := timeline.New("s")
	tl.Apply(ev(1, event.RunStarted{}, r1))
	tl.Apply(ev(2, event.RunInterrupted{Interrupts: []event.Interrupt{{ID: "i1", Reason: "approval",
		ResponseSchema: json.RawMessage(`{"type":"boolean"}`), Metadata: json.RawMessage(`{"k":1}`)}}}, r1))
	tl.Apply(ev(3, event.RunStarted{}, r2))
	tl.Apply(ev(4, event.RunResumed{Interrupted: "r1", Answers: []event.InterruptAnswer{{InterruptID: "i1", Status: "resolved",
		Payload: json.RawMessage(`true`), Metadata: json.RawMessage(`{"by":"ann"}`)}}}, r2))
	want, err := json.Marshal(tl)
	if err != nil {
		t.Fatal(err)
	}
	c := tl.Clone()
	in, a := &c.Run("r1").Interrupts[0], &c.Run("r2").Answers[0]
	in.Reason = "changed"
	in.ResponseSchema[1], in.Metadata[1] = 'X', 'X'
	a.Status = "changed"
	a.Payload[0], a.Metadata[1] = 'X', 'X'
	if got, _ := json.Marshal(tl); string(got) != string(want) {
		t.Fatalf("changing the clone changed the original\n got %s\nwant %s", got, want)
	}
}
