package extract_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/extract"
	"github.com/sluice-events/sluice/sinktest"
)

// recorder is a sink that keeps a copy of every event.
type recorder struct{ sinktest.Recorder }

func (r *recorder) events() []event.Event { return r.Events() }

// text returns the concatenated text deltas, checking that their offsets
// describe the concatenation.
func (r *recorder) text(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for _, ev := range r.events() {
		if d, ok := event.As[event.TextDelta](ev); ok {
			if d.Offset != int64(b.Len()) {
				t.Fatalf("delta %q at offset %d, want %d", d.Text, d.Offset, b.Len())
			}
			b.WriteString(d.Text)
		}
	}
	return b.String()
}

// completed returns the text of the last message.text.completed.
func (r *recorder) completed(t testing.TB) string {
	t.Helper()
	evs := r.events()
	for i := len(evs) - 1; i >= 0; i-- {
		if c, ok := event.As[event.TextCompleted](evs[i]); ok {
			return c.Text
		}
	}
	t.Fatal("no message.text.completed")
	return ""
}

// of returns the payloads of type T, in order.
func of[T event.Payload](r *recorder) []T {
	var out []T
	for _, ev := range r.events() {
		if p, ok := event.As[T](ev); ok {
			out = append(out, p)
		}
	}
	return out
}

// newSink returns an extract sink over a recorder, failing the test on error.
func newSink(t testing.TB, opts ...extract.Option) (*extract.Sink, *recorder) {
	t.Helper()
	rec := &recorder{}
	s, err := extract.New(rec, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, rec
}

// stream sends text through an emitter over s as deltas of the given
// sizes (cycled), then completes the block with final (the concatenation
// if final is "\x00").
func stream(t testing.TB, s sluice.Sink, meta event.Meta, text string, sizes []int, final string) {
	t.Helper()
	ctx := context.Background()
	em := sluice.NewEmitter(s, meta)
	b := em.TextBlock(0)
	for i, k := 0, 0; i < len(text); k++ {
		n := min(sizes[k%len(sizes)], len(text)-i)
		if err := b.Delta(ctx, text[i:i+n]); err != nil {
			t.Fatal(err)
		}
		i += n
	}
	if final == "\x00" {
		final = text
	}
	if err := sluice.Emit(ctx, em, event.TextCompleted{Text: final}); err != nil {
		t.Fatal(err)
	}
}
