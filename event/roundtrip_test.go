package event_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"pgregory.net/rapid"

	"github.com/sluice-events/sluice/event"
)

// progress is a custom payload type registered by the tests.
type progress struct {
	Percent int             `json:"percent"`
	Note    string          `json:"note,omitempty"`
	Big     int64           `json:"big,omitempty"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

func (progress) EventType() event.Type { return "sluicetest.progress" }

func init() { event.MustRegister[progress]("Test progress.", event.Aliases("other:progress")) }

// genJSON draws a compact JSON value, with integers beyond float64's exact
// range so that a codec that turns numbers into floats is caught.
func genJSON(t *rapid.T, depth int) string {
	kind := rapid.IntRange(0, 6).Draw(t, "kind")
	if depth > 2 && kind >= 5 {
		kind = 0
	}
	switch kind {
	case 0:
		return strconv.FormatInt(rapid.Int64().Draw(t, "int"), 10)
	case 1:
		b, _ := json.Marshal(rapid.String().Draw(t, "str"))
		return string(b)
	case 2:
		return []string{"true", "false", "null"}[rapid.IntRange(0, 2).Draw(t, "lit")]
	case 3:
		return strconv.FormatUint(rapid.Uint64().Draw(t, "uint"), 10)
	case 4:
		return "1.5e300"
	case 5:
		n := rapid.IntRange(0, 3).Draw(t, "n")
		var b bytes.Buffer
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(genJSON(t, depth+1))
		}
		b.WriteByte(']')
		return b.String()
	default:
		n := rapid.IntRange(0, 3).Draw(t, "n")
		var b bytes.Buffer
		b.WriteByte('{')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			k, _ := json.Marshal(fmt.Sprintf("k%d", i))
			b.Write(k)
			b.WriteByte(':')
			b.WriteString(genJSON(t, depth+1))
		}
		b.WriteByte('}')
		return b.String()
	}
}

var (
	rawType  = reflect.TypeFor[json.RawMessage]()
	timeType = reflect.TypeFor[time.Time]()
)

func genTime(t *rapid.T, label string) time.Time {
	sec := rapid.Int64Range(0, 4102444800).Draw(t, label+".sec")
	nsec := rapid.Int64Range(0, 999999999).Draw(t, label+".nsec")
	return time.Unix(sec, nsec).UTC()
}

// genValue fills a value of type typ with random content. Empty slices and
// maps are nil, as they decode.
func genValue(t *rapid.T, typ reflect.Type, label string) reflect.Value {
	v := reflect.New(typ).Elem()
	switch {
	case typ == rawType:
		if rapid.Bool().Draw(t, label+".set") {
			v.SetBytes([]byte(genJSON(t, 0)))
		}
		return v
	case typ == timeType:
		if rapid.Bool().Draw(t, label+".set") {
			v.Set(reflect.ValueOf(genTime(t, label)))
		}
		return v
	}
	switch typ.Kind() {
	case reflect.String:
		v.SetString(rapid.String().Draw(t, label))
	case reflect.Uint8:
		v.SetUint(uint64(rapid.Byte().Draw(t, label)))
	case reflect.Bool:
		v.SetBool(rapid.Bool().Draw(t, label))
	case reflect.Int, reflect.Int64:
		v.SetInt(rapid.Int64().Draw(t, label))
	case reflect.Float64:
		f := rapid.Float64().Draw(t, label)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			f = 0.25
		}
		v.SetFloat(f)
	case reflect.Pointer:
		if rapid.Bool().Draw(t, label+".set") {
			p := reflect.New(typ.Elem())
			p.Elem().Set(genValue(t, typ.Elem(), label+".*"))
			v.Set(p)
		}
	case reflect.Slice:
		n := rapid.IntRange(0, 3).Draw(t, label+".len")
		if n == 0 {
			return v
		}
		s := reflect.MakeSlice(typ, n, n)
		for i := range n {
			s.Index(i).Set(genValue(t, typ.Elem(), fmt.Sprintf("%s[%d]", label, i)))
		}
		v.Set(s)
	case reflect.Map:
		n := rapid.IntRange(0, 3).Draw(t, label+".len")
		if n == 0 {
			return v
		}
		m := reflect.MakeMapWithSize(typ, n)
		for i := range n {
			m.SetMapIndex(reflect.ValueOf(fmt.Sprintf("key%d", i)).Convert(typ.Key()),
				genValue(t, typ.Elem(), fmt.Sprintf("%s[%d]", label, i)))
		}
		v.Set(m)
	case reflect.Struct:
		for i := range typ.NumField() {
			if typ.Field(i).IsExported() {
				v.Field(i).Set(genValue(t, typ.Field(i).Type, label+"."+typ.Field(i).Name))
			}
		}
	default:
		t.Fatalf("genValue: unsupported kind %v at %s", typ.Kind(), label)
	}
	return v
}

func genMeta(t *rapid.T) event.Meta {
	s := func(name string) string {
		if rapid.Bool().Draw(t, name+".set") {
			return rapid.String().Draw(t, name)
		}
		return ""
	}
	m := event.Meta{
		RunID: s("run"), SessionID: s("session"), ConversationID: s("conversation"), TurnID: s("turn"),
		InferenceID: s("inference"), MessageID: s("message"), ToolCallID: s("tool_call"),
		RequestID: s("request"), ParentID: s("parent"), Provider: s("provider"), Model: s("model"),
	}
	if n := rapid.IntRange(0, 20).Draw(t, "labels"); n > 0 {
		m.Labels = map[string]string{}
		for range n {
			m.Labels[rapid.StringN(1, 10, -1).Draw(t, "label.key")] = rapid.String().Draw(t, "label.value")
		}
	}
	return m
}

// TestRoundTripEveryType checks, for every catalog type and a registered
// custom type, that random events encode and decode to an equal event.
func TestRoundTripEveryType(t *testing.T) {
	defs := event.Types()
	if len(defs) < 100 {
		t.Fatalf("only %d types registered", len(defs))
	}
	for _, def := range defs {
		t.Run(string(def.Type), func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				p := genValue(rt, def.GoType(), "payload").Interface().(event.Payload)
				ev := event.Event{
					ID:      uuid.UUID(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(rt, "id")),
					Type:    def.Type,
					Time:    genTime(rt, "time"),
					Seq:     rapid.Uint64().Draw(rt, "seq"),
					Meta:    genMeta(rt),
					Payload: p,
				}
				data, err := event.Marshal(ev)
				if err != nil {
					rt.Fatalf("marshal: %v", err)
				}
				var back event.Event
				if err := event.Unmarshal(data, &back); err != nil {
					rt.Fatalf("unmarshal %s: %v", data, err)
				}
				if !reflect.DeepEqual(ev, back) {
					rt.Fatalf("round trip changed the event\n in: %#v\nout: %#v\njson: %s", ev, back, data)
				}
				again, err := event.Marshal(back)
				if err != nil || !bytes.Equal(again, data) {
					rt.Fatalf("re-encoding differs (%v)\n%s\n%s", err, data, again)
				}
			})
		})
	}
}

// TestUnknownTypeKeepsBytes checks that a relay that does not know a type
// passes its (compact) payload on byte for byte.
func TestUnknownTypeKeepsBytes(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		payload := genJSON(rt, 0)
		in := `{"id":"0193a5b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b","type":"otherapp.thing.happened","time":"2026-11-21T10:00:00.5Z","seq":7,"payload":` + payload + `}`
		var ev event.Event
		if err := event.Unmarshal([]byte(in), &ev); err != nil {
			rt.Fatalf("unmarshal: %v", err)
		}
		raw, ok := ev.Payload.(event.Raw)
		if !ok || string(raw.Data) != payload || raw.Name != "otherapp.thing.happened" {
			rt.Fatalf("payload = %#v, want Raw with %s", ev.Payload, payload)
		}
		out, err := event.Marshal(ev)
		if err != nil {
			rt.Fatal(err)
		}
		if string(out) != in {
			rt.Fatalf("re-encoded\n%s\nwant\n%s", out, in)
		}
	})
}

func TestIntegersStayIntegers(t *testing.T) {
	in := event.New(event.ProviderCallCompleted{
		Provider: "openai", Model: "gpt", Usage: event.Usage{InputTokens: math.MaxInt64, OutputTokens: 9007199254740993},
	})
	custom := event.New(event.MiddlewareCustom{Middleware: "m", Name: "n", Data: json.RawMessage(`{"big":12345678901234567891,"neg":-9007199254740993}`)})
	for _, ev := range []event.Event{in, custom} {
		data, err := event.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var back event.Event
		if err := event.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(ev, back) {
			t.Errorf("changed:\n%#v\n%#v", ev, back)
		}
		if bytes.Contains(data, []byte("e+")) {
			t.Errorf("encoding used floats: %s", data)
		}
	}
}
