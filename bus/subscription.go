package bus

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/sluice-events/sluice/event"
)

// DropReason is the Reason of the event.Dropped events a subscription
// receives after its full queue made it drop events.
const DropReason = "queue_full"

// Subscription is one handler's registration on a Bus, made by
// Bus.Subscribe.
type Subscription struct {
	bus     *Bus
	id      uint64
	pattern event.Pattern
	handler Handler
	filters []func(*event.Event) bool
	session string
	bySess  bool
	policy  Policy

	q         *queue // nil for a synchronous subscription
	cancelled atomic.Bool
	// handed counts the events handed to the handler; for an asynchronous
	// subscription, abortBit set means delivery stopped for good.
	handed   atomic.Uint64
	panics   atomic.Uint64
	done     chan struct{}
	doneOnce sync.Once
}

const abortBit = 1 << 63

// spins is how many times the goroutine of an asynchronous subscription
// yields, looking for more events, before it parks: parking and waking cost
// more than a yield, and bigger batches cost less per event (measured in
// BenchmarkFanOut).
const spins = 1

// Stats describes a subscription's delivery so far.
type Stats struct {
	// Delivered counts the events handed to the handler (event.Dropped
	// notices not included), including any it panicked on.
	Delivered uint64
	// Dropped counts the events discarded because the queue was full.
	Dropped uint64
	// Panics counts the handler calls that panicked.
	Panics uint64
	// QueueDepth is the number of accepted events not yet handed to the
	// handler: those waiting in the queue (at most QueueCap) and those the
	// subscription's goroutine took from it and has yet to hand over.
	// QueueCap is the queue's capacity. Both are 0 for a synchronous
	// subscription.
	QueueDepth int
	QueueCap   int
	// Subscriptions is the number of subscriptions summed up by Bus.Stats;
	// it is 0 in a Subscription's Stats.
	Subscriptions int
}

func (st *Stats) add(o Stats) {
	st.Delivered += o.Delivered
	st.Dropped += o.Dropped
	st.Panics += o.Panics
	st.QueueDepth += o.QueueDepth
	st.QueueCap += o.QueueCap
}

// ID returns the subscription's number, unique within its bus and
// increasing in subscription order.
func (s *Subscription) ID() uint64 { return s.id }

// Pattern returns the pattern the subscription was made with.
func (s *Subscription) Pattern() string { return s.pattern.String() }

// Stats returns the subscription's counters.
func (s *Subscription) Stats() Stats {
	st := Stats{
		Delivered: s.handed.Load() &^ abortBit,
		Panics:    s.panics.Load(),
	}
	if q := s.q; q != nil {
		q.mu.Lock()
		st.Dropped = q.dropped
		if q.accepted > st.Delivered && s.handed.Load()&abortBit == 0 {
			st.QueueDepth = int(q.accepted - st.Delivered)
		}
		st.QueueCap = q.capacity
		q.mu.Unlock()
	}
	return st
}

// Cancel ends the subscription: once Cancel returns, no event published
// from then on reaches the handler. Events an asynchronous subscription had
// already accepted into its queue are still delivered, by its goroutine,
// after which Done is closed; a publisher waiting for room in its full queue
// stops waiting for it. Cancel does not wait for the handler, so a handler
// may cancel its own subscription. Calling Cancel again does nothing.
func (s *Subscription) Cancel() {
	b := s.bus
	b.mu.Lock()
	if s.cancelled.Load() {
		b.mu.Unlock()
		return
	}
	s.cancelled.Store(true)
	b.remove(s)
	b.mu.Unlock()
	if s.q != nil {
		s.q.close()
	} else {
		s.finishSync()
	}
}

// Done returns a channel that is closed when the subscription has ended
// (cancelled, or its bus closed) and its goroutine has delivered what it
// accepted and returned from the handler for the last time. For a synchronous
// subscription it is closed by Cancel or Close.
func (s *Subscription) Done() <-chan struct{} { return s.done }

func (s *Subscription) finishSync() { s.doneOnce.Do(func() { close(s.done) }) }

// wants applies the subscription's predicates to ev.
func (s *Subscription) wants(ev *event.Event) bool {
	if s.bySess && ev.Meta.SessionID != s.session {
		return false
	}
	for _, f := range s.filters {
		if !f(ev) {
			return false
		}
	}
	return true
}

// call runs the handler, recovering a panic.
func (s *Subscription) call(ctx context.Context, ev *event.Event) {
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			s.bus.report(s, ev, r)
		}
	}()
	s.handler(ctx, ev)
}

// notifyDrop tells the handler that it missed n events.
func (s *Subscription) notifyDrop(n int64, meta event.Meta) {
	ev := event.New(event.Dropped{Count: n, Reason: DropReason}, meta)
	s.call(s.bus.ctx, &ev)
}

// claim counts the next event as handed to the handler, unless delivery was
// aborted.
func (s *Subscription) claim() bool {
	for {
		h := s.handed.Load()
		if h&abortBit != 0 {
			return false
		}
		if s.handed.CompareAndSwap(h, h+1) {
			return true
		}
	}
}

// deliver hands the events of batch to the handler in order, gap being the
// number of events dropped just before the first one. It reports false if
// delivery was aborted.
func (s *Subscription) deliver(ctx context.Context, batch []event.Event, gap int64) bool {
	i := 0
	for {
		var ok bool
		i, gap, ok = s.deliverFrom(ctx, batch, i, gap)
		if !ok || i == len(batch) {
			return ok
		}
	}
}

