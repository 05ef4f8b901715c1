package printer

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// errNilEvent is returned by every printer's Publish for a nil event.
var errNilEvent = fmt.Errorf("printer: %w", sluice.ErrNilEvent)

// bufLimit is the largest buffer a printer keeps between events; a bigger
// one (left by a huge event) is released after use.
const bufLimit = 64 << 10

// sink is what every printer shares: its writer, its options, the lock
// that serializes its output and its name in errors.
type sink struct {
	mu   sync.Mutex
	w    io.Writer
	opt  config
	name string // "text", "json" or "yaml"
}

// init sets up s for a printer named name writing to w; a nil writer or a
// nil option gives an error wrapping ErrInvalid.
func (s *sink) init(w io.Writer, name string, metaDefault bool, opts []Option) error {
	if w == nil {
		return fmt.Errorf("printer: %s: %w: nil writer", name, ErrInvalid)
	}
	c, err := newConfig(metaDefault, opts)
	if err != nil {
		return fmt.Errorf("printer: %s: %w", name, err)
	}
	s.w, s.opt, s.name = w, c, name
	return nil
}

// Enabled implements sluice.Sink. It reports false only for thinking
// events when thinking is hidden.
func (s *sink) Enabled(_ context.Context, t event.Type) bool { return s.opt.wants(t) }

// skip opens every printer's Publish: it reports whether ev is not to be
// printed, with errNilEvent for a nil event and no error for one the
// options leave out.
func (s *sink) skip(ev *event.Event) (bool, error) {
	if ev == nil {
		return true, errNilEvent
	}
	return !s.opt.wants(ev.Type), nil
}

// wrapWrite wraps an error of the printer's writer; nil stays nil.
func (s *sink) wrapWrite(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("printer: %s: write: %w", s.name, err)
}

// appendWire appends ev's wire JSON to dst, without its metadata when the
// options leave it out. ev itself is not changed.
func (s *sink) appendWire(dst []byte, ev *event.Event) ([]byte, error) {
	if s.opt.meta || ev.Meta.IsZero() {
		return ev.AppendJSON(dst)
	}
	e := *ev
	e.Meta = event.Meta{}
	return e.AppendJSON(dst)
}

// release drops *b if it has grown past bufLimit, so that a printer does
// not keep the buffer of a huge event.
func release(b *[]byte) {
	if cap(*b) > bufLimit {
		*b = nil
	}
}
