package extract_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/extract"
)

// noopParser is the no-op extractor of the pass-through benchmark.
type noopParser struct{}

func (noopParser) Snapshot([]byte) (json.RawMessage, error) { return nil, nil }
func (noopParser) Finish([]byte) (json.RawMessage, error)   { return nil, nil }

// yamlBlock returns a YAML block body of about n lines: a few top-level
// keys and a list of small mappings.
func yamlBlock(lines int) string {
	var b strings.Builder
	b.WriteString("\ntitle: a plan\nowner: ana\nsteps:\n")
	for i := 0; b.Len() < 0 || i < lines/2; i++ {
		fmt.Fprintf(&b, "  - id: %d\n    text: do the thing number %d\n", i, i)
	}
	b.WriteString("done: false\n")
	return b.String()
}

// benchText is 1 MiB of prose with a few tagged YAML blocks of about 100
// lines each.
func benchText() string {
	prose := strings.Repeat("The quick brown fox jumps over the lazy dog, again and again.\n", 64) // ~4 KiB
	block := "<acme:plan:v1>" + yamlBlock(100) + "</acme:plan:v1>\n"
	var b strings.Builder
	for i := 0; b.Len() < 1<<20; i++ {
		b.WriteString(prose)
		if i%32 == 0 {
			b.WriteString(block)
		}
	}
	return b.String()[:1<<20]
}

// deltas splits text into 20-byte delta events.
func deltas(text string, size int) []event.Event {
	var evs []event.Event
	for i := 0; i < len(text); i += size {
		j := min(i+size, len(text))
		evs = append(evs, event.New(event.TextDelta{Offset: int64(i), Text: text[i:j]}, event.Meta{MessageID: "m"}))
	}
	evs = append(evs, event.New(event.TextCompleted{Text: text}, event.Meta{MessageID: "m"}))
	return evs
}

// countSink wants everything and counts it, like a cheap consumer.
type countSink struct{ n int }

func (c *countSink) Enabled(context.Context, event.Type) bool { return true }
func (c *countSink) Publish(context.Context, *event.Event) error {
	c.n++
	return nil
}

func benchStream(b *testing.B, text string, size int, opts ...extract.Option) {
	evs := deltas(text, size)
	ctx := context.Background()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := extract.New(&countSink{}, opts...)
		if err != nil {
			b.Fatal(err)
		}
		for i := range evs {
			if err := s.Publish(ctx, &evs[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkExtract measures throughput on 1 MiB of text in 20-byte deltas
// with a few tagged YAML blocks: the sink alone with no extractor
// registered (Baseline), with a no-op extractor (PassThrough), with YAML
// extraction and its snapshots (YAML), and without snapshots.
func BenchmarkExtract(b *testing.B) {
	text := benchText()
	noop := extract.ExtractorFunc(func() extract.Parser { return noopParser{} })
	b.Run("Baseline", func(b *testing.B) { benchStream(b, text, 20) })
	b.Run("PassThrough", func(b *testing.B) { benchStream(b, text, 20, extract.WithExtractor("acme:plan:v1", noop)) })
	b.Run("YAML", func(b *testing.B) { benchStream(b, text, 20, extract.WithExtractor("acme:plan:v1", extract.YAML())) })
	b.Run("YAMLNoSnapshots", func(b *testing.B) {
		benchStream(b, text, 20, extract.WithExtractor("acme:plan:v1", extract.YAML()), extract.WithSnapshotEvery(0, false))
	})
}

// BenchmarkExtractBlockSize streams one YAML block of 1k, 10k and 100k
// lines in 20-byte deltas: ns/op over bytes (MB/s) stays flat when the
// time is linear in the block's size.
func BenchmarkExtractBlockSize(b *testing.B) {
	for _, lines := range []int{1_000, 10_000, 100_000} {
		text := "before <acme:plan:v1>" + yamlBlock(lines) + "</acme:plan:v1> after"
		b.Run(fmt.Sprintf("YAML/lines=%d", lines), func(b *testing.B) {
			benchStream(b, text, 20, extract.WithExtractor("acme:plan:v1", extract.YAML()), extract.WithMaxBytes(64<<20))
		})
		b.Run(fmt.Sprintf("JSON/lines=%d", lines), func(b *testing.B) {
			var j strings.Builder
			j.WriteString("[\n")
			for i := range lines {
				if i > 0 {
					j.WriteString(",\n")
				}
				fmt.Fprintf(&j, `{"id":%d,"text":"do the thing number %d"}`, i, i)
			}
			j.WriteString("\n]")
			text := "before <acme:plan:v1>" + j.String() + "</acme:plan:v1> after"
			benchStream(b, text, 20, extract.WithExtractor("acme:plan:v1", extract.JSON()), extract.WithMaxBytes(64<<20))
		})
	}
}

// BenchmarkBare is the cost of handing the same deltas straight to the
// consumer, for scale.
func BenchmarkBare(b *testing.B) {
	evs := deltas(benchText(), 20)
	ctx := context.Background()
	var next sluice.Sink = &countSink{}
	b.SetBytes(1 << 20)
	for b.Loop() {
		for i := range evs {
			if next.Enabled(ctx, evs[i].Type) {
				_ = next.Publish(ctx, &evs[i])
			}
		}
	}
}
