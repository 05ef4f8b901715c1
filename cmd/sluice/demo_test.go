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
	"pipeline.started", "conversation.started", "message.created",
	"provider.call.started", "message.started", "message.usage",
	"message.block.started", "message.thinking.delta", "message.thinking.completed", "message.block.stopped",
	"message.block.started", "message.text.delta", "message.text.completed", "message.block.stopped",
	"message.block.started", "tool.call.delta", "tool.call.requested", "message.block.stopped",
	"message.usage", "message.stopped", "provider.call.completed",
	"tool.call.started", "tool.call.completed", "message.created",
	"provider.call.started", "message.started", "message.usage",
	"message.block.started", "message.text.delta", "message.text.completed", "message.block.stopped",
	"message.usage", "message.stopped", "provider.call.completed",
	"message.created", "message.updated", "pipeline.completed",
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
		"thinking: The user wants tomorrow's forecast",
		"\nLet me check tomorrow's forecast for Paris.\n",
		"tool.call.requested get_weather",
		`"precipitation_probability": 0.7`,
		"Yes — pack an umbrella, and a light jacket for the evening.\n",
		"cost=$0.0027",
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
	go func() {
		// cancel once the first text deltas have streamed
		for {
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n > 10 {
				cancel()
				return
			}
		}
	}()
	if err := runDemo(ctx, sink, 4, nil); err != nil {
		t.Fatal(err)
	}
	last := got[len(got)-1]
	p, ok := event.As[event.StreamInterrupted](last)
	if !ok || p.Reason != context.Canceled.Error() || p.Text == "" {
		t.Fatalf("last event = %s %+v, want stream.interrupted with partial text", last.Type, last.Payload)
	}
}
