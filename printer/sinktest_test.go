package printer_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"go.yaml.in/yaml/v3"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/printer"
	"github.com/sluice-events/sluice/sinktest"
)

// output is a writer that can be read while a printer writes to it.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// printed returns a sinktest.NewFunc for the printer that newPrinter makes,
// with parse reading the events back from its output.
func printed(newPrinter func(w io.Writer) sluice.Sink, parse func(t *testing.T, out string) []event.Event) sinktest.NewFunc {
	return func(t *testing.T) sinktest.Harness {
		out := new(output)
		return sinktest.Harness{
			Sink:      newPrinter(out),
			Delivered: func() []event.Event { return parse(t, out.String()) },
		}
	}
}

// parseJSON reads one wire-format event per line.
func parseJSON(t *testing.T, out string) []event.Event {
	var evs []event.Event
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev event.Event
		if err := event.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Errorf("printed line %q: %v", sc.Text(), err)
			continue
		}
		evs = append(evs, ev)
	}
	return evs
}

// parseYAML reads YAML documents, each the wire format in YAML form.
func parseYAML(t *testing.T, out string) []event.Event {
	var evs []event.Event
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return evs
		}
		if err != nil {
			t.Errorf("printed YAML: %v\n%s", err, out)
			return evs
		}
		data, err := json.Marshal(doc)
		if err != nil {
			t.Errorf("printed YAML document %v: %v", doc, err)
			continue
		}
		var ev event.Event
		if err := event.Unmarshal(data, &ev); err != nil {
			t.Errorf("printed YAML document as JSON %s: %v", data, err)
			continue
		}
		evs = append(evs, ev)
	}
}

// parseText reads what the text printer's metadata prefix says of each
// event: its ID, and its session and message.
func parseText(t *testing.T, out string) []event.Event {
	var evs []event.Event
	for line := range strings.Lines(out) {
		var ev event.Event
		for field := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(field, "=")
			switch k {
			case "id":
				id, err := uuid.Parse(v)
				if err != nil {
					t.Errorf("printed line %q: id: %v", line, err)
				}
				ev.ID = id
			case "session":
				ev.Meta.SessionID = v
			case "message":
				ev.Meta.MessageID = v
			}
		}
		if ev.ID != (uuid.UUID{}) {
			evs = append(evs, ev)
		}
	}
	return evs
}

func TestConformance(t *testing.T) {
	t.Run("Text", func(t *testing.T) {
		sinktest.Run(t, printed(func(w io.Writer) sluice.Sink { return must(printer.Text(w, printer.WithMeta(true))) }, parseText))
	})
	t.Run("TextNoThinking", func(t *testing.T) {
		sinktest.Run(t, printed(func(w io.Writer) sluice.Sink {
			return must(printer.Text(w, printer.WithMeta(true), printer.WithThinking(false), printer.WithColor(true)))
		}, parseText))
	})
	t.Run("JSON", func(t *testing.T) {
		sinktest.Run(t, printed(func(w io.Writer) sluice.Sink { return must(printer.JSON(w)) }, parseJSON))
	})
	t.Run("JSONNoThinkingNoMeta", func(t *testing.T) {
		sinktest.Run(t, printed(func(w io.Writer) sluice.Sink {
			return must(printer.JSON(w, printer.WithThinking(false), printer.WithMeta(false)))
		}, parseJSON))
	})
	t.Run("YAML", func(t *testing.T) {
		sinktest.Run(t, printed(func(w io.Writer) sluice.Sink { return must(printer.YAML(w)) }, parseYAML))
	})
	t.Run("YAMLNoThinking", func(t *testing.T) {
		sinktest.Run(t, printed(func(w io.Writer) sluice.Sink { return must(printer.YAML(w, printer.WithThinking(false))) }, parseYAML))
	})
}
