package watch_test

import (
	"bytes"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/watch"
)

// FuzzFold folds events decoded from outside input (lines of JSON, as a
// server streams them): no input may panic, and the figures stay
// consistent.
func FuzzFold(f *testing.F) {
	var seed bytes.Buffer
	for _, ev := range weather() {
		b, err := event.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		seed.Write(b)
		seed.WriteByte('\n')
	}
	f.Add(seed.Bytes())
	f.Add([]byte(`{"type":"message.text.delta","seq":3,"meta":{"session":"s"},"payload":{"offset":99,"text":"x"}}
{"type":"message.text.delta","seq":4,"meta":{"session":"s"},"payload":{"offset":1,"text":"\u00e9\u00e9"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var (
			b    watch.Board
			c    watch.Conversation
			n    uint64
			maxS uint64
		)
		l := watch.NewLog(8)
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			var ev event.Event
			if event.Unmarshal(line, &ev) != nil {
				continue
			}
			b.Add(&ev)
			c.Add(&ev)
			l.Add(&ev)
			n++
			maxS = max(maxS, ev.Seq)
		}
		if l.Total() != n || len(l.Lines(event.Pattern{})) != int(min(n, 8)) {
			t.Fatalf("log: total %d, %d lines; want %d", l.Total(), len(l.Lines(event.Pattern{})), n)
		}
		if c.LastSeq() != maxS {
			t.Fatalf("LastSeq %d, want %d", c.LastSeq(), maxS)
		}
		var events uint64
		for _, s := range b.Sessions() {
			events += s.Events
		}
		if events > n {
			t.Fatalf("the board counts %d events of %d", events, n)
		}
		_ = c.Entries()
	})
}
