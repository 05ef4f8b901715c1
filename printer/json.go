package printer

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/sluice-events/sluice/event"
)

// JSONPrinter is the sink returned by JSON.
type JSONPrinter struct {
	mu  sync.Mutex
	w   io.Writer
	opt options
	buf []byte
}

// JSON returns a sink that writes each event to w as one line of JSON in
// the event package's wire format, the newline-delimited form that
// "sluice validate -" reads and event.Unmarshal decodes. Metadata is
// included unless WithMeta(false) is given; WithThinking(false) leaves out
// thinking events.
func JSON(w io.Writer, opts ...Option) *JSONPrinter {
	return &JSONPrinter{w: w, opt: buildOptions(true, opts)}
}

// Enabled implements sluice.Sink. It reports false only for thinking
// events when thinking is hidden.
func (p *JSONPrinter) Enabled(_ context.Context, t event.Type) bool { return p.opt.wants(t) }

// Publish implements sluice.Sink: it encodes ev and writes it, with its
// newline, in one Write call. An event that does not encode (it has no
// payload, or a raw payload that is not JSON) is not written, and the
// encoding error is returned; so is the writer's error, wrapped.
func (p *JSONPrinter) Publish(_ context.Context, ev *event.Event) error {
	if ev == nil {
		return errNilEvent
	}
	if !p.opt.wants(ev.Type) {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	if p.opt.meta || ev.Meta.IsZero() {
		p.buf, err = ev.AppendJSON(p.buf[:0])
	} else {
		e := *ev
		e.Meta = event.Meta{}
		p.buf, err = e.AppendJSON(p.buf[:0])
	}
	if err != nil {
		return fmt.Errorf("printer: json: %w", err)
	}
	p.buf = append(p.buf, '\n')
	_, err = p.w.Write(p.buf)
	if cap(p.buf) > bufLimit {
		p.buf = nil
	}
	if err != nil {
		return fmt.Errorf("printer: json: write: %w", err)
	}
	return nil
}
