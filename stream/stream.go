package stream

import (
	"context"
	"sync"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// Stream is a per-session bounded broadcast of events: every attached
// Reader receives every event the stream accepted, in order. Create one
// with New or through a Manager. A Stream is safe for concurrent use.
//
// Events are numbered internally from 0 in the order the stream accepted
// them; the ring buffer holds the events from head (the oldest one some
// reader still needs) to tail (the next number to give).
type Stream struct {
	id     string
	policy Policy
	clock  func() time.Time // nil: the wall clock, read cheaply (see stamp)
	born   time.Time        // creation time, by clock

	mu        sync.Mutex
	ring      []event.Event
	head      uint64 // oldest event still held
	tail      uint64 // number of the next event to accept
	delivered uint64 // one past the newest event any reader has received
	readers   []*Reader
	def       *Reader // the reader Stream.Receive uses, made on first use
	closed    bool
	dropped   uint64
	blocked   int           // senders waiting for room
	room      chan struct{} // closed when room may have appeared; nil if no sender waits
	waiting   int           // readers with goroutines waiting for events
	last      time.Duration // time of the last send or receive, after born
}

// New returns an open stream with the given ID, configured by opts (by
// default a buffer of DefaultBufferSize events and the Block policy). An
// empty ID or a bad option gives ErrInvalid.
func New(id string, opts ...Option) (*Stream, error) {
	c := defaultConfig()
	if err := c.apply(opts); err != nil {
		return nil, newError(id, "new", err)
	}
	if id == "" {
		return nil, invalid(id, "new", "empty stream ID")
	}
	return newStream(id, c), nil
}

func newStream(id string, c config) *Stream {
	s := &Stream{
		id:     id,
		policy: c.policy,
		ring:   make([]event.Event, c.bufferSize),
	}
	if c.now == nil {
		s.born = time.Now()
	} else {
		s.clock = c.now
		s.born = c.now()
	}
	return s
}

// since returns the time now as an offset from the stream's creation. Sends
// and receives read it before they take the lock, to keep the critical
// section short, and record it with stamp. With the default clock it reads
// only the monotonic clock, which costs about half of time.Now.
func (s *Stream) since() time.Duration {
	if s.clock == nil {
		return time.Since(s.born)
	}
	return s.clock().Sub(s.born)
}

// stamp records activity at t (from since); concurrent operations may
// record out of order, so the latest time wins.
func (s *Stream) stamp(t time.Duration) {
	if t > s.last {
		s.last = t
	}
}

func (s *Stream) lastActivity() time.Time { return s.born.Add(s.last) }

// ID returns the stream's ID.
func (s *Stream) ID() string { return s.id }

// BufferSize returns how many events the stream can buffer.
func (s *Stream) BufferSize() int { return len(s.ring) }

// Policy returns the stream's delivery policy.
func (s *Stream) Policy() Policy { return s.policy }

// Len returns how many events the stream holds: those some attached reader
// has not received yet (with no reader attached, those no reader has
// received yet). It is at most BufferSize.
func (s *Stream) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int(s.tail - s.head)
}

// IsClosed reports whether Close has been called.
func (s *Stream) IsClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Dropped returns how many events the stream dropped: refused with ErrFull
// under DropNewest, or discarded from the buffer under DropOldest.
func (s *Stream) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Info describes a stream at one moment.
type Info struct {
	// ID is the stream's ID.
	ID string
	// BufferSize is how many events the stream can buffer.
	BufferSize int
	// Len is how many events it holds now (its load).
	Len int
	// Policy is its delivery policy.
	Policy Policy
	// Closed reports whether it has been closed.
	Closed bool
	// Readers is how many readers are attached.
	Readers int
	// Dropped is how many events it dropped (see Stream.Dropped).
	Dropped uint64
	// BlockedSenders is how many senders wait for room.
	BlockedSenders int
	// LastActivity is the time of its last send or receive, counting sends
	// refused with ErrFull (or of its creation, if there was none yet).
	// Look-ups such as Info do not count.
	LastActivity time.Time
}

// Info returns a snapshot of the stream's state.
func (s *Stream) Info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Info{
		ID:             s.id,
		BufferSize:     len(s.ring),
		Len:            int(s.tail - s.head),
		Policy:         s.policy,
		Closed:         s.closed,
		Readers:        len(s.readers),
		Dropped:        s.dropped,
		BlockedSenders: s.blocked,
		LastActivity:   s.lastActivity(),
	}
}

// Send is SendWithContext with context.Background: under the Block policy it
// waits, with no time limit, until there is room or the stream is closed.
func (s *Stream) Send(ev event.Event) error {
	return s.SendWithContext(context.Background(), ev)
}

