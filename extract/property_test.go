package extract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"pgregory.net/rapid"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/extract"
)

// genText draws a text from pieces whose filtered form is known: plain
// text that cannot form a tag, things that look like tags, and blocks.
func genText(t *rapid.T) (text, want string, values []string) {
	var in, out strings.Builder
	n := rapid.IntRange(0, 12).Draw(t, "pieces")
	for range n {
		switch rapid.IntRange(0, 6).Draw(t, "kind") {
		case 0, 1: // plain text: no ':' so no tag can form
			s := rapid.StringOf(rapid.SampledFrom([]rune("ab <>/\n-é"))).Draw(t, "plain")
			// A '<' at the end of plain text could join the next piece.
			in.WriteString(s + ".")
			out.WriteString(s + ".")
		case 2: // look-alikes
			s := rapid.SampledFrom([]string{"<acme:plan>", "<acme:plan:v2>", "</acme:plan:v1>", "<acme:plan:v1 >", "<:a:b>", "<a::b>", "<acme:plan:v", "<<"}).Draw(t, "lookalike")
			in.WriteString(s + ".")
			out.WriteString(s + ".")
		case 3, 4: // a YAML block
			k := rapid.IntRange(0, 5).Draw(t, "entries")
			var body strings.Builder
			body.WriteString("\n")
			for i := range k {
				fmt.Fprintf(&body, "k%d: %s\n", i, rapid.StringMatching(`[a-z ]{0,12}[a-z]`).Draw(t, "value"))
			}
			if rapid.Bool().Draw(t, "nested") {
				body.WriteString("list:\n  - x\n  - y <z>\n")
			}
			if rapid.Bool().Draw(t, "nested map") {
				body.WriteString("meta:\n  a: 1\n  b:\n    - c\n# comment\n  d: e\n")
			}
			if rapid.Bool().Draw(t, "compact list") {
				body.WriteString("compact:\n- 1\n- [2, 3]\n")
			}
			in.WriteString("<acme:plan:v1>" + body.String() + "</acme:plan:v1>")
			values = append(values, yamlJSON(t, body.String()))
		case 5: // a JSON block
			in.WriteString(`<acme:data:v1>{"a": [1, 2, {"b": "</acme:plan:v1>"}], "c": null}</acme:data:v1>`)
			values = append(values, `{"a":[1,2,{"b":"</acme:plan:v1>"}],"c":null}`)
		case 6: // an unregistered block passes as text
			s := "<other:x:v1>a: b</other:x:v1>"
			in.WriteString(s)
			out.WriteString(s)
		}
	}
	return in.String(), out.String(), values
}

// yamlJSON is the value of a YAML document as JSON, parsed the plain way.
func yamlJSON(t *rapid.T, doc string) string {
	var v any
	if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatalf("generated bad YAML %q: %v", doc, err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// run streams text through a fresh sink split at the given points and
// returns the text passed on, the completed text and the block events
// other than snapshots.
func run(t *rapid.T, text string, cuts []int) (string, string, []event.Payload) {
	rec := &recorder{}
	s, err := extract.New(rec,
		extract.WithExtractor("acme:plan:v1", extract.YAML()),
		extract.WithExtractor("acme:data:v1", extract.JSON()),
		extract.WithSnapshotEvery(1, true))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b := sluice.NewEmitter(s, event.Meta{}).TextBlock(0)
	prev := 0
	for _, c := range append(cuts, len(text)) {
		if c > prev {
			_ = b.Delta(ctx, text[prev:c])
			prev = c
		}
	}
	_ = b.Complete(ctx)
	var got strings.Builder
	var blocks []event.Payload
	completed := ""
	for _, ev := range rec.events() {
		switch p := ev.Payload.(type) {
		case event.TextDelta:
			if p.Offset != int64(got.Len()) {
				t.Fatalf("offset %d, want %d", p.Offset, got.Len())
			}
			got.WriteString(p.Text)
		case event.TextCompleted:
			completed = p.Text
		case event.ExtractBlockSnapshot:
			if !json.Valid(p.Value) {
				t.Fatalf("snapshot not JSON: %s", p.Value)
			}
		default:
			blocks = append(blocks, p)
		}
	}
	if st := s.Stats(); st.Streams != 0 || st.CapturedBytes != 0 {
		t.Fatalf("state left: %+v", st)
	}
	return got.String(), completed, blocks
}

// TestSplitPointsDoNotMatter checks that random split points give the same
// text and block events as one delta, and the expected text.
func TestSplitPointsDoNotMatter(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		text, want, values := genText(t)
		whole, wholeDone, wholeBlocks := run(t, text, nil)
		if whole != want || wholeDone != want {
			t.Fatalf("one delta: passed on %q, completed %q, want %q", whole, wholeDone, want)
		}
		if len(wholeBlocks) != 2*len(values) {
			t.Fatalf("%d block events for %d blocks: %+v", len(wholeBlocks), len(values), wholeBlocks)
		}
		var got []string
		for _, p := range wholeBlocks {
			switch p := p.(type) {
			case event.ExtractBlockMalformed:
				t.Fatalf("malformed: %+v", p)
			case event.ExtractBlockCompleted:
				got = append(got, string(p.Value))
			}
		}
		if !reflect.DeepEqual(got, values) {
			t.Fatalf("values\n%q\nwant\n%q", got, values)
		}
		var cuts []int
		if len(text) > 0 {
			cuts = rapid.SliceOfN(rapid.IntRange(0, len(text)), 0, 40).Draw(t, "cuts")
		}
		sortInts(cuts)
		split, splitDone, splitBlocks := run(t, text, cuts)
		if split != want || splitDone != want {
			t.Fatalf("split: passed on %q, completed %q, want %q", split, splitDone, want)
		}
		if !reflect.DeepEqual(splitBlocks, wholeBlocks) {
			t.Fatalf("block events differ\nsplit: %+v\nwhole: %+v", splitBlocks, wholeBlocks)
		}
	})
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}
