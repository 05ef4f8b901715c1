package stream

import (
	"context"
	"iter"
	"slices"

	"github.com/sluice-events/sluice/event"
)

// Reader is one consumer's cursor into a Stream: it receives every event
// of the stream from the moment it attached (see Stream.Reader). A Reader is
// safe for concurrent use, but goroutines sharing one Reader split its
// events between them; give each consumer its own Reader instead.
type Reader struct {
	s        *Stream
	cursor   uint64        // number of the next event to receive; guarded by s.mu
	detached bool          // guarded by s.mu
	waiters  int           // goroutines waiting in Receive; guarded by s.mu
	wake     chan struct{} // capacity 1: a token says "look again"
}

// Receive returns the reader's next event. If none is buffered it waits
// until one is sent, ctx ends (then it returns ctx's error), or the stream
// is closed. After the stream is closed it returns what is still buffered
// for this reader, then ErrClosed, the stream's end of file. A detached
// reader returns ErrClosed. ctx only bounds the wait: a buffered event is
// returned even if ctx is done. A nil ctx gives ErrInvalid.
func (r *Reader) Receive(ctx context.Context) (event.Event, error) {
	if r == nil || r.s == nil {
		return event.Event{}, invalid("", "receive", "nil or zero Reader")
	}
	s := r.s
	if ctx == nil {
		return event.Event{}, invalid(s.id, "receive", "nil context")
	}
	t := s.since()
	s.mu.Lock()
	for {
		if r.detached {
			r.passLocked()
			s.mu.Unlock()
			return event.Event{}, newError(s.id, "receive", ErrClosed)
		}
		if r.cursor < s.tail {
			n := uint64(len(s.ring))
			ev := s.ring[r.cursor%n]
			was := r.cursor
			r.cursor++
			if r.cursor > s.delivered {
				s.delivered = r.cursor
			}
			if was == s.head {
				s.advanceLocked()
			}
			s.stamp(t)
			r.passLocked()
			s.mu.Unlock()
			return ev, nil
		}
		if s.closed {
			r.passLocked()
			s.mu.Unlock()
			return event.Event{}, newError(s.id, "receive", ErrClosed)
		}
		r.waiters++
		s.waiting++
		s.mu.Unlock()
		var err error
		select {
		case <-r.wake:
		case <-ctx.Done():
			err = ctx.Err()
		}
		t = s.since()
		s.mu.Lock()
		r.waiters--
		s.waiting--
		if err != nil {
			s.mu.Unlock()
			return event.Event{}, newError(s.id, "receive", err)
		}
	}
}

// passLocked hands the wake token on to another goroutine waiting on the
// same reader if there is something for it to see.
func (r *Reader) passLocked() {
	if r.waiters > 0 && (r.detached || r.s.closed || r.cursor < r.s.tail) {
		r.signal()
	}
}

func (r *Reader) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// All returns an iterator over the reader's events. The iteration ends when
// the stream is closed and drained, the reader is detached, or ctx ends;
// check ctx.Err to tell the last case apart. Breaking out of the loop leaves
// the reader attached, so a later iteration goes on where it stopped.
func (r *Reader) All(ctx context.Context) iter.Seq[event.Event] {
	return func(yield func(event.Event) bool) {
		for {
			ev, err := r.Receive(ctx)
			if err != nil || !yield(ev) {
				return
			}
		}
	}
}

// Close detaches the reader from its stream: it receives nothing more
// (Receive returns ErrClosed) and no longer holds back senders. Close is
// idempotent and always returns nil.
func (r *Reader) Close() error {
	if r == nil || r.s == nil {
		return nil
	}
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.detached {
		return nil
	}
	r.detached = true
	s.readers = slices.DeleteFunc(s.readers, func(x *Reader) bool { return x == r })
	if s.def == r {
		s.def = nil
	}
	s.advanceLocked()
	r.passLocked()
	return nil
}
