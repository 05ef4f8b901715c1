package watch_test

import (
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/watch"
)

// The baseline: encoding each event to JSON once, which a server or a
// feed does for every event anyway. The folds below are per event too.
func BenchmarkEncodeBaseline(b *testing.B) {
	evs := weather()
	var buf []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf, _ = evs[i%len(evs)].AppendJSON(buf[:0])
	}
}

// A session's conversation and its row on the board, per event.
func BenchmarkFoldConversation(b *testing.B) {
	evs := weather()
	var (
		c     watch.Conversation
		board watch.Board
	)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%len(evs) == 0 {
			c = watch.Conversation{} // a new run: the deltas start over
		}
		ev := &evs[i%len(evs)]
		c.Add(ev)
		board.Add(ev)
	}
}

// The raw events pane, per event (the payload is encoded for display).
func BenchmarkLogAdd(b *testing.B) {
	evs := weather()
	l := watch.NewLog(0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.Add(&evs[i%len(evs)])
	}
}

// Filtering a full pane of 5,000 events by a type pattern, as a redraw
// of the events pane does.
func BenchmarkLogLinesFiltered(b *testing.B) {
	evs := weather()
	l := watch.NewLog(0)
	for i := range watch.DefaultLogSize {
		l.Add(&evs[i%len(evs)])
	}
	p := event.MustPattern("tool.call.*")
	b.ReportAllocs()
	for b.Loop() {
		l.Lines(p)
	}
}
