package event_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/event"
)

func TestNewStampsIDAndTime(t *testing.T) {
	before := time.Now()
	ev := event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: "s"})
	if ev.ID.Version() != 7 || ev.ID.Variant() != uuid.RFC4122 {
		t.Errorf("ID %v is not a UUIDv7", ev.ID)
	}
	if ev.Type != event.TypeTextDelta || ev.Meta.SessionID != "s" || ev.Seq != 0 {
		t.Errorf("event = %+v", ev)
	}
	if ev.Time.Before(before.Add(-time.Millisecond)) || ev.Time.Location() != time.UTC {
		t.Errorf("time %v", ev.Time)
	}
	if err := ev.Validate(); err != nil {
		t.Errorf("fresh event invalid: %v", err)
	}
}

func TestIDsStrictlyIncrease(t *testing.T) {
	prev := event.NewID()
	for range 100000 {
		id := event.NewID()
		if bytes.Compare(id[:], prev[:]) <= 0 {
			t.Fatalf("%v does not sort after %v", id, prev)
		}
		ms := int64(id[0])<<40 | int64(id[1])<<32 | int64(id[2])<<24 | int64(id[3])<<16 | int64(id[4])<<8 | int64(id[5])
		if d := time.Since(time.UnixMilli(ms)); d < -time.Second || d > time.Minute {
			t.Fatalf("ID timestamp %v is off by %v", time.UnixMilli(ms), d)
		}
		prev = id
	}
}

func TestSourceIsReplaceable(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	src := event.Source{NewID: func() uuid.UUID { return uuid.UUID{15: 1} }, Now: func() time.Time { return at }}
	ev := src.New(event.Status{Status: "ok"}, event.Meta{})
	if ev.ID != (uuid.UUID{15: 1}) || !ev.Time.Equal(at) || ev.Time.Location() != time.UTC {
		t.Errorf("event = %v %v", ev.ID, ev.Time)
	}
}

func TestValidate(t *testing.T) {
	good := func() event.Event { return event.New(event.TextDelta{Text: "x"}) }
	cases := []struct {
		name string
		mod  func(*event.Event)
		want error
	}{
		{"no id", func(e *event.Event) { e.ID = uuid.UUID{} }, event.ErrMissingID},
		{"no type", func(e *event.Event) { e.Type = "" }, event.ErrMissingType},
		{"no time", func(e *event.Event) { e.Time = time.Time{} }, event.ErrMissingTime},
		{"no payload", func(e *event.Event) { e.Payload = nil }, event.ErrMissingPayload},
		{"bad name", func(e *event.Event) { e.Type = "Text" }, event.ErrTypeName},
		{"mismatch", func(e *event.Event) { e.Type = event.TypeThinkingDelta }, event.ErrTypeMismatch},
		{"negative offset", func(e *event.Event) { e.Payload = event.TextDelta{Offset: -1} }, event.ErrInvalidPayload},
		{"empty label key", func(e *event.Event) { e.Meta.Labels = map[string]string{"": "v"} }, event.ErrInvalidMetadata},
	}
	for _, c := range cases {
		ev := good()
		c.mod(&ev)
		err := ev.Validate()
		if !errors.Is(err, event.ErrInvalid) || !errors.Is(err, c.want) {
			t.Errorf("%s: Validate() = %v, want ErrInvalid and %v", c.name, err, c.want)
		}
	}
}

func TestUnmarshalErrors(t *testing.T) {
	cases := map[string]string{
		`{`:                             "unexpected end",
		`{"type":"message.text.delta"}`: "missing payload",
		`{"payload":{}}`:                "missing type",
		`{"type":"message.text.delta","payload":{"index":"one"}}`:          "index",
		`{"type":"message.text.delta","payload":{"offset":1.5}}`:           "offset",
		`{"type":"message.text.delta","payload":null}`:                     "null",
		`{"type":"a.b","payload":{}} x`:                                    "after value",
		`{"type":"a.b","id":"nope","payload":{}}`:                          "id",
		`{"type":"a.b","time":"yesterday","payload":{}}`:                   "time",
		`{"type":"a.b","seq":-1,"payload":{}}`:                             "seq",
		`{"type":"provider.call.started","payload":{"message_count":"x"}}`: "provider.call.started",
		`{"type":"a.b","payload":{}` + strings.Repeat("[", 1000):           "expected ',' or '}'",
		`{"type":"a.b","payload":` + strings.Repeat("[", 1000) + `}`:       "nesting",
	}
	for in, want := range cases {
		var ev event.Event
		err := event.Unmarshal([]byte(in), &ev)
		if !errors.Is(err, event.ErrMalformed) || !strings.Contains(err.Error(), want) {
			t.Errorf("Unmarshal(%.60q) = %v, want ErrMalformed mentioning %q", in, err, want)
		}
	}
}

