package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// demoTypes is the order of the demo's events, as a user following the run
// would see them.
var demoTypes = []event.Type{
	"conversation.started", "message.created",
	"pipeline.started", "middleware.started", "context.built", "middleware.completed", "middleware.started",
	"provider.call.started", "message.started", "message.usage",
	"message.block.started", "message.thinking.delta", "message.thinking.completed", "message.block.stopped",
	"message.block.started", "message.text.delta", "message.text.completed", "message.block.stopped",
	"message.block.started", "tool.call.delta", "tool.call.requested", "message.block.stopped",
	"message.usage", "message.stopped", "provider.call.completed", "message.created",
	"tool.call.started", "tool.call.completed", "message.created",
	"provider.call.started", "message.started", "message.usage",
	"message.block.started", "message.text.delta", "message.text.completed", "message.block.stopped",
	"message.usage", "message.stopped", "provider.call.completed", "message.created",
	"middleware.completed", "pipeline.completed",
}

// collapse merges runs of the same type, so streams of deltas count once.
func collapse(types []event.Type) []event.Type {
	var out []event.Type
	for _, t := range types {
		if len(out) == 0 || out[len(out)-1] != t {
			out = append(out, t)
		}
	}
	return out
}

func TestDemoJSONIsValidAndOrdered(t *testing.T) {
	out, _, err := run(t, "", "demo", "--speed", "0", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var types []event.Type
	var text, thinking strings.Builder
	var seqCheck int64
	for i, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var ev event.Event
		if err := event.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if ev.Meta.SessionID == "" || ev.Meta.RunID == "" {
			t.Errorf("line %d lacks run or session: %+v", i+1, ev.Meta)
		}
		types = append(types, ev.Type)
		switch p := ev.Payload.(type) {
		case event.TextDelta:
			if p.Offset != int64(text.Len()) && p.Offset != 0 {
				t.Errorf("line %d: offset %d after %d bytes", i+1, p.Offset, text.Len())
			}
			if p.Offset == 0 {
				text.Reset()
			}
			text.WriteString(p.Text)
		case event.TextCompleted:
			if p.Text != text.String() {
				t.Errorf("completed text %q != deltas %q", p.Text, text.String())
			}
		case event.ThinkingDelta:
			thinking.WriteString(p.Text)
		}
		seqCheck++
	}
	if got := collapse(types); !equalTypes(got, demoTypes) {
		t.Errorf("event order:\n got %v\nwant %v", got, demoTypes)
	}
	if !strings.Contains(thinking.String(), "get_weather") {
		t.Errorf("thinking = %q", thinking.String())
	}

	// what demo writes, validate accepts
	vout, stderr, err := run(t, out, "validate", "-")
	if exitCode(err) != 0 || vout != "" || !strings.Contains(stderr, " 0 bad") {
		t.Errorf("validate: %v %q %q", err, vout, stderr)
	}
}

func equalTypes(a, b []event.Type) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDemoText(t *testing.T) {
	out, _, err := run(t, "", "demo", "--speed", "0")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"thinking: The user wants the current weather in Paris.",
		"\nI'll check the current weather in Paris for you.\n",
		"tool.call.requested get_weather",
		`"sky": "partly cloudy"`,
		"A light jacket should be enough if you're heading out.\n",
		"cost=$0.0027",
		"pipeline.completed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo text lacks %q", want)
		}
	}
}

func TestDemoYAML(t *testing.T) {
	out, _, err := run(t, "", "demo", "--speed", "0", "--format", "yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(out)))
	n := 0
	for {
		var doc struct {
			Type    string         `yaml:"type"`
			Payload map[string]any `yaml:"payload"`
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		n++
		if doc.Type == "provider.call.completed" {
			usage := doc.Payload["usage"].(map[string]any)
			if _, ok := usage["input_tokens"].(int); !ok {
				t.Errorf("input_tokens is %T, want int", usage["input_tokens"])
			}
		}
	}
	if n < len(demoTypes) {
		t.Errorf("%d YAML documents", n)
	}
}

func TestDemoFlags(t *testing.T) {
	if _, _, err := run(t, "", "demo", "--format", "xml"); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("bad format: %v", err)
	}
	if _, _, err := run(t, "", "demo", "--speed", "-1"); err == nil || !strings.Contains(err.Error(), "--speed") {
		t.Errorf("bad speed: %v", err)
	}
}

func TestDemoInterrupted(t *testing.T) {
	var mu sync.Mutex
	var got []event.Event
	sink := sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, *ev)
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// cancel once the answer's text has started to stream
		for ctx.Err() == nil {
			time.Sleep(2 * time.Millisecond)
			mu.Lock()
			streaming := len(got) > 0 && got[len(got)-1].Type == event.TypeTextDelta
			mu.Unlock()
			if streaming {
				cancel()
				return
			}
		}
	}()
	if err := runDemo(ctx, sink, 4, nil, newDemoMeta()); err != nil {
		t.Fatal(err)
	}
	var interrupted *event.StreamInterrupted
	for _, ev := range got {
		if p, ok := event.As[event.StreamInterrupted](ev); ok {
			interrupted = &p
		}
	}
	if interrupted == nil || interrupted.Reason != context.Canceled.Error() || interrupted.Text == "" {
		t.Fatalf("no stream.interrupted with the partial text: %+v", interrupted)
	}
	last := got[len(got)-1]
	failed, ok := event.As[event.PipelineFailed](last)
	if !ok || failed.Error.Kind != event.KindCanceled {
		t.Fatalf("last event = %s %+v, want pipeline.failed (canceled)", last.Type, last.Payload)
	}
}
