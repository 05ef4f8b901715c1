package sluice_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// recorder is a Sink that keeps copies of what it receives.
type recorder struct {
	mu     sync.Mutex
	events []event.Event
	want   func(event.Type) bool
	err    error
}

func (r *recorder) Enabled(_ context.Context, t event.Type) bool {
	return r.want == nil || r.want(t)
}

func (r *recorder) Publish(_ context.Context, ev *event.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, *ev)
	return r.err
}

func (r *recorder) types() []event.Type {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]event.Type, len(r.events))
	for i, ev := range r.events {
		out[i] = ev.Type
	}
	return out
}

// fixedIDs returns a function that gives the IDs 1, 2, 3, …
func fixedIDs() func() uuid.UUID {
	n := 0
	return func() uuid.UUID { n++; return uuid.UUID{15: byte(n)} }
}

func fixedClock() time.Time { return time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC) }

func TestEmitterStampsMetaAndScopes(t *testing.T) {
	rec := &recorder{}
	ctx := context.Background()
	root := sluice.NewEmitter(rec, event.Meta{RunID: "run-1", SessionID: "s-1", Labels: map[string]string{"tenant": "acme"}},
		sluice.WithIDs(fixedIDs()), sluice.WithClock(fixedClock))
	turn := root.Turn("turn-1")
	msg := turn.Message("msg-1")
	call := msg.ToolCall("call-1")

	must(t, sluice.Emit(ctx, root, event.ConversationStarted{SystemPrompt: "be brief"}))
	must(t, sluice.Emit(ctx, turn, event.MessageCreated{Role: "user", Content: "hi"}))
	must(t, msg.TextDelta(ctx, 0, 0, "Hel"))
	must(t, call.ToolCallStarted(ctx, "call-1", "search", []byte(`{"q":"go"}`)))

	if len(rec.events) != 4 {
		t.Fatalf("got %d events, want 4", len(rec.events))
	}
	checks := []struct {
		turn, msg, call, parent string
	}{
		{"", "", "", ""},
		{"turn-1", "", "", "run-1"},
		{"turn-1", "msg-1", "", "turn-1"},
		{"turn-1", "msg-1", "call-1", "msg-1"},
	}
	for i, c := range checks {
		m := rec.events[i].Meta
		if m.RunID != "run-1" || m.SessionID != "s-1" || m.Labels["tenant"] != "acme" {
			t.Errorf("event %d: base meta not stamped: %+v", i, m)
		}
		if m.TurnID != c.turn || m.MessageID != c.msg || m.ToolCallID != c.call || m.ParentID != c.parent {
			t.Errorf("event %d: turn/msg/call/parent = %q/%q/%q/%q, want %q/%q/%q/%q",
				i, m.TurnID, m.MessageID, m.ToolCallID, m.ParentID, c.turn, c.msg, c.call, c.parent)
		}
		if err := rec.events[i].Validate(); err != nil {
			t.Errorf("event %d invalid: %v", i, err)
		}
	}
	if rec.events[0].ID == rec.events[1].ID {
		t.Error("events share an ID")
	}
}

func TestNilEmitterIsNoOp(t *testing.T) {
	var em *sluice.Emitter
	ctx := context.Background()
	if em.Turn("t").Message("m").ToolCall("c") != nil {
		t.Fatal("children of a nil emitter should be nil")
	}
	boom := errors.New("boom")
	allocs := testing.AllocsPerRun(100, func() {
		_ = em.TextDelta(ctx, 0, 0, "x")
		_ = sluice.Emit(ctx, em, event.TextDelta{Text: "x"})
		_ = em.ToolCallFailed(ctx, "c", "n", 0, boom)
		_ = em.StreamError(ctx, context.Canceled)
	})
	if allocs != 0 {
		t.Errorf("nil emitter allocates %v times per run", allocs)
	}
}

func TestEmitterSkipsUnwantedEvents(t *testing.T) {
	rec := &recorder{want: func(t event.Type) bool { return t == event.TypeToolCallStarted }}
	em := sluice.NewEmitter(rec, event.Meta{SessionID: "s"})
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		_ = em.TextDelta(ctx, 0, 0, "x")
		_ = sluice.Emit(ctx, em, event.ThinkingDelta{Text: "x"})
	})
	if allocs != 0 {
		t.Errorf("emitting unwanted events allocates %v times per run", allocs)
	}
	must(t, em.ToolCallStarted(ctx, "c", "n", nil))
	if got := rec.types(); len(got) != 1 || got[0] != event.TypeToolCallStarted {
		t.Errorf("got %v", got)
	}
}