func TestRegistry(t *testing.T) {
	if err := event.Register[progress]("again"); !errors.Is(err, event.ErrDuplicate) {
		t.Errorf("duplicate Register = %v, want ErrDuplicate", err)
	}
	if err := event.Register[unspaced]("x"); !errors.Is(err, event.ErrTypeName) {
		t.Errorf("un-namespaced Register = %v, want ErrTypeName", err)
	}
	if err := event.Register[reserved]("x"); !errors.Is(err, event.ErrTypeName) {
		t.Errorf("built-in namespace Register = %v, want ErrTypeName", err)
	}
	if err := event.Register[sameName]("x"); !errors.Is(err, event.ErrDuplicate) {
		t.Errorf("second Go type for a name = %v, want ErrDuplicate", err)
	}
	def, ok := event.Lookup("sluicetest.progress")
	if !ok || !def.Custom || def.Description != "Test progress." || def.Aliases[0] != "other:progress" || len(def.Fields) != 4 {
		t.Errorf("Lookup = %+v, %v", def, ok)
	}

	in := event.New(progress{Percent: 40, Big: 1 << 62, Detail: []byte(`{"n":1}`)}, event.Meta{SessionID: "s"})
	data, err := event.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out event.Event
	if err := event.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	p, ok := event.As[progress](out)
	if !ok || p.Percent != 40 || p.Big != 1<<62 || string(p.Detail) != `{"n":1}` {
		t.Errorf("decoded payload %#v", out.Payload)
	}
	if err := out.Validate(); err != nil {
		t.Error(err)
	}
}

type unspaced struct{}

func (unspaced) EventType() event.Type { return "progress" }

type reserved struct{}

func (reserved) EventType() event.Type { return "message.mine" }

type sameName struct{}

func (sameName) EventType() event.Type { return "sluicetest.progress" }

type codedErr struct{}

func (codedErr) Error() string   { return "rate limited" }
func (codedErr) Code() string    { return "429" }
func (codedErr) Temporary() bool { return true }

func TestErrorFrom(t *testing.T) {
	if e := event.ErrorFrom(nil); !e.IsZero() {
		t.Errorf("ErrorFrom(nil) = %+v", e)
	}
	e := event.ErrorFrom(fmt.Errorf("call: %w", context.Canceled))
	if e.Kind != event.KindCanceled || e.Message != "call: context canceled" {
		t.Errorf("canceled = %+v", e)
	}
	e = event.ErrorFrom(fmt.Errorf("provider: %w", codedErr{}))
	if e.Code != "429" || !e.Retryable || e.Message != "provider: rate limited" {
		t.Errorf("coded = %+v", e)
	}
	orig := event.Error{Message: "boom", Code: "E1", Kind: "tool"}
	e = event.ErrorFrom(fmt.Errorf("wrapped: %w", orig))
	if e.Code != "E1" || e.Kind != "tool" || e.Message != "wrapped: boom" {
		t.Errorf("kept = %+v", e)
	}
	// an Error survives JSON inside an event, unlike a Go error value
	ev := event.New(event.ToolCallFailed{Name: "search", Error: event.ErrorFrom(codedErr{})})
	data, _ := event.Marshal(ev)
	var back event.Event
	if err := event.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	got := back.Payload.(event.ToolCallFailed).Error
	if got.Message != "rate limited" || got.Code != "429" || !got.Retryable {
		t.Errorf("error after JSON = %+v (%s)", got, data)
	}
	var asErr error = got
	if asErr.Error() != "429: rate limited" {
		t.Errorf("Error() = %q", asErr.Error())
	}
}

func TestCatalogIsComplete(t *testing.T) {
	required := []event.Type{
		"pipeline.started", "pipeline.completed", "pipeline.failed",
		"middleware.started", "middleware.completed", "middleware.failed",
		"provider.call.started", "provider.call.completed", "provider.call.failed",
		"tool.call.started", "tool.call.completed", "tool.call.failed",
		"validation.started", "validation.passed", "validation.failed",
		"context.built", "context.token_budget_exceeded", "state.loaded", "state.saved",
		"stream.interrupted", "conversation.started", "message.created", "message.updated",
	}
	for _, typ := range required {
		def, ok := event.Lookup(typ)
		if !ok {
			t.Errorf("%s missing", typ)
			continue
		}
		if !contains(def.Aliases, "promptkit:"+string(typ)) {
			t.Errorf("%s lacks its promptkit alias: %v", typ, def.Aliases)
		}
	}
	designs := map[string]int{}
	for _, def := range event.Types() {
		if def.Custom {
			continue
		}
		if def.Description == "" || def.Emitted == "" {
			t.Errorf("%s lacks a description or when it is emitted", def.Type)
		}
		for _, f := range def.Fields {
			if f.Description == "" {
				t.Errorf("%s.%s has no description", def.Type, f.Name)
			}
		}
		for _, a := range def.Aliases {
			design, name, ok := strings.Cut(a, ":")
			if !ok || name == "" {
				t.Errorf("%s: alias %q is not design:name", def.Type, a)
			}
			designs[design]++
		}
	}
	for _, d := range []string{"promptkit", "promptkit-sdk", "ainative", "geppetto", "gomcptest"} {
		if designs[d] == 0 {
			t.Errorf("no aliases for design %s", d)
		}
	}
	if len(designs) != 5 {
		t.Errorf("aliases name designs %v", designs)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
