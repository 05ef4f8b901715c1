package extract_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/extract"
)

const planText = "Here is the plan.\n<acme:plan:v1>\ntitle: Ship it\nsteps:\n  - build\n  - test\nowner: ana\n</acme:plan:v1>\nShall I start?"

func TestYAMLBlockIsExtractedAndCutOut(t *testing.T) {
	for _, size := range []int{1, 3, 7, 20, 1000} {
		s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", extract.YAML()), extract.WithSnapshotEvery(1, true))
		stream(t, s, event.Meta{MessageID: "m1"}, planText, []int{size}, "\x00")

		want := "Here is the plan.\n\nShall I start?"
		if got := rec.text(t); got != want {
			t.Errorf("size %d: deltas %q, want %q", size, got, want)
		}
		if got := rec.completed(t); got != want {
			t.Errorf("size %d: completed %q, want %q", size, got, want)
		}
		started := of[event.ExtractBlockStarted](rec)
		done := of[event.ExtractBlockCompleted](rec)
		if len(started) != 1 || len(done) != 1 {
			t.Fatalf("size %d: %d started, %d completed", size, len(started), len(done))
		}
		st, c := started[0], done[0]
		if st.Tag != "acme:plan:v1" || st.Start != 18 || st.TextOffset != 18 {
			t.Errorf("started = %+v", st)
		}
		if c.Start != 18 || c.End != int64(strings.Index(planText, "\nShall")) || c.TextOffset != 18 {
			t.Errorf("completed offsets = %+v", c)
		}
		if string(c.Value) != `{"owner":"ana","steps":["build","test"],"title":"Ship it"}` {
			t.Errorf("value = %s", c.Value)
		}
		snaps := of[event.ExtractBlockSnapshot](rec)
		if len(snaps) == 0 && size < 20 { // one delta holding the whole block: no need
			t.Errorf("size %d: no snapshots", size)
		}
		for _, sn := range snaps {
			if !json.Valid(sn.Value) {
				t.Errorf("snapshot %s is not JSON", sn.Value)
			}
		}
		if st := s.Stats(); st.Streams != 0 || st.CapturedBytes != 0 || st.Completed != 1 {
			t.Errorf("stats after completion = %+v", st)
		}
	}
}

func TestEventsKeepTheirOrderAndMeta(t *testing.T) {
	s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", extract.JSON()), extract.WithSnapshotEvery(0, false))
	stream(t, s, event.Meta{RunID: "r", MessageID: "m"}, `a<acme:plan:v1>{"x":1}</acme:plan:v1>b`, []int{100}, "\x00")
	var types []string
	for _, ev := range rec.events() {
		types = append(types, string(ev.Type))
		if ev.Meta.MessageID != "m" || ev.Meta.RunID != "r" {
			t.Errorf("%s has meta %+v", ev.Type, ev.Meta)
		}
	}
	want := "message.text.delta extract.block.started extract.block.completed message.text.delta message.text.completed"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events:\n%s\nwant\n%s", got, want)
	}
	seen := map[string]bool{}
	for _, ev := range rec.events() {
		if seen[ev.ID.String()] {
			t.Errorf("duplicate event ID %s", ev.ID)
		}
		seen[ev.ID.String()] = true
	}
}

func TestTextThatIsNotABlockPassesThrough(t *testing.T) {
	texts := []string{
		"a < b and c > d",
		"<acme:plan>not a tag</acme:plan>",
		"<other:thing:v1>unregistered</other:thing:v1>",
		"</acme:plan:v1> a stray close tag",
		"<acme:plan:v2>wrong version</acme:plan:v2>",
		"<<<acme:plan:v1",
		"ends with a partial tag <acme:pl",
		"<acme:plan:v1 >spaces</acme:plan:v1>",
	}
	for _, text := range texts {
		for _, size := range []int{1, 2, 5, 100} {
			s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", extract.YAML()))
			stream(t, s, event.Meta{}, text, []int{size}, "\x00")
			if got := rec.text(t); got != text {
				t.Errorf("%q in %d-byte deltas: passed on %q", text, size, got)
			}
			if got := rec.completed(t); got != text {
				t.Errorf("%q: completed %q", text, got)
			}
			if n := len(of[event.ExtractBlockStarted](rec)); n != 0 {
				t.Errorf("%q: %d blocks started", text, n)
			}
		}
	}
}