func TestTextBlockOffsets(t *testing.T) {
	rec := &recorder{}
	em := sluice.NewEmitter(rec, event.Meta{})
	ctx := context.Background()
	b := em.TextBlock(2)
	for _, s := range []string{"Hél", "lo, ", "wörld"} {
		must(t, b.Delta(ctx, s))
	}
	must(t, b.Complete(ctx))
	var whole string
	for i, ev := range rec.events[:3] {
		d, ok := event.As[event.TextDelta](ev)
		if !ok {
			t.Fatalf("event %d is %T", i, ev.Payload)
		}
		if d.Offset != int64(len(whole)) || d.Index != 2 {
			t.Errorf("delta %d: offset %d index %d, want offset %d index 2", i, d.Offset, d.Index, len(whole))
		}
		whole += d.Text
	}
	done, ok := event.As[event.TextCompleted](rec.events[3])
	if !ok || done.Text != whole || done.Text != "Héllo, wörld" {
		t.Errorf("completed = %+v, want whole text %q", rec.events[3].Payload, whole)
	}
}

func TestContextCarriedSinks(t *testing.T) {
	outer, inner := &recorder{}, &recorder{}
	ctx := sluice.WithSinks(context.Background(), outer)
	ctx2 := sluice.WithSinks(ctx, inner)

	ev := event.New(event.Status{Status: "thinking"})
	must(t, sluice.Publish(ctx2, &ev))
	must(t, sluice.Publish(ctx, &ev))
	must(t, sluice.Publish(context.Background(), &ev)) // no sinks: nothing happens

	if len(outer.events) != 2 || len(inner.events) != 1 {
		t.Fatalf("outer got %d, inner got %d; want 2 and 1", len(outer.events), len(inner.events))
	}

	if sluice.EmitterFrom(context.Background()) != nil {
		t.Error("EmitterFrom without sinks or emitter should be nil")
	}
	must(t, sluice.EmitterFrom(ctx).Log(ctx, "info", "from sinks", nil))
	em := sluice.NewEmitter(inner, event.Meta{RunID: "r"})
	ectx := sluice.WithEmitter(context.Background(), em)
	must(t, sluice.EmitterFrom(ectx).Log(ectx, "info", "deep", nil))
	last := inner.events[len(inner.events)-1]
	if last.Meta.RunID != "r" || last.Type != event.TypeLog {
		t.Errorf("context emitter event = %+v", last)
	}
	if len(outer.events) != 3 {
		t.Errorf("emitter over context sinks did not publish: outer has %d", len(outer.events))
	}
}

func TestFanoutJoinsErrorsAndSkipsDisabled(t *testing.T) {
	errA := errors.New("a failed")
	a := &recorder{err: errA}
	b := &recorder{want: func(event.Type) bool { return false }}
	c := &recorder{}
	f := sluice.Fanout(a, nil, b, c)
	ev := event.New(event.Info{Message: "x"})
	err := f.Publish(context.Background(), &ev)
	if !errors.Is(err, errA) {
		t.Errorf("err = %v, want errA joined", err)
	}
	if len(a.events) != 1 || len(b.events) != 0 || len(c.events) != 1 {
		t.Errorf("deliveries a=%d b=%d c=%d, want 1 0 1", len(a.events), len(b.events), len(c.events))
	}
	if sluice.Fanout() != sluice.Discard || sluice.Fanout(nil) != sluice.Discard {
		t.Error("empty fanout should be Discard")
	}
	if !f.Enabled(context.Background(), "x.y") {
		t.Error("fanout with an enabled sink should be enabled")
	}
}

