package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// poisonData is a payload that does not decode as message.text.delta.
var poisonData = json.RawMessage(`{"text":42}`)

// wantFallback checks that got is want with its payload read back as
// event.Raw under want's type, holding data byte for byte.
func wantFallback(t *testing.T, got, want event.Event, data json.RawMessage) {
	t.Helper()
	raw, ok := got.Payload.(event.Raw)
	if !ok || raw.Name != want.Type || string(raw.Data) != string(data) {
		t.Fatalf("undecodable payload came back as %#v, want event.Raw{Name: %q, Data: %s}", got.Payload, want.Type, data)
	}
	want.Payload = raw
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("undecodable event came back as\n %#v\nwant\n %#v", got, want)
	}
}

// poisonEvent stores an event whose payload does not decode as its
// registered type: the session must stay readable, with that event read
// back as event.Raw and the events around it intact.
func (s *suite) poisonEvent(t *testing.T) {
	st := s.new(t)
	t.Run("Append", func(t *testing.T) {
		// A Raw payload under a registered name. Validate may refuse it
		// (then nothing is stored); if it does not, the store must read
		// it back.
		in := []event.Event{text("poison", 0), ev("poison", event.Raw{Name: event.TypeTextDelta, Data: poisonData}, time.Second), text("poison", 2)}
		mustAppend(t, st, in[:1]...)
		if err := st.Append(ctx(t), in[1:2]); err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				t.Fatalf("Append: %v", err)
			}
			t.Logf("the store refuses a Raw payload under a registered name: %v", err)
			in = slices.Delete(in, 1, 2)
		}
		mustAppend(t, st, in[len(in)-1:]...)
		got := collect(t, st, store.Query{Session: "poison"})
		if len(got) != len(in) {
			t.Fatalf("read %d events of a session with an undecodable payload, want %d", len(got), len(in))
		}
		for i := range in {
			if i == 1 && len(in) == 3 {
				wantFallback(t, got[i], in[i], poisonData)
				continue
			}
			if !reflect.DeepEqual(got[i], in[i]) {
				t.Fatalf("event %d:\n got %#v\nwant %#v", i, got[i], in[i])
			}
		}
		if n := len(collectAll(t, st, store.AllQuery{SessionPrefix: "poison"})); n != len(in) {
			t.Fatalf("ReadAll: %d entries, want %d", n, len(in))
		}
	})
	t.Run("Rewrite", func(t *testing.T) {
		if s.cfg.rewrite == nil {
			t.Skip("no Rewrite given")
		}
		in := mustAppend(t, st, text("outdated", 0), text("outdated", 1), text("outdated", 2), ev("outdated", event.Status{Status: "x"}, 0))
		// Seq 2 as an older release of its type would have stored it; seq
		// 4 with a payload of the wrong JSON type.
		old := in[1]
		old.Seq, old.Payload = 0, event.Raw{Name: old.Type, Data: poisonData}
		data, err := event.Marshal(old)
		if err != nil {
			t.Fatal(err)
		}
		s.cfg.rewrite(t, st, "outdated", 2, data)
		s4 := in[3]
		s4.Seq, s4.Payload = 0, event.Raw{Name: s4.Type, Data: json.RawMessage(`[1,2]`)}
		if data, err = event.Marshal(s4); err != nil {
			t.Fatal(err)
		}
		s.cfg.rewrite(t, st, "outdated", 4, data)
		got := collect(t, st, store.Query{Session: "outdated"})
		if len(got) != 4 {
			t.Fatalf("read %d events of a session with undecodable payloads, want 4", len(got))
		}
		for _, i := range []int{0, 2} {
			if !reflect.DeepEqual(got[i], in[i]) {
				t.Fatalf("event %d:\n got %#v\nwant %#v", i, got[i], in[i])
			}
		}
		wantFallback(t, got[1], in[1], poisonData)
		wantFallback(t, got[3], in[3], json.RawMessage(`[1,2]`))
		// The fallback is lossless: the event encodes to the stored bytes.
		if b, _ := event.Marshal(got[1]); string(b) != string(must(event.Marshal(withSeq(old, 2)))) {
			t.Fatalf("re-encoded fallback event differs:\n%s", b)
		}
		all := collectAll(t, st, store.AllQuery{SessionPrefix: "outdated"})
		if len(all) != 4 {
			t.Fatalf("ReadAll: %d entries, want 4", len(all))
		}
		wantFallback(t, all[1].Event, in[1], poisonData)
		// A type filter still sees the event under its type.
		got = collect(t, st, store.Query{Session: "outdated", Types: event.MustPattern("message.>"), After: 1})
		if len(got) != 2 || got[0].Seq != 2 {
			t.Fatalf("filtered read: %v, want seqs [2 3]", seqs(got))
		}
	})
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func withSeq(e event.Event, seq uint64) event.Event { e.Seq = seq; return e }

// damagedRow stores a row that is not an event at all: the iterators yield
// every event before it, then an error wrapping ErrCorrupt that names its
// sequence number and position, and a read that resumes after it goes on.
func (s *suite) damagedRow(t *testing.T) {
	if s.cfg.rewrite == nil {
		t.Skip("no Rewrite given")
	}
	st := s.new(t)
	mustAppend(t, st, text("other", 0))
	in := mustAppend(t, st, text("dmg", 0), text("dmg", 1), text("dmg", 2))
	s.cfg.rewrite(t, st, "dmg", 2, []byte(`{"type":"message.text.delta","payload":`))
	var got []event.Event
	var last error
	for e, err := range st.Read(ctx(t), store.Query{Session: "dmg"}) {
		if err != nil {
			last = err
			break
		}
		got = append(got, e)
	}
	if len(got) != 1 || got[0].ID != in[0].ID {
		t.Fatalf("Read yielded %v before the damaged row, want [1]", seqs(got))
	}
	if !errors.Is(last, store.ErrCorrupt) || !strings.Contains(last.Error(), "seq 2") {
		t.Fatalf("Read of a damaged row ended with %v, want ErrCorrupt naming seq 2", last)
	}
	var entries []store.Entry
	last = nil
	for e, err := range st.ReadAll(ctx(t), store.AllQuery{}) {
		if err != nil {
			last = err
			break
		}
		entries = append(entries, e)
	}
	wantPos := fmt.Sprintf("position %d", entries[len(entries)-1].Pos+1)
	if len(entries) != 2 || !errors.Is(last, store.ErrCorrupt) || !strings.Contains(last.Error(), wantPos) {
		t.Fatalf("ReadAll yielded %d entries, then %v; want 2, then ErrCorrupt naming %s", len(entries), last, wantPos)
	}
	if got := seqs(collect(t, st, store.Query{Session: "dmg", After: 2})); !slices.Equal(got, []uint64{3}) {
		t.Fatalf("Read after the damaged row: %v, want [3]", got)
	}
}
