package printer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sluice-events/sluice/event"
	"go.yaml.in/yaml/v3"
)

// YAMLPrinter is the sink returned by YAML.
type YAMLPrinter struct {
	sink
	js  []byte
	out bytes.Buffer
}

// YAML returns a sink that writes each event to w as a YAML document that
// starts with "---". The document is the event's wire JSON in YAML form:
// the keys keep their wire order, integers stay integers, and JSON
// payload fields (tool arguments, results) become nested YAML. Metadata is
// included unless WithMeta(false) is given; WithThinking(false) leaves out
// thinking events. A nil w or a nil option gives an error wrapping
// ErrInvalid.
func YAML(w io.Writer, opts ...Option) (*YAMLPrinter, error) {
	p := &YAMLPrinter{}
	if err := p.init(w, "yaml", true, opts); err != nil {
		return nil, err
	}
	return p, nil
}

// Publish implements sluice.Sink: it converts ev to a YAML document and
// writes it in one Write call. An event that does not encode is not
// written, and the encoding error is returned; so is the writer's error,
// wrapped.
func (p *YAMLPrinter) Publish(_ context.Context, ev *event.Event) error {
	if skip, err := p.skip(ev); skip {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	p.js, err = p.appendWire(p.js[:0], ev)
	if err != nil {
		return fmt.Errorf("printer: yaml: %w", err)
	}
	node, err := jsonToNode(p.js)
	if err != nil {
		return fmt.Errorf("printer: yaml: %w", err)
	}
	p.out.Reset()
	p.out.WriteString("---\n")
	enc := yaml.NewEncoder(&p.out)
	enc.SetIndent(2)
	if err := enc.Encode(node); err != nil {
		return fmt.Errorf("printer: yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("printer: yaml: %w", err)
	}
	_, err = p.w.Write(p.out.Bytes())
	if p.out.Cap() > bufLimit {
		p.out = bytes.Buffer{}
	}
	release(&p.js)
	return p.wrapWrite(err)
}

// jsonToNode converts one JSON value to a YAML node, keeping the order of
// object keys and the text of numbers.
func jsonToNode(data []byte) (*yaml.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	n, err := decodeNode(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON value")
	}
	return n, nil
}

func decodeNode(dec *json.Decoder) (*yaml.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeNode(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, v)
			}
			_, err := dec.Token() // '}'
			return n, err
		case '[':
			n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
			for dec.More() {
				v, err := decodeNode(dec)
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
			_, err := dec.Token() // ']'
			return n, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case string:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(t), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(t)}, nil
	case bool:
		v := "false"
		if t {
			v = "true"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: v}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}
