package printer

import (
	"context"
	"fmt"
	"io"

	"github.com/sluice-events/sluice/event"
)

// JSONPrinter is the sink returned by JSON.
type JSONPrinter struct {
	sink
	buf []byte
}

// JSON returns a sink that writes each event to w as one line of JSON in
// the event package's wire format, the newline-delimited form that
// "sluice validate -" reads and event.Unmarshal decodes. Metadata is
// included unless WithMeta(false) is given; WithThinking(false) leaves out
// thinking events. A nil w or a nil option gives an error wrapping
// ErrInvalid.
func JSON(w io.Writer, opts ...Option) (*JSONPrinter, error) {
	p := &JSONPrinter{}
	if err := p.init(w, "json", true, opts); err != nil {
		return nil, err
	}
	return p, nil
}

// Publish implements sluice.Sink: it encodes ev and writes it, with its
// newline, in one Write call. An event that does not encode (it has no
// payload, or a raw payload that is not JSON) is not written, and the
// encoding error is returned; so is the writer's error, wrapped.
func (p *JSONPrinter) Publish(_ context.Context, ev *event.Event) error {
	if skip, err := p.skip(ev); skip {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	p.buf, err = p.appendWire(p.buf[:0], ev)
	if err != nil {
		return fmt.Errorf("printer: json: %w", err)
	}
	p.buf = append(p.buf, '\n')
	_, err = p.w.Write(p.buf)
	release(&p.buf)
	return p.wrapWrite(err)
}
