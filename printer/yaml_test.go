package printer_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"context"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/printer"
	"go.yaml.in/yaml/v3"
)

// yamlDocs decodes every document of a YAML stream.
func yamlDocs(t *testing.T, data []byte) []yaml.Node {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("document %d: %v", len(docs)+1, err)
		}
		docs = append(docs, n)
	}
}

func TestYAML(t *testing.T) {
	evs := script()
	var out bytes.Buffer
	publishAll(t, must(printer.YAML(&out)), evs)
	if !strings.HasPrefix(out.String(), "---\n") {
		t.Errorf("output does not start with ---")
	}
	if n := strings.Count(out.String(), "---\n"); n != len(evs) {
		t.Errorf("%d document markers, want %d", n, len(evs))
	}
	docs := yamlDocs(t, out.Bytes())
	if len(docs) != len(evs) {
		t.Fatalf("%d documents, want %d", len(docs), len(evs))
	}
	for i, doc := range docs {
		ev := evs[i]
		var m map[string]any
		if err := doc.Decode(&m); err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
		if m["id"] != ev.ID.String() || m["type"] != string(ev.Type) {
			t.Errorf("document %d: id %v type %v, want %v %v", i+1, m["id"], m["type"], ev.ID, ev.Type)
		}
		if m["time"] != "2025-01-02T03:04:05."+fmt.Sprintf("%03d", i+1)+"Z" &&
			m["time"] != ev.Time.Format("2006-01-02T15:04:05.999999999Z07:00") {
			t.Errorf("document %d: time %#v", i+1, m["time"])
		}
		if seq, ok := m["seq"].(int); !ok || uint64(seq) != ev.Seq {
			t.Errorf("document %d: seq %#v (%T), want the integer %d", i+1, m["seq"], m["seq"], ev.Seq)
		}
		meta, _ := m["meta"].(map[string]any)
		if meta["run"] != "run1" || meta["message"] != "msg1" {
			t.Errorf("document %d: meta %v", i+1, meta)
		}
		// The keys follow the wire order.
		var keys []string
		for j := 0; j < len(doc.Content[0].Content); j += 2 {
			keys = append(keys, doc.Content[0].Content[j].Value)
		}
		if got := strings.Join(keys, ","); got != "id,type,time,seq,meta,payload" {
			t.Errorf("document %d: keys %s", i+1, got)
		}
	}

	payload := func(i int) map[string]any {
		var m struct{ Payload map[string]any }
		if err := docs[i].Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m.Payload
	}
	// tool.call.requested: arguments are nested YAML.
	args, _ := payload(11)["arguments"].(map[string]any)
	if args["city"] != "Paris" || args["days"] != 2 {
		t.Errorf("arguments %#v", args)
	}
	// provider.call.completed: integers stay integers, the cost is a float.
	pc := payload(15)
	usage, _ := pc["usage"].(map[string]any)
	for k, want := range map[string]int{"input_tokens": 1200, "output_tokens": 80, "cached_tokens": 1000, "reasoning_tokens": 30} {
		if usage[k] != want {
			t.Errorf("usage.%s = %#v (%T), want the integer %d", k, usage[k], usage[k], want)
		}
	}
	if pc["duration_ns"] != 1234567890 {
		t.Errorf("duration_ns = %#v (%T)", pc["duration_ns"], pc["duration_ns"])
	}
	if pc["cost"] != 0.0123 {
		t.Errorf("cost = %#v (%T)", pc["cost"], pc["cost"])
	}
	// stream.error: booleans stay booleans.
	if e, _ := payload(16)["error"].(map[string]any); e["retryable"] != true || e["code"] != "overloaded_error" {
		t.Errorf("error %#v", e)
	}
	// thinking delta: text with a newline survives.
	if txt := payload(3)["text"]; txt != "the weather.\nCall the tool." {
		t.Errorf("text %q", txt)
	}
}

func TestYAMLWithoutMeta(t *testing.T) {
	var out bytes.Buffer
	publishAll(t, must(printer.YAML(&out, printer.WithMeta(false))), script()[:3])
	if strings.Contains(out.String(), "meta:") {
		t.Errorf("output has meta:\n%s", out.String())
	}
	if n := len(yamlDocs(t, out.Bytes())); n != 3 {
		t.Errorf("%d documents, want 3", n)
	}
}

func TestYAMLValues(t *testing.T) {
	src := source()
	evs := []event.Event{
		src.New(event.Raw{Name: "myapp.odd", Data: []byte(`{"s":"true","n":"123","e":1e-7,"big":12345678901234567890,"null":null,"arr":[],"obj":{},"t":"2025-01-02"}`)}, event.Meta{}),
	}
	var out bytes.Buffer
	publishAll(t, must(printer.YAML(&out)), evs)
	var m struct{ Payload map[string]any }
	docs := yamlDocs(t, out.Bytes())
	if err := docs[0].Decode(&m); err != nil {
		t.Fatal(err)
	}
	p := m.Payload
	for k, want := range map[string]any{"s": "true", "n": "123", "e": 1e-7, "null": nil, "t": "2025-01-02"} {
		if p[k] != want {
			t.Errorf("%s = %#v (%T), want %#v\n%s", k, p[k], p[k], want, out.String())
		}
	}
	if p["big"] != uint64(12345678901234567890) {
		t.Errorf("big = %#v (%T)", p["big"], p["big"])
	}
}

func TestYAMLConcurrent(t *testing.T) {
	var out lockedBuffer
	p := must(printer.YAML(&out))
	const goroutines, events = 8, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range events {
				ev := event.New(event.TextDelta{Index: g, Offset: int64(i), Text: "x\ny"})
				if err := p.Publish(context.Background(), &ev); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(yamlDocs(t, []byte(out.String()))); n != goroutines*events {
		t.Errorf("%d documents, want %d", n, goroutines*events)
	}
}
