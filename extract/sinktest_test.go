package extract_test

import (
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/extract"
	"github.com/sluice-events/sluice/sinktest"
)

// extracting returns a sinktest.NewFunc for an extraction sink in front of
// next(recorder).
func extracting(next func(rec sluice.Sink) sluice.Sink, opts ...extract.Option) sinktest.NewFunc {
	return func(t *testing.T) sinktest.Harness {
		rec := new(sinktest.Recorder)
		s, err := extract.New(next(rec), opts...)
		if err != nil {
			t.Fatal(err)
		}
		return sinktest.Harness{Sink: s, Delivered: rec.Events}
	}
}

func TestConformance(t *testing.T) {
	all := func(rec sluice.Sink) sluice.Sink { return rec }
	t.Run("PassThrough", func(t *testing.T) { sinktest.Run(t, extracting(all)) })
	t.Run("Extracting", func(t *testing.T) {
		sinktest.Run(t, extracting(all, extract.WithExtractor("acme:plan:v1", extract.YAML()), extract.WithExtractor("acme:note:v1", extract.Text())))
	})
	t.Run("ExtractingFiltered", func(t *testing.T) {
		// The next sink wants no thinking; the extraction sink still
		// watches thinking deltas for blocks, but delivers none.
		sinktest.Run(t, extracting(func(rec sluice.Sink) sluice.Sink {
			return sluice.FilterTypes(rec, event.MustPattern("message.text.>"), event.MustPattern("tool.>"))
		}, extract.WithExtractor("acme:note:v1", extract.Text())))
	})
}