func TestUnchangedDeltasPassAsTheyCame(t *testing.T) {
	s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", extract.YAML()))
	var in []event.Event
	tee := sluice.SinkFunc(func(ctx context.Context, ev *event.Event) error {
		in = append(in, *ev)
		return s.Publish(ctx, ev)
	})
	stream(t, tee, event.Meta{}, "plain text, no blocks", []int{4}, "\x00")
	out := rec.events()
	if len(out) != len(in) {
		t.Fatalf("%d events in, %d out", len(in), len(out))
	}
	for i := range in {
		if in[i].ID != out[i].ID || in[i].Payload != out[i].Payload {
			t.Errorf("event %d changed: %+v -> %+v", i, in[i], out[i])
		}
	}
}

func TestMalformedPolicies(t *testing.T) {
	const text = "before <acme:plan:v1>\nkey: [unclosed\n</acme:plan:v1> after"
	cases := []struct {
		policy    extract.Policy
		want      string
		malformed int
	}{
		{extract.Report, "before  after", 1},
		{extract.PassThrough, text, 1},
		{extract.Drop, "before  after", 0},
	}
	for _, c := range cases {
		s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", extract.YAML()), extract.WithPolicy(c.policy))
		stream(t, s, event.Meta{}, text, []int{3}, "\x00")
		if got := rec.text(t); got != c.want {
			t.Errorf("policy %d: text %q, want %q", c.policy, got, c.want)
		}
		if got := rec.completed(t); got != c.want {
			t.Errorf("policy %d: completed %q, want %q", c.policy, got, c.want)
		}
		m := of[event.ExtractBlockMalformed](rec)
		if len(m) != c.malformed {
			t.Fatalf("policy %d: %d malformed events", c.policy, len(m))
		}
		if len(m) == 1 && (m[0].Reason != extract.ReasonParse || m[0].Error.Message == "" || m[0].Raw != "\nkey: [unclosed\n") {
			t.Errorf("policy %d: malformed = %+v", c.policy, m[0])
		}
		if n := len(of[event.ExtractBlockCompleted](rec)); n != 0 {
			t.Errorf("%d completed", n)
		}
		if st := s.Stats(); st.Malformed != 1 || st.Streams != 0 {
			t.Errorf("stats = %+v", st)
		}
	}
}

func TestUnclosedBlockAtTheEnd(t *testing.T) {
	const text = "x <acme:plan:v1>\na: 1\n</acme:pl"
	for _, p := range []extract.Policy{extract.Report, extract.PassThrough} {
		s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", extract.YAML()), extract.WithPolicy(p))
		stream(t, s, event.Meta{}, text, []int{4}, "\x00")
		want := "x "
		if p == extract.PassThrough {
			want = text
		}
		if got := rec.text(t); got != want {
			t.Errorf("text %q, want %q", got, want)
		}
		m := of[event.ExtractBlockMalformed](rec)
		if len(m) != 1 || m[0].Reason != extract.ReasonUnclosed {
			t.Fatalf("malformed = %+v", m)
		}
	}
}

// maxBodyParser records the longest body it was handed.
type maxBodyParser struct{ max *int }

func (p maxBodyParser) Snapshot(b []byte) (json.RawMessage, error) {
	*p.max = max(*p.max, len(b))
	return nil, nil
}
func (p maxBodyParser) Finish(b []byte) (json.RawMessage, error) {
	*p.max = max(*p.max, len(b))
	return json.RawMessage(`true`), nil
}

