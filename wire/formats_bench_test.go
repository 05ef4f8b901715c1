package wire_test

import (
	"context"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/timeline"
	"github.com/sluice-events/sluice/wire"
	"github.com/sluice-events/sluice/wire/agui"
	"github.com/sluice-events/sluice/wire/aisdk"
	"github.com/sluice-events/sluice/wire/cloudevents"
)

// BenchmarkEncode encodes a 10,000-event session (the demo run repeated)
// with each format's encoder, a new one per pass as a stream would have;
// native is the baseline. ns/event is the cost per event.
func BenchmarkEncode(b *testing.B) {
	evs := recorded.Repeat(b, 10000)
	natives := make([][]byte, len(evs))
	for i := range evs {
		var err error
		if natives[i], err = evs[i].AppendJSON(nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, f := range []wire.Format{wire.NativeFormat, agui.Format, aisdk.Format, cloudevents.Format} {
		b.Run(f.Name, func(b *testing.B) {
			b.ReportAllocs()
			var out []wire.Message
			for b.Loop() {
				enc := f.New()
				fin, _ := enc.(wire.Finisher)
				for i := range evs {
					var err error
					if out, err = enc.Encode(out[:0], &evs[i], natives[i]); err != nil {
						b.Fatal(err)
					}
					if fin != nil && fin.Finished() {
						enc = f.New() // the next run is the next stream
						fin, _ = enc.(wire.Finisher)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
		})
	}
}

// BenchmarkResume is what the server does before the first byte of a
// stream resumed in the middle of the last run of a 10,000-event session:
// fold the session up to the cursor from the store, then build the
// format's prelude.
func BenchmarkResume(b *testing.B) {
	evs, st := logged(b)
	ctx := context.Background()
	session := evs[0].Meta.SessionID
	for _, f := range []wire.Format{agui.Format, aisdk.Format} {
		b.Run(f.Name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tl, err := timeline.Read(ctx, st, session, 9990)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.New().(wire.Resumer).Resume(nil, tl); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkResumeRead is the fold alone of BenchmarkResume: reading and
// folding 9,990 events from the store.
func BenchmarkResumeRead(b *testing.B) {
	evs, st := logged(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := timeline.Read(ctx, st, evs[0].Meta.SessionID, 9990); err != nil {
			b.Fatal(err)
		}
	}
}

// logged returns the 10,000-event session and a store that holds it.
func logged(b *testing.B) ([]event.Event, *memory.Store) {
	evs := recorded.Repeat(b, 10000)
	st, err := memory.New()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if err := st.Append(context.Background(), evs); err != nil {
		b.Fatal(err)
	}
	info, err := st.Session(context.Background(), evs[0].Meta.SessionID)
	if err != nil || info.Count != uint64(len(evs)) {
		b.Fatalf("the log holds %d events of %d (%v)", info.Count, len(evs), err)
	}
	return evs, st
}
