package extract_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/extract"
)

// FuzzScanner feeds arbitrary text through the sink, whole and split at
// two points, with the Text extractor (whose parse never fails) and the
// PassThrough policy, so that nothing is lost: the text passed on must be
// the input with exactly the completed blocks cut out, each block's value
// must be its body, and the split must not change anything.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		"plain", "<a:b:c>body</a:b:c>", "x<a:b:c>unclosed", "<a:b:c></a:b:c>", "<a:b:c><a:b:c>x</a:b:c></a:b:c>",
		"</a:b:c>", "<a:b:c", "<<a:b:c>>x</a:b:c>>", "<a:b:c>x</a:b:c</a:b:c>", "<x.y-z:t_1:v1.2>q</x.y-z:t_1:v1.2>",
	} {
		f.Add(s, uint16(1), uint16(5))
	}
	f.Fuzz(func(t *testing.T, text string, c1, c2 uint16) {
		want, values := reference(text)
		for i, v := range values { // JSON strings hold valid UTF-8 only
			b, _ := json.Marshal(v)
			_ = json.Unmarshal(b, &values[i])
		}
		a := min(int(c1), len(text))
		b := min(max(int(c2), a), len(text))
		for _, cuts := range [][]int{{len(text)}, {a, b, len(text)}} {
			got, gotValues := fuzzRun(t, text, cuts)
			if got != want {
				t.Fatalf("cuts %v: passed on %q, want %q", cuts, got, want)
			}
			if strings.Join(gotValues, "|") != strings.Join(values, "|") {
				t.Fatalf("cuts %v: values %q, want %q", cuts, gotValues, values)
			}
		}
	})
}

// reference finds <a:b:c> and <x.y-z:t_1:v1.2> blocks the simple way: a
// block runs from its open tag to its close tag, or unclosed to the end.
func reference(text string) (string, []string) {
	tags := []string{"a:b:c", "x.y-z:t_1:v1.2"}
	var out strings.Builder
	var values []string
	for i := 0; i < len(text); {
		found := false
		for _, tag := range tags {
			open, closing := "<"+tag+">", "</"+tag+">"
			if strings.HasPrefix(text[i:], open) {
				j := strings.Index(text[i+len(open):], closing)
				if j < 0 { // unclosed: passed through to the end
					out.WriteString(text[i:])
					return out.String(), values
				}
				values = append(values, text[i+len(open):i+len(open)+j])
				i += len(open) + j + len(closing)
				found = true
				break
			}
		}
		if !found {
			out.WriteByte(text[i])
			i++
		}
	}
	return out.String(), values
}

func fuzzRun(t *testing.T, text string, cuts []int) (string, []string) {
	rec := &recorder{}
	s, err := extract.New(rec, extract.WithExtractor("a:b:c", extract.Text()), extract.WithExtractor("x.y-z:t_1:v1.2", extract.Text()),
		extract.WithPolicy(extract.PassThrough), extract.WithMaxBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	blk := sluice.NewEmitter(s, event.Meta{}).TextBlock(0)
	prev := 0
	for _, c := range cuts {
		if c > prev {
			_ = blk.Delta(ctx, text[prev:c])
			prev = c
		}
	}
	_ = blk.Complete(ctx)
	var values []string
	for _, c := range of[event.ExtractBlockCompleted](rec) {
		var v string
		if err := json.Unmarshal(c.Value, &v); err != nil {
			t.Fatal(err)
		}
		if c.Start < 0 || c.End > int64(len(text)) || !strings.HasPrefix(text[c.Start:c.End], "<"+c.Tag+">") {
			t.Fatalf("bad offsets %+v", c)
		}
		values = append(values, v)
	}
	got := rec.text(t)
	if done := rec.completed(t); done != got {
		t.Fatalf("completed %q, deltas %q", done, got)
	}
	if st := s.Stats(); st.Streams != 0 {
		t.Fatalf("state left: %+v", st)
	}
	return got, values
}