func TestCaptureLimitIsEnforced(t *testing.T) {
	const limit = 100
	big := strings.Repeat("line of text\n", 200) // 2,600 bytes
	text := "a<acme:plan:v1>" + big + "</acme:plan:v1>b<acme:plan:v1>small</acme:plan:v1>c"
	for _, p := range []extract.Policy{extract.Report, extract.PassThrough} {
		longest := 0
		ex := extract.ExtractorFunc(func() extract.Parser { return maxBodyParser{&longest} })
		s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", ex), extract.WithMaxBytes(limit), extract.WithPolicy(p), extract.WithSnapshotEvery(1, false))
		em := sluice.NewEmitter(s, event.Meta{})
		blk := em.TextBlock(0)
		ctx := context.Background()
		for i := 0; i < len(text); i += 7 {
			_ = blk.Delta(ctx, text[i:min(i+7, len(text))])
			if st := s.Stats(); st.CapturedBytes > limit+7 {
				t.Fatalf("holding %d bytes with a limit of %d", st.CapturedBytes, limit)
			}
		}
		_ = blk.Complete(ctx)
		if longest > limit {
			t.Errorf("parser saw a %d-byte body, limit %d", longest, limit)
		}
		m := of[event.ExtractBlockMalformed](rec)
		if len(m) != 1 || m[0].Reason != extract.ReasonTooLarge || m[0].Raw != "" {
			t.Fatalf("malformed = %+v", m)
		}
		if c := of[event.ExtractBlockCompleted](rec); len(c) != 1 || c[0].Block != 1 {
			t.Errorf("completed = %+v", c)
		}
		want := "abc"
		if p == extract.PassThrough {
			want = "a<acme:plan:v1>" + big + "</acme:plan:v1>bc"
		}
		if got := rec.text(t); got != want {
			t.Errorf("policy %d: text %q…, want %q…", p, got[:min(40, len(got))], want[:min(40, len(want))])
		}
		if got := rec.completed(t); got != want {
			t.Errorf("completed differs from deltas")
		}
	}
}

func TestInterruptionAndErrorsLeaveNoState(t *testing.T) {
	ends := map[string]event.Payload{
		"interrupted":  event.StreamInterrupted{Reason: "canceled", Text: "keep <acme:plan:v1>\na: 1\n"},
		"stream.error": event.StreamError{Error: event.Error{Message: "overloaded"}},
		"failed":       event.ProviderCallFailed{Provider: "p", Error: event.Error{Message: "boom"}},
	}
	for name, end := range ends {
		t.Run(name, func(t *testing.T) {
			s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", extract.YAML()))
			ctx := context.Background()
			inf := sluice.NewEmitter(s, event.Meta{RunID: "r"}).Inference("i1")
			other := sluice.NewEmitter(s, event.Meta{RunID: "r"}).Inference("i2").Message("m2").TextBlock(0)
			text := inf.Message("m1").TextBlock(0)
			thinking := inf.Message("m1").ThinkingBlock(1)
			_ = text.Delta(ctx, "keep <acme:plan:v1>\na: 1\n")
			_ = thinking.Delta(ctx, "hmm <acme:pl")
			_ = other.Delta(ctx, "other <acme:plan:v1>\nb: 2")
			if st := s.Stats(); st.Streams != 3 || st.OpenBlocks != 2 || st.CapturedBytes == 0 {
				t.Fatalf("stats while streaming = %+v", st)
			}
			if err := sluice.Emit(ctx, inf, end); err != nil {
				t.Fatal(err)
			}
			if st := s.Stats(); st.Streams != 1 || st.OpenBlocks != 1 {
				t.Errorf("stats after the end of i1 = %+v (i2 must live on)", st)
			}
			m := of[event.ExtractBlockMalformed](rec)
			want := extract.ReasonFailed
			if name == "interrupted" {
				want = extract.ReasonInterrupted
			}
			if len(m) != 1 || m[0].Reason != want {
				t.Errorf("malformed = %+v", m)
			}
			var thought string
			for _, d := range of[event.ThinkingDelta](rec) {
				thought += d.Text
			}
			if thought != "hmm <acme:pl" {
				t.Errorf("held thinking text %q not passed on", thought)
			}
			if si, ok := end.(event.StreamInterrupted); ok {
				got := of[event.StreamInterrupted](rec)
				if len(got) != 1 || got[0].Text != "keep " || got[0].Reason != si.Reason {
					t.Errorf("interrupted passed on as %+v", got)
				}
			}
			// The other stream ends normally.
			_ = other.Delta(ctx, "\n</acme:plan:v1>")
			_ = other.Complete(ctx)
			if st := s.Stats(); st.Streams != 0 || st.OpenBlocks != 0 || st.CapturedBytes != 0 {
				t.Errorf("stats at the end = %+v", st)
			}
		})
	}
}

