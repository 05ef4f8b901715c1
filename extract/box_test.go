package extract

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/sluice-events/sluice/event"
)

// TestBoxedPayloadsStayPut: forged payloads read back as what was boxed,
// each independent of the others, also after their boxer is gone and the
// collector ran.
func TestBoxedPayloadsStayPut(t *testing.T) {
	if !boxOK {
		t.Fatal("forged payloads do not read back: deltas are boxed the slow way")
	}
	var b boxer
	var ps []event.Payload
	for i := range 3*slabSize + 5 {
		text := fmt.Sprint("text ", i)
		if i%2 == 0 {
			ps = append(ps, b.textDelta(event.TextDelta{Index: i, Offset: int64(i * 10), Text: text}))
		} else {
			ps = append(ps, b.thinkingDelta(event.ThinkingDelta{Index: i, Offset: int64(i * 10), Text: text}))
		}
	}
	b = boxer{}
	runtime.GC()
	for i, p := range ps {
		text := fmt.Sprint("text ", i)
		var ok bool
		switch d := p.(type) {
		case event.TextDelta:
			ok = i%2 == 0 && d == event.TextDelta{Index: i, Offset: int64(i * 10), Text: text}
		case event.ThinkingDelta:
			ok = i%2 == 1 && d == event.ThinkingDelta{Index: i, Offset: int64(i * 10), Text: text}
		}
		if !ok || p.EventType() == "" {
			t.Fatalf("payload %d = %#v", i, p)
		}
	}
}
