package guard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// Loop stops a run that calls the same tool with the same arguments
// several times in a row. It watches the tool calls the model requests
// (tool.call.requested) and the ones that execute (tool.call.started),
// counting each call ID once, and compares arguments as JSON (spacing
// aside). Publish the events of one run through it.
//
// On the last allowed repeat it publishes guard.loop_detected, after the
// call's event, and calls stop with an error wrapping ErrLoop, once.
type Loop struct {
	base
	stop context.CancelCauseFunc

	mu      sync.Mutex
	tool    string
	args    []byte
	lastID  string
	count   int
	tripped bool
}

// NewLoop returns a Loop that passes events on to next and calls stop
// when a call repeats too often (see WithRepeats).
func NewLoop(next sluice.Sink, stop context.CancelCauseFunc, opts ...Option) (*Loop, error) {
	b, err := newBase("loop", next, opts, "WithRepeats")
	if err != nil {
		return nil, err
	}
	if stop == nil {
		return nil, fmt.Errorf("guard: loop: %w: nil stop function", ErrInvalid)
	}
	if b.cfg.repeats == 0 {
		b.cfg.repeats = 3
	}
	return &Loop{base: b, stop: stop}, nil
}

// Enabled implements sluice.Sink: it reports true for tool calls requested
// and started, and what the wrapped sink wants.
func (l *Loop) Enabled(ctx context.Context, t event.Type) bool {
	return l.enabled(ctx, t, t == event.TypeToolCallRequested || t == event.TypeToolCallStarted)
}

// Publish implements sluice.Sink: it passes ev on, then counts it.
func (l *Loop) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		return nilEvent("loop")
	}
	err := l.forward(ctx, ev)
	var id, tool string
	var args json.RawMessage
	switch p := ev.Payload.(type) {
	case event.ToolCallRequested:
		id, tool, args = p.CallID, p.Name, p.Arguments
	case event.ToolCallStarted:
		id, tool, args = p.CallID, p.Name, p.Arguments
	default:
		return err
	}
	if id == "" {
		id = ev.Meta.ToolCallID
	}
	var compact bytes.Buffer
	if json.Compact(&compact, args) != nil {
		compact.Reset()
		compact.Write(args)
	}
	l.mu.Lock()
	if l.tripped || (id != "" && id == l.lastID) {
		l.mu.Unlock()
		return err
	}
	l.lastID = id
	if tool == l.tool && bytes.Equal(compact.Bytes(), l.args) {
		l.count++
	} else {
		l.tool, l.args, l.count = tool, bytes.Clone(compact.Bytes()), 1
	}
	n := l.count
	l.tripped = n >= l.cfg.repeats
	l.mu.Unlock()
	if n >= l.cfg.repeats {
		err = errors.Join(err, l.emit(ctx, ev.Meta, event.LoopDetected{Tool: tool, Arguments: bytes.Clone(compact.Bytes()), Repeats: n}))
		l.stop(fmt.Errorf("%w: %s called %d times in a row with %s", ErrLoop, tool, n, compact.Bytes()))
	}
	return err
}
