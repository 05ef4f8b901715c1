package event_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"pgregory.net/rapid"

	"github.com/sluice-events/sluice/event"
)

// TestDecodedMetaDoesNotPinPayload checks that a decoded event's type and
// metadata do not share memory with its (possibly huge) payload.
func TestDecodedMetaDoesNotPinPayload(t *testing.T) {
	big := strings.Repeat("x", 1<<16)
	for _, typ := range []event.Type{event.TypeTextDelta, "otherapp.big"} {
		in := `{"type":"` + string(typ) + `","meta":{"session":"s-1","run":"r"},"payload":{"text":"` + big + `"}}`
		var ev event.Event
		if err := event.Unmarshal([]byte(in), &ev); err != nil {
			t.Fatal(err)
		}
		var text string
		switch p := ev.Payload.(type) {
		case event.TextDelta:
			text = p.Text
		case event.Raw:
			text = string(p.Data)
		}
		lo := uintptr(unsafe.Pointer(unsafe.StringData(text)))
		hi := lo + uintptr(len(text))
		for name, s := range map[string]string{"type": string(ev.Type), "session": ev.Meta.SessionID, "run": ev.Meta.RunID} {
			p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
			if p >= lo-1024 && p < hi+1024 {
				t.Errorf("%s: %s shares memory with the payload", typ, name)
			}
		}
	}
	var ev event.Event
	_ = event.Unmarshal([]byte(`{"type":"message.text.delta","payload":{"text":"x"}}`), &ev)
	if unsafe.StringData(string(ev.Type)) != unsafe.StringData(string(event.TypeTextDelta)) {
		t.Error("a known type should decode to the registered constant")
	}
}

func TestTimeOutOfRange(t *testing.T) {
	ev := event.New(event.Status{Status: "x"})
	ev.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := ev.Validate(); !errors.Is(err, event.ErrInvalidTime) || !errors.Is(err, event.ErrInvalid) {
		t.Errorf("Validate = %v", err)
	}
	if _, err := event.Marshal(ev); !errors.Is(err, event.ErrInvalidTime) {
		t.Errorf("Marshal = %v", err)
	}
}

func TestRawUnderRegisteredName(t *testing.T) {
	ev := event.New(event.Raw{Name: event.TypeTextDelta, Data: []byte(`{"text":42}`)})
	if err := ev.Validate(); !errors.Is(err, event.ErrInvalidPayload) {
		t.Errorf("ill-shaped raw payload: Validate = %v", err)
	}
	ok := event.New(event.Raw{Name: event.TypeTextDelta, Data: []byte(`{"text":"fine","offset":3}`)})
	if err := ok.Validate(); err != nil {
		t.Errorf("well-shaped raw payload: %v", err)
	}
	unknown := event.New(event.Raw{Name: "otherapp.x", Data: []byte(`[1,2]`)})
	if err := unknown.Validate(); err != nil {
		t.Errorf("unknown type: %v", err)
	}
}

// TestRawJSONFieldsAreCompacted documents what the codec does with free-form
// JSON members (arguments, results, data, …): they keep every value and
// byte of their strings exactly, but white space between tokens is not kept.
func TestRawJSONFieldsAreCompacted(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		compact := genJSON(rt, 0)
		var spaced bytes.Buffer
		if err := json.Indent(&spaced, []byte(compact), " ", "\t"); err != nil {
			rt.Fatal(err)
		}
		in := event.New(event.ToolCallStarted{Name: "t", Arguments: spaced.Bytes()})
		data, err := event.Marshal(in)
		if err != nil {
			rt.Fatal(err)
		}
		var out event.Event
		if err := event.Unmarshal(data, &out); err != nil {
			rt.Fatal(err)
		}
		got := out.Payload.(event.ToolCallStarted).Arguments
		if string(got) != compact {
			rt.Fatalf("arguments came back as %s, want %s", got, compact)
		}
		// after one trip the event is stable
		again, _ := event.Marshal(out)
		if !bytes.Equal(again, data) {
			rt.Fatalf("second encoding differs")
		}
		in.Payload = event.ToolCallStarted{Name: "t", Arguments: []byte(compact)}
		if !reflect.DeepEqual(in, out) {
			rt.Fatalf("events differ beyond white space")
		}
	})
}