func TestFinalTextThatExtendsTheDeltas(t *testing.T) {
	s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", extract.JSON()))
	stream(t, s, event.Meta{}, "one <acme:plan:v1>[1,", []int{5}, `one <acme:plan:v1>[1,2]</acme:plan:v1> two`)
	if got, want := rec.text(t), "one  two"; got != want {
		t.Errorf("deltas %q, want %q", got, want)
	}
	if got := rec.completed(t); got != "one  two" {
		t.Errorf("completed %q", got)
	}
	if c := of[event.ExtractBlockCompleted](rec); len(c) != 1 || string(c[0].Value) != "[1,2]" {
		t.Errorf("completed blocks = %+v", c)
	}
}

func TestFinalTextThatDiffersFromTheDeltas(t *testing.T) {
	s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", extract.JSON()))
	// The provider's final text normalized a space.
	stream(t, s, event.Meta{}, "one  <acme:plan:v1>[1]</acme:plan:v1> two", []int{5}, "one <acme:plan:v1>[1]</acme:plan:v1> two")
	if got := rec.text(t); got != "one   two" {
		t.Errorf("deltas %q", got)
	}
	if got := rec.completed(t); got != "one  two" {
		t.Errorf("completed %q, want the final text filtered", got)
	}
	if n := len(of[event.ExtractBlockCompleted](rec)); n != 1 {
		t.Errorf("%d blocks completed, want 1 (from the deltas only)", n)
	}
	if st := s.Stats(); st.Streams != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestCompletedWithoutDeltas(t *testing.T) {
	s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", extract.JSON()))
	ctx := context.Background()
	_ = sluice.Emit(ctx, sluice.NewEmitter(s, event.Meta{}), event.TextCompleted{Text: `a<acme:plan:v1>{"k":"v"}</acme:plan:v1>b`})
	if got := rec.completed(t); got != "ab" {
		t.Errorf("completed %q", got)
	}
	if n := len(of[event.TextDelta](rec)); n != 0 {
		t.Errorf("%d deltas made up", n)
	}
	if c := of[event.ExtractBlockCompleted](rec); len(c) != 1 || string(c[0].Value) != `{"k":"v"}` {
		t.Errorf("blocks = %+v", c)
	}
}

func TestThinkingBlocks(t *testing.T) {
	s, rec := newSink(t, extract.WithExtractor("acme:note:v1", extract.Text()))
	ctx := context.Background()
	b := sluice.NewEmitter(s, event.Meta{}).ThinkingBlock(2)
	for _, d := range []string{"I think <acme:no", "te:v1>remember", " this</acme:note:v1>!"} {
		_ = b.Delta(ctx, d)
	}
	_ = b.Complete(ctx)
	var got string
	for _, d := range of[event.ThinkingDelta](rec) {
		if d.Index != 2 || d.Offset != int64(len(got)) {
			t.Errorf("delta %+v", d)
		}
		got += d.Text
	}
	if got != "I think !" {
		t.Errorf("thinking %q", got)
	}
	c := of[event.ExtractBlockCompleted](rec)
	if len(c) != 1 || !c[0].Thinking || c[0].Index != 2 || string(c[0].Value) != `"remember this"` {
		t.Errorf("blocks = %+v", c)
	}
	if tc := of[event.ThinkingCompleted](rec); len(tc) != 1 || tc[0].Text != "I think !" {
		t.Errorf("thinking completed = %+v", tc)
	}
}

func TestJSONSnapshotsGrow(t *testing.T) {
	s, rec := newSink(t, extract.WithExtractor("acme:list:v1", extract.JSON()), extract.WithSnapshotEvery(1, false))
	body := "```json\n[{\"n\":1},\n{\"n\":2},\n{\"n\":3}]\n```"
	stream(t, s, event.Meta{}, "<acme:list:v1>"+body+"</acme:list:v1>", []int{6}, "\x00")
	var got []string
	for _, sn := range of[event.ExtractBlockSnapshot](rec) {
		got = append(got, string(sn.Value))
	}
	want := []string{`[{"n":1}]`, `[{"n":1},{"n":2}]`, `[{"n":1},{"n":2},{"n":3}]`}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("snapshots %v, want %v", got, want)
	}
	if c := of[event.ExtractBlockCompleted](rec); len(c) != 1 || string(c[0].Value) != `[{"n":1},{"n":2},{"n":3}]` {
		t.Errorf("completed = %+v", c)
	}
}