func TestFilterAndTransform(t *testing.T) {
	rec := &recorder{}
	ctx := context.Background()
	onlyTools := sluice.FilterTypes(rec, event.MustPattern("tool.call.*"))
	session := sluice.Filter(onlyTools, func(_ context.Context, ev *event.Event) bool { return ev.Meta.SessionID == "keep" })
	redact := sluice.Transform(session, func(_ context.Context, ev *event.Event) bool {
		if p, ok := ev.Payload.(event.ToolCallStarted); ok {
			p.Arguments = []byte(`"<redacted>"`)
			ev.Payload = p
		}
		return ev.Meta.Labels["drop"] == ""
	})
	if redact.Enabled(ctx, event.TypeTextDelta) {
		t.Error("filtered sink enabled for a type its pattern excludes")
	}
	evs := []event.Event{
		event.New(event.ToolCallStarted{Name: "a", Arguments: []byte(`{"secret":1}`)}, event.Meta{SessionID: "keep"}),
		event.New(event.ToolCallStarted{Name: "b"}, event.Meta{SessionID: "other"}),
		event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: "keep"}),
		event.New(event.ToolCallCompleted{Name: "c"}, event.Meta{SessionID: "keep", Labels: map[string]string{"drop": "1"}}),
		event.New(event.ToolCallCompleted{Name: "d"}, event.Meta{SessionID: "keep"}),
	}
	orig := evs[0]
	for i := range evs {
		must(t, redact.Publish(ctx, &evs[i]))
	}
	if len(rec.events) != 2 {
		t.Fatalf("got %d events, want 2: %v", len(rec.events), rec.types())
	}
	if got := string(rec.events[0].Payload.(event.ToolCallStarted).Arguments); got != `"<redacted>"` {
		t.Errorf("arguments = %s, want redacted", got)
	}
	if string(evs[0].Payload.(event.ToolCallStarted).Arguments) != string(orig.Payload.(event.ToolCallStarted).Arguments) {
		t.Error("transform changed the caller's event")
	}
	if rec.events[1].Payload.(event.ToolCallCompleted).Name != "d" {
		t.Errorf("second event = %+v", rec.events[1].Payload)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestNilAndZeroValuesDoNotPanic(t *testing.T) {
	ctx := context.Background()
	if err := sluice.Publish(ctx, nil); !errors.Is(err, sluice.ErrNilEvent) {
		t.Errorf("Publish(nil) = %v", err)
	}
	var zero sluice.Emitter
	must(t, zero.TextDelta(ctx, 0, 0, "x"))
	must(t, sluice.Emit(ctx, &zero, event.Info{Message: "x"}))
	must(t, zero.Turn("t").Log(ctx, "info", "x", nil))
	if zero.Enabled(ctx, event.TypeLog) || zero.Sink() != sluice.Discard {
		t.Error("zero emitter should want nothing")
	}
	rec := &recorder{}
	em := sluice.NewEmitter(rec, event.Meta{})
	must(t, sluice.Emit[event.Payload](ctx, em, nil))
	if len(rec.events) != 0 {
		t.Errorf("nil payloads published %d events", len(rec.events))
	}
}

func TestNilEmitterBlockKeepsText(t *testing.T) {
	var em *sluice.Emitter
	ctx := context.Background()
	b := em.TextBlock(0)
	must(t, b.Delta(ctx, "some text"))
	must(t, b.Delta(ctx, ", more"))
	must(t, b.Complete(ctx))
	if b.Text() != "some text, more" {
		t.Errorf("Text() = %q", b.Text())
	}
}

func TestTransformChangingTheType(t *testing.T) {
	rec := &recorder{want: func(t event.Type) bool { return t == event.TypeInfo }}
	toLog := sluice.Transform(rec, func(_ context.Context, ev *event.Event) bool {
		ev.Payload, ev.Type = event.Log{Level: "info", Message: "x"}, event.TypeLog
		return true
	})
	ev := event.New(event.Info{Message: "x"})
	must(t, toLog.Publish(context.Background(), &ev))
	if len(rec.events) != 0 {
		t.Error("a sink got a type it does not want")
	}
}

func TestEmitterScope(t *testing.T) {
	root := sluice.NewEmitter(sluice.Discard, event.Meta{RunID: "run-1", SessionID: "s-1"})
	if got := root.Scope(); got != "run-1" {
		t.Errorf("root scope = %q, want run-1", got)
	}
	if got := root.Turn("turn-1").Inference("inf-1").Scope(); got != "inf-1" {
		t.Errorf("inference scope = %q, want inf-1", got)
	}
	if got := root.Turn("turn-1").WithMeta(func(m *event.Meta) { m.Model = "x" }).Scope(); got != "turn-1" {
		t.Errorf("WithMeta changed the scope to %q", got)
	}
	var nilEm *sluice.Emitter
	if nilEm.Scope() != "" {
		t.Error("nil emitter has a scope")
	}
}