// SendWithContext adds a copy of ev to the stream for every reader.
//
// If the buffer is full, the DropNewest policy returns ErrFull at once, the
// DropOldest policy discards the oldest buffered event (readers that had not
// received it skip it) and sends, and the Block policy waits until the slowest reader makes room (then sends), ctx
// ends (then returns ctx's error), or the stream is closed (then returns
// ErrClosed). ctx only bounds the wait: a send that can complete at once
// does, even if ctx is done. A closed stream returns ErrClosed, a nil ctx
// ErrInvalid.
func (s *Stream) SendWithContext(ctx context.Context, ev event.Event) error {
	if s == nil || s.ring == nil {
		return invalid("", "send", "nil or zero Stream")
	}
	if ctx == nil {
		return invalid(s.id, "send", "nil context")
	}
	t := s.since()
	s.mu.Lock()
	for {
		if s.closed {
			s.mu.Unlock()
			return newError(s.id, "send", ErrClosed)
		}
		if s.tail-s.head < uint64(len(s.ring)) {
			s.ring[s.tail%uint64(len(s.ring))] = ev
			s.tail++
			s.stamp(t)
			if s.waiting > 0 {
				s.wakeReaders()
			}
			s.mu.Unlock()
			return nil
		}
		if s.policy == DropOldest {
			s.dropOldestLocked()
			continue
		}
		if s.policy == DropNewest {
			s.dropped++
			s.stamp(t)
			s.mu.Unlock()
			return newError(s.id, "send", ErrFull)
		}
		if s.room == nil {
			s.room = make(chan struct{})
		}
		room := s.room
		s.blocked++
		s.mu.Unlock()
		var err error
		select {
		case <-room:
		case <-ctx.Done():
			err = ctx.Err()
		}
		t = s.since()
		s.mu.Lock()
		s.blocked--
		if err != nil {
			s.mu.Unlock()
			return newError(s.id, "send", err)
		}
	}
}

// Enabled reports whether the stream still accepts events, so that a
// *Stream can serve as a sink: it is true until the stream is closed.
func (s *Stream) Enabled(context.Context, event.Type) bool {
	return s != nil && s.ring != nil && !s.IsClosed()
}

// Publish sends a copy of *ev with SendWithContext, so that a *Stream can
// serve as a sink. A nil ev gives an error wrapping ErrInvalid and
// sluice.ErrNilEvent.
func (s *Stream) Publish(ctx context.Context, ev *event.Event) error {
	if ev == nil {
		id := ""
		if s != nil {
			id = s.id
		}
		return invalid(id, "send", "%w", sluice.ErrNilEvent)
	}
	return s.SendWithContext(ctx, *ev)
}

// Close closes the stream. Senders blocked in Send return ErrClosed, and so
// does every later Send; readers receive what is still buffered and then
// ErrClosed. Close never panics a concurrent sender or reader. The first
// call returns nil and later calls return ErrClosed.
func (s *Stream) Close() error {
	if s == nil || s.ring == nil {
		return invalid("", "close", "nil or zero Stream")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return newError(s.id, "close", ErrClosed)
	}
	s.closed = true
	s.wakeSenders()
	s.wakeReaders()
	return nil
}

// closeIfIdle closes the stream unless a sender is blocked in it or it saw a
// send or receive within threshold of now; it reports whether the stream is
// closed when it returns.
func (s *Stream) closeIfIdle(now time.Time, threshold time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return true
	}
	if s.blocked > 0 || now.Sub(s.lastActivity()) <= threshold {
		return false
	}
	s.closed = true
	s.wakeSenders()
	s.wakeReaders()
	return true
}

// Receive returns the next event of the stream's default reader, which is
// attached on the first call and shared by every caller of Receive: callers
// compete for events as on a channel. For each consumer to see every event,
// give each its own Reader. See Reader.Receive for the semantics.
func (s *Stream) Receive(ctx context.Context) (event.Event, error) {
	if s == nil || s.ring == nil {
		return event.Event{}, invalid("", "receive", "nil or zero Stream")
	}
	s.mu.Lock()
	if s.def == nil {
		s.def = s.attachLocked()
	}
	r := s.def
	s.mu.Unlock()
	return r.Receive(ctx)
}

// Reader attaches a new reader to the stream. It receives every event that
// no reader has received yet and every event sent after it attached, each
// exactly once and in order, until it is detached with Reader.Close or the
// stream is closed and drained. While attached it holds back Block senders
// once it lags a full buffer behind, so a reader that stops reading must be
// closed. A reader attached to a closed stream drains what no reader has
// received yet.
func (s *Stream) Reader() *Reader {
	if s == nil || s.ring == nil {
		return &Reader{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attachLocked()
}

func (s *Stream) attachLocked() *Reader {
	r := &Reader{s: s, cursor: s.delivered, wake: make(chan struct{}, 1)}
	s.readers = append(s.readers, r)
	return r
}

// advanceLocked recomputes head after a reader moved or left, frees the
// slots no reader needs any more, and wakes blocked senders if it made room.
func (s *Stream) advanceLocked() {
	h := s.delivered
	for _, r := range s.readers {
		h = min(h, r.cursor)
	}
	if h == s.head {
		return
	}
	n := uint64(len(s.ring))
	for i := s.head; i < h; i++ {
		s.ring[i%n] = event.Event{} // let the payload be collected
	}
	s.head = h
	s.wakeSenders()
}

// dropOldestLocked discards the oldest buffered event, moving every reader
// that had not received it past it, and counts the drop.
func (s *Stream) dropOldestLocked() {
	s.ring[s.head%uint64(len(s.ring))] = event.Event{}
	s.head++
	s.delivered = max(s.delivered, s.head)
	for _, r := range s.readers {
		r.cursor = max(r.cursor, s.head)
	}
	s.dropped++
}

func (s *Stream) wakeSenders() {
	if s.room != nil {
		close(s.room)
		s.room = nil
	}
}

func (s *Stream) wakeReaders() {
	for _, r := range s.readers {
		if r.waiters > 0 {
			r.signal()
		}
	}
}