func TestYAMLSnapshotsAreBestSoFar(t *testing.T) {
	s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", extract.YAML()), extract.WithSnapshotEvery(1, true))
	body := "```yaml\nname: a\nitems:\n  - 1\n  - 2\ndone: true\n```\n"
	stream(t, s, event.Meta{}, "<acme:plan:v1>"+body+"</acme:plan:v1>", []int{1}, "\x00")
	var got []string
	for _, sn := range of[event.ExtractBlockSnapshot](rec) {
		got = append(got, string(sn.Value))
	}
	want := []string{
		`{"name":"a"}`,
		`{"items":null,"name":"a"}`,
		`{"items":[1],"name":"a"}`,
		`{"items":[1,2],"name":"a"}`,
		`{"done":true,"items":[1,2],"name":"a"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("snapshots\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opt := range map[string]extract.Option{
		"no colons":         extract.WithExtractor("no-colons", extract.YAML()),
		"four segments":     extract.WithExtractor("a:b:c:d", extract.YAML()),
		"nil extractor":     extract.WithExtractor("a:b:c", nil),
		"max bytes 0":       extract.WithMaxBytes(0),
		"snapshot every -1": extract.WithSnapshotEvery(-1, false),
		"unknown policy":    extract.WithPolicy(9),
		"nil clock":         extract.WithClock(nil),
		"nil ID function":   extract.WithIDs(nil),
		"nil option":        nil,
	} {
		if s, err := extract.New(nil, opt); !errors.Is(err, extract.ErrInvalid) || s != nil {
			t.Errorf("%s: New = %v, %v; want nil, ErrInvalid", name, s, err)
		}
	}
	if _, err := extract.New(nil, extract.WithExtractor("a:b:c", extract.YAML()), extract.WithExtractor("a:b:c", extract.JSON())); !errors.Is(err, extract.ErrInvalid) {
		t.Errorf("duplicate tag: %v, want ErrInvalid", err)
	}
}

// TestClockAndIDs: WithClock and WithIDs stamp the block events.
func TestClockAndIDs(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	id := uuid.MustParse("01890000-0000-7000-8000-000000000001")
	var got []event.Event
	next := sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
		if strings.HasPrefix(string(ev.Type), "extract.") {
			got = append(got, *ev)
		}
		return nil
	})
	s, err := extract.New(next, extract.WithExtractor("a:b:v1", extract.JSON()),
		extract.WithClock(func() time.Time { return at }), extract.WithIDs(func() uuid.UUID { return id }))
	if err != nil {
		t.Fatal(err)
	}
	em := sluice.NewEmitter(s, event.Meta{SessionID: "s"})
	b := em.TextBlock(0)
	_ = b.Delta(t.Context(), `<a:b:v1>{"x":1}</a:b:v1>`)
	_ = b.Complete(t.Context())
	if len(got) == 0 {
		t.Fatal("no block events")
	}
	for _, ev := range got {
		if !ev.Time.Equal(at) || ev.ID != id {
			t.Errorf("%s stamped %v %v, want %v %v", ev.Type, ev.Time, ev.ID, at, id)
		}
	}
}

func TestNextSinkErrorsAreReturned(t *testing.T) {
	boom := errors.New("boom")
	s, err := extract.New(sluice.SinkFunc(func(context.Context, *event.Event) error { return boom }), extract.WithExtractor("a:b:c", extract.Text()))
	if err != nil {
		t.Fatal(err)
	}
	ev := event.New(event.TextDelta{Text: "x<a:b:c>y</a:b:c>"})
	if err := s.Publish(context.Background(), &ev); !errors.Is(err, boom) {
		t.Errorf("err = %v", err)
	}
}

func TestJSONObjectSnapshots(t *testing.T) {
	s, rec := newSink(t, extract.WithExtractor("acme:obj:v1", extract.JSON()), extract.WithSnapshotEvery(1, false))
	stream(t, s, event.Meta{}, `<acme:obj:v1>{"a": 1, "b": {"c": [1, 2]}, "d": "x,y"}</acme:obj:v1>`, []int{4}, "\x00")
	var got []string
	for _, sn := range of[event.ExtractBlockSnapshot](rec) {
		got = append(got, string(sn.Value))
	}
	want := `{"a":1} {"a":1,"b":{"c":[1,2]}}`
	if strings.Join(got, " ") != want {
		t.Errorf("snapshots %v, want %s", got, want)
	}
	if c := of[event.ExtractBlockCompleted](rec); len(c) != 1 || string(c[0].Value) != `{"a":1,"b":{"c":[1,2]},"d":"x,y"}` {
		t.Errorf("completed = %+v", c)
	}
}

// TestRewrittenDeltasCarryTheirOwnMeta: deltas rewritten after a block keep
// each one's own metadata, also when fields outside the stream's key (the
// model, labels, a request ID) change from one delta to the next, and the
// event the caller passed is not modified.
func TestRewrittenDeltasCarryTheirOwnMeta(t *testing.T) {
	s, rec := newSink(t, extract.WithExtractor("acme:plan:v1", extract.JSON()), extract.WithSnapshotEvery(0, false))
	ctx := context.Background()
	base := event.Meta{RunID: "r", MessageID: "m"}
	metas := []event.Meta{base, base, base, base, base, base}
	metas[3].Model = "m2"
	metas[4].Model, metas[4].RequestID = "m2", "q"
	metas[5].Labels = map[string]string{"k": "v"}
	texts := []string{"a<acme:plan:v1>", `{"x":1}`, "</acme:plan:v1>b", "c", "d", "e"}
	off := int64(0)
	for i, txt := range texts {
		ev := event.New(event.TextDelta{Offset: off, Text: txt}, metas[i])
		before := ev
		off += int64(len(txt))
		if err := s.Publish(ctx, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.ID != before.ID || ev.Payload != before.Payload || ev.Meta.Model != before.Meta.Model {
			t.Fatalf("delta %d was modified", i)
		}
	}
	var got []event.Event
	for _, ev := range rec.events() {
		if ev.Type == event.TypeTextDelta {
			got = append(got, ev)
		}
	}
	want := []struct {
		text string
		meta int
	}{{"a", 0}, {"b", 2}, {"c", 3}, {"d", 4}, {"e", 5}}
	if len(got) != len(want) {
		t.Fatalf("%d deltas, want %d", len(got), len(want))
	}
	for i, w := range want {
		d := got[i].Payload.(event.TextDelta)
		m := got[i].Meta
		wm := metas[w.meta]
		if d.Text != w.text || d.Offset != int64(i) {
			t.Errorf("delta %d = %+v", i, d)
		}
		if m.RunID != wm.RunID || m.MessageID != wm.MessageID || m.Model != wm.Model || m.RequestID != wm.RequestID ||
			len(m.Labels) != len(wm.Labels) || m.Labels["k"] != wm.Labels["k"] {
			t.Errorf("delta %d meta %+v, want %+v", i, m, wm)
		}
	}
}

// TestConcurrentStreams runs streams on one sink from several goroutines,
// interleaved, each ending its own: every stream comes out whole.
func TestConcurrentStreams(t *testing.T) {
	var mu sync.Mutex
	byMsg := map[string]*strings.Builder{}
	done := map[string]string{}
	next := sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		switch p := ev.Payload.(type) {
		case event.TextDelta:
			b := byMsg[ev.Meta.MessageID]
			if b == nil {
				b = &strings.Builder{}
				byMsg[ev.Meta.MessageID] = b
			}
			if p.Offset != int64(b.Len()) {
				t.Errorf("%s: offset %d, want %d", ev.Meta.MessageID, p.Offset, b.Len())
			}
			b.WriteString(p.Text)
		case event.TextCompleted:
			done[ev.Meta.MessageID] = p.Text
		}
		return nil
	})
	s, err := extract.New(next, extract.WithExtractor("acme:plan:v1", extract.YAML()))
	if err != nil {
		t.Fatal(err)
	}
	const text = "one <acme:plan:v1>\nk: v\n</acme:plan:v1> two <acme:plan:v1>\nj: w\n</acme:plan:v1> three"
	const want = "one  two  three"
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for r := range 25 {
				meta := event.Meta{SessionID: "s", MessageID: fmt.Sprintf("m%d-%d", g, r)}
				stream(t, s, meta, text, []int{1, 3, 5}, "\x00")
			}
		})
	}
	wg.Wait()
	if len(done) != 100 {
		t.Fatalf("%d streams completed", len(done))
	}
	for m, got := range done {
		if got != want || byMsg[m].String() != want {
			t.Errorf("%s: deltas %q, completed %q", m, byMsg[m].String(), got)
		}
	}
	if st := s.Stats(); st.Streams != 0 || st.Completed != 200 {
		t.Errorf("stats = %+v", st)
	}
}
