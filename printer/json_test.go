package printer_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/printer"
)

// sameEvent reports how got differs from want, or "" if they are equal.
func sameEvent(got, want event.Event) string {
	switch {
	case got.ID != want.ID:
		return fmt.Sprintf("ID %v, want %v", got.ID, want.ID)
	case got.Type != want.Type:
		return fmt.Sprintf("Type %q, want %q", got.Type, want.Type)
	case !got.Time.Equal(want.Time):
		return fmt.Sprintf("Time %v, want %v", got.Time, want.Time)
	case got.Seq != want.Seq:
		return fmt.Sprintf("Seq %d, want %d", got.Seq, want.Seq)
	case !reflect.DeepEqual(got.Meta, want.Meta):
		return fmt.Sprintf("Meta %+v, want %+v", got.Meta, want.Meta)
	case !reflect.DeepEqual(got.Payload, want.Payload):
		return fmt.Sprintf("Payload %#v, want %#v", got.Payload, want.Payload)
	}
	return ""
}

func TestJSONRoundTrip(t *testing.T) {
	evs := script()
	var out bytes.Buffer
	publishAll(t, must(printer.JSON(&out)), evs)
	sc := bufio.NewScanner(&out)
	n := 0
	for sc.Scan() {
		if n >= len(evs) {
			t.Fatalf("more lines than events: %s", sc.Text())
		}
		var ev event.Event
		if err := event.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("line %d: %v", n+1, err)
		}
		if d := sameEvent(ev, evs[n]); d != "" {
			t.Errorf("line %d: %s", n+1, d)
		}
		want, err := event.Marshal(evs[n])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sc.Bytes(), want) {
			t.Errorf("line %d:\n%s\nwant the wire form:\n%s", n+1, sc.Bytes(), want)
		}
		n++
	}
	if n != len(evs) {
		t.Errorf("%d lines, want %d", n, len(evs))
	}
}

func TestJSONWithoutMeta(t *testing.T) {
	evs := script()
	var out bytes.Buffer
	publishAll(t, must(printer.JSON(&out, printer.WithMeta(false))), evs)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(evs) {
		t.Fatalf("%d lines, want %d", len(lines), len(evs))
	}
	for i, line := range lines {
		if strings.Contains(line, `"meta"`) {
			t.Errorf("line %d has meta: %s", i+1, line)
		}
		var ev event.Event
		if err := event.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if err := ev.Validate(); err != nil {
			t.Errorf("line %d: %v", i+1, err)
		}
		want := evs[i]
		want.Meta = event.Meta{}
		if d := sameEvent(ev, want); d != "" {
			t.Errorf("line %d: %s", i+1, d)
		}
	}
	if evs[0].Meta.RunID != "run1" {
		t.Error("Publish modified the caller's event")
	}
}

func TestJSONHideThinking(t *testing.T) {
	var out bytes.Buffer
	p := must(printer.JSON(&out, printer.WithThinking(false)))
	if p.Enabled(context.Background(), event.TypeThinkingDelta) {
		t.Error("Enabled(thinking delta) = true with WithThinking(false)")
	}
	publishAll(t, p, script())
	if strings.Contains(out.String(), `"type":"message.thinking.`) {
		t.Errorf("output has thinking:\n%s", out.String())
	}
}

func TestJSONInvalidEvent(t *testing.T) {
	var out bytes.Buffer
	p := must(printer.JSON(&out))
	for _, ev := range []event.Event{
		{Type: "myapp.nopayload"},
		event.New(event.Raw{Name: "myapp.bad", Data: []byte(`{not json`)}),
	} {
		if err := p.Publish(context.Background(), &ev); !errors.Is(err, event.ErrInvalid) {
			t.Errorf("Publish(%s) = %v, want ErrInvalid", ev.Type, err)
		}
	}
	if out.Len() != 0 {
		t.Errorf("wrote %q for invalid events", out.String())
	}
}

func TestJSONConcurrent(t *testing.T) {
	var out lockedBuffer
	p := must(printer.JSON(&out))
	const goroutines, events = 16, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			meta := event.Meta{SessionID: fmt.Sprintf("s%02d", g)}
			for i := range events {
				ev := event.New(event.TextDelta{Offset: int64(i), Text: "x"}, meta)
				if err := p.Publish(context.Background(), &ev); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	next := map[string]int64{}
	n := 0
	for line := range strings.Lines(out.String()) {
		var ev event.Event
		if err := event.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		d := ev.Payload.(event.TextDelta)
		if d.Offset != next[ev.Meta.SessionID] {
			t.Fatalf("session %s: offset %d, want %d", ev.Meta.SessionID, d.Offset, next[ev.Meta.SessionID])
		}
		next[ev.Meta.SessionID]++
		n++
	}
	if n != goroutines*events {
		t.Errorf("%d lines, want %d", n, goroutines*events)
	}
}