// deliverFrom hands batch[i:] to the handler until the end, an abort or a
// panic; one deferred recover covers the whole run. It returns where to go
// on.
func (s *Subscription) deliverFrom(ctx context.Context, batch []event.Event, i int, gap int64) (next int, gap2 int64, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			s.bus.report(s, &batch[next], r)
			next, gap2, ok = next+1, 0, true
		}
	}()
	for next = i; next < len(batch); next++ {
		ev := &batch[next]
		if !s.claim() {
			return next, gap, false
		}
		if gap > 0 {
			s.notifyDrop(gap, ev.Meta)
			gap = 0
		}
		s.handler(ctx, ev)
	}
	return next, 0, true
}

// abort stops delivery for good and returns how many accepted events will
// not be delivered. The queue must be closed already.
func (s *Subscription) abort() uint64 {
	q := s.q
	old := s.handed.Or(abortBit) &^ abortBit
	q.mu.Lock()
	lost := q.accepted - old
	clear(q.buf)
	q.buf, q.head = q.buf[:0], 0
	q.signal()
	q.mu.Unlock()
	return lost
}

// run is the goroutine of an asynchronous subscription: it takes every
// waiting event per wake-up and hands them to the handler one by one.
func (s *Subscription) run() {
	q := s.q
	ctx := s.bus.ctx
	defer func() {
		b := s.bus
		b.mu.Lock()
		delete(b.running, s)
		b.mu.Unlock()
		close(s.done)
	}()
	var mine []event.Event // the batch being delivered, then the spare buffer
	for {
		q.mu.Lock()
		for spin := 0; q.head == len(q.buf) && !q.closed && spin < spins; spin++ {
			// Before parking, give publishers a moment to fill the
			// queue: a wake-up costs more than a few yields, and
			// bigger batches cost less per event.
			q.mu.Unlock()
			runtime.Gosched()
			q.mu.Lock()
		}
		for q.head == len(q.buf) && !q.closed {
			q.parked = true
			q.mu.Unlock()
			<-q.wake
			q.mu.Lock()
		}
		if q.head == len(q.buf) { // closed and drained
			gap := q.headGap + q.tailGap
			q.headGap, q.tailGap = 0, 0
			q.mu.Unlock()
			if gap > 0 && s.handed.Load()&abortBit == 0 {
				s.notifyDrop(gap, event.Meta{})
			}
			return
		}
		batch, start, gap := q.buf, q.head, q.headGap
		q.buf, q.head = mine[:0], 0
		// A drop of the newest event happened after everything now in
		// the batch, so its notice goes before the next batch.
		q.headGap, q.tailGap = q.tailGap, 0
		if q.space != nil {
			close(q.space)
			q.space = nil
		}
		q.mu.Unlock()

		if !s.deliver(ctx, batch[start:], gap) {
			return
		}
		clear(batch) // let the payloads go
		mine = batch
	}
}

var errQueueClosed = errors.New("queue closed")

// queue is the bounded FIFO of an asynchronous subscription. Publishers
// append to buf under mu; the subscription's goroutine swaps the whole of
// buf for its spare buffer per wake-up.
type queue struct {
	mu       sync.Mutex
	buf      []event.Event // waiting events are buf[head:]
	head     int
	capacity int
	policy   Policy
	closed   bool          // no more events are accepted
	parked   bool          // the goroutine waits on wake
	wake     chan struct{} // capacity 1
	space    chan struct{} // closed when room frees up; nil if nobody waits
	headGap  int64         // events dropped just before buf[head]
	tailGap  int64         // events dropped just after the last of buf
	accepted uint64        // events appended and not dropped
	dropped  uint64
}

// signal wakes the goroutine if it is parked; q.mu is held.
func (q *queue) signal() {
	if q.parked {
		q.parked = false
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// close makes the queue refuse events and wakes everyone waiting on it.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.signal()
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
	q.mu.Unlock()
}

// push copies *ev into the queue, applying the policy when it is full. It
// returns errQueueClosed if the queue refuses events, or ctx.Err() if ctx
// ended while it waited for room.
func (q *queue) push(ctx context.Context, ev *event.Event) error {
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return errQueueClosed
		}
		if len(q.buf)-q.head < q.capacity {
			break
		}
		switch q.policy {
		case DropNewest:
			q.tailGap++
			q.dropped++
			q.mu.Unlock()
			return nil
		case DropOldest:
			q.buf[q.head] = event.Event{}
			q.head++
			q.headGap++
			q.dropped++
			q.accepted--
			continue
		}
		if q.space == nil {
			q.space = make(chan struct{})
		}
		space := q.space
		q.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return ctx.Err()
		}
		q.mu.Lock()
	}
	if q.head > 0 && len(q.buf) == cap(q.buf) && q.head >= len(q.buf)-q.head {
		// At least half of buf is dropped events: slide the rest down.
		n := copy(q.buf, q.buf[q.head:])
		clear(q.buf[n:])
		q.buf, q.head = q.buf[:n], 0
	}
	q.buf = append(q.buf, *ev)
	q.accepted++
	q.signal()
	q.mu.Unlock()
	return nil
}
