package server

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store"
)

// The shared tail.
//
// A hub.Feed per client reads the store after every append that wakes it.
// With a thousand streaming clients that is a thousand store reads per
// append. The server instead runs one tailer: it reads every new event
// from the store once (in position order, like an all-sessions feed),
// encodes it once, and keeps the newest ones in memory, indexed by session.
// A client's follower serves history from the store (hub feeds' method:
// read after the cursor) and, once it has caught up, the live events from
// this tail; only the followers of the sessions in a batch are woken. A
// follower that falls behind the tail's window goes back to the store, so
// nothing is lost and nothing is buffered per client.
//
// Correctness at the seam: before a follower reads the store it notes the
// tailer's position T. Every event at a position ≤ T is committed (the
// tailer read it), so a store read that comes back short has returned every
// matching event up to T; the follower goes on in the tail from T (if the
// tail still holds everything after T), skipping events it already has by
// their cursor. Positions strictly increase in commit order, so the
// tail's window (base, head] holds every event in it.

var errTailClosed = errors.New("server: shutting down")

// entry is one event in the tail, encoded once.
type entry struct {
	pos     uint64
	seq     uint64
	session string
	typ     event.Type
	json    []byte
}

// sessTail is the part of the tail for one session.
type sessTail struct {
	ents    []*entry // oldest first
	wake    chan struct{}
	refs    int
	waiters map[waker]struct{} // woken (once) with wake
}

// waker is woken once by the tail instead of a goroutine waiting on a wake
// channel: see tail.notify.
type waker interface{ wake() }

type tail struct {
	st       store.Store
	log      *slog.Logger
	maxN     int
	maxBytes int
	poll     time.Duration
	coalesce time.Duration

	mu    sync.RWMutex
	ring  []*entry // circular, capacity maxN
	start int
	n     int
	bytes int
	base  uint64 // every event with base < pos ≤ head is in the tail
	head  uint64
	wake  chan struct{} // closed after each batch (all-sessions followers)
	sess  map[string]*sessTail
	ready bool
	// waiters are woken (once) with wake; stopped is set by stop, under mu.
	waiters map[waker]struct{}
	stopped bool

	kick chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
	sub  *bus.Subscription
}

func newTail(h *hub.Hub, maxN, maxBytes int, poll, coalesce time.Duration, log *slog.Logger) *tail {
	t := &tail{
		st: h.Store(), log: log, maxN: maxN, maxBytes: maxBytes, poll: poll, coalesce: coalesce,
		ring: make([]*entry, maxN), wake: make(chan struct{}), sess: make(map[string]*sessTail),
		kick: make(chan struct{}, 1), done: make(chan struct{}),
	}
	// Appends through the hub reach its bus after they are committed: a
	// synchronous subscription turns each into a wake-up of the tailer.
	// Writers that bypass the hub (another process on the same database)
	// are picked up by polling.
	sub, err := h.Bus().Subscribe(event.All, func(context.Context, *event.Event) {
		select {
		case t.kick <- struct{}{}:
		default:
		}
	}, bus.WithSync())
	if err != nil {
		log.Warn("server: no live wake-ups from the hub's bus; polling the store", "err", err, "every", poll)
	}
	t.sub = sub
	return t
}

// start finds the end of the log and runs the tailer.
func (t *tail) begin(ctx context.Context) error {
	head, err := lastPosition(ctx, t.st)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.base, t.head, t.ready = head, head, true
	t.mu.Unlock()
	t.wg.Add(1)
	go t.run()
	return nil
}

// lastPosition returns the position of the last event in the store (0 if
// it is empty), by exponential then binary search with one-event reads.
func lastPosition(ctx context.Context, st store.Store) (uint64, error) {
	exists := func(after uint64) (uint64, bool, error) {
		for e, err := range st.ReadAll(ctx, store.AllQuery{After: after, Limit: 1}) {
			if err != nil {
				return 0, false, err
			}
			return e.Pos, true, nil
		}
		return 0, false, nil
	}
	first, ok, err := exists(0)
	if err != nil || !ok {
		return 0, err
	}
	// Invariant: lo is the position of an event (lo ≤ last); once found,
	// no event follows hi (last ≤ hi).
	lo, step := first, uint64(1)
	var hi uint64
	for {
		q, ok, err := exists(lo + step)
		if err != nil {
			return 0, err
		}
		if !ok {
			hi = lo + step
			break
		}
		lo, step = q, step*2
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		q, ok, err := exists(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = q
		} else {
			hi = mid
		}
	}
	return lo, nil
}

func (t *tail) stop() {
	select {
	case <-t.done:
		return
	default:
	}
	close(t.done)
	if t.sub != nil {
		t.sub.Cancel()
	}
	t.wg.Wait()
	// Wake every waiter: it finds the tail closed.
	t.mu.Lock()
	t.stopped = true
	var woken []waker
	for w := range t.waiters {
		woken = append(woken, w)
	}
	t.waiters = nil
	for _, s := range t.sess {
		for w := range s.waiters {
			woken = append(woken, w)
		}
		s.waiters = nil
	}
	t.mu.Unlock()
	for _, w := range woken {
		w.wake()
	}
}

// notify arranges for w.wake to be called once when the wake channel ch,
// which poll returned for session ("" for all sessions), is closed. It
// reports false, without arranging anything, if ch is closed already or the
// tail has stopped: poll again then. No goroutine waits meanwhile.
func (t *tail) notify(session string, ch <-chan struct{}, w waker) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	if session == "" {
		if ch != t.wake {
			return false
		}
		if t.waiters == nil {
			t.waiters = make(map[waker]struct{})
		}
		t.waiters[w] = struct{}{}
		return true
	}
	s := t.sess[session]
	if s == nil || ch != s.wake {
		return false
	}
	if s.waiters == nil {
		s.waiters = make(map[waker]struct{})
	}
	s.waiters[w] = struct{}{}
	return true
}

// unnotify cancels a notify of w, if any.
func (t *tail) unnotify(session string, w waker) {
	t.mu.Lock()
	if session == "" {
		delete(t.waiters, w)
	} else if s := t.sess[session]; s != nil {
		delete(s.waiters, w)
	}
	t.mu.Unlock()
}

const tailBatch = 1024

func (t *tail) run() {
	defer t.wg.Done()
	ticker := time.NewTicker(t.poll)
	defer ticker.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-t.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	var last time.Time
	for {
		n, err := t.read(ctx)
		if err != nil && ctx.Err() == nil {
			t.log.Error("server: reading new events for live delivery", "err", err)
		}
		if n == tailBatch {
			continue
		}
		if n > 0 && t.coalesce > 0 {
			// Under load, let a few more events arrive so that each
			// wake-up of a follower carries more than one.
			if d := t.coalesce - time.Since(last); d > 0 {
				select {
				case <-time.After(d):
				case <-t.done:
					return
				}
			}
			last = time.Now()
		}
		select {
		case <-t.kick:
		case <-ticker.C:
		case <-t.done:
			return
		}
	}
}

// read appends the events after head to the tail and wakes their
// followers.
func (t *tail) read(ctx context.Context) (int, error) {
	t.mu.RLock()
	after := t.head
	t.mu.RUnlock()
	var batch []*entry
	for e, err := range t.st.ReadAll(ctx, store.AllQuery{After: after, Limit: tailBatch}) {
		if err != nil {
			t.push(batch)
			return len(batch), err
		}
		js, err := e.Event.AppendJSON(nil)
		if err != nil {
			// Cannot happen for events the store accepted; skip rather
			// than stall live delivery (followers reading the store will
			// report it).
			t.log.Error("server: encoding a stored event", "pos", e.Pos, "err", err)
			continue
		}
		batch = append(batch, &entry{pos: e.Pos, seq: e.Event.Seq, session: e.Event.Meta.SessionID, typ: e.Event.Type, json: js})
	}
	t.push(batch)
	return len(batch), nil
}

func (t *tail) push(batch []*entry) {
	if len(batch) == 0 {
		return
	}
	t.mu.Lock()
	woken := make(map[*sessTail]struct{})
	for _, e := range batch {
		for t.n > 0 && (t.n == len(t.ring) || t.bytes+len(e.json) > t.maxBytes) {
			t.evict()
		}
		t.ring[(t.start+t.n)%len(t.ring)] = e
		t.n++
		t.bytes += len(e.json)
		t.head = e.pos
		s := t.sess[e.session]
		if s == nil {
			s = &sessTail{wake: make(chan struct{})}
			t.sess[e.session] = s
		}
		s.ents = append(s.ents, e)
		woken[s] = struct{}{}
	}
	var waiters []waker
	for s := range woken {
		close(s.wake)
		s.wake = make(chan struct{})
		for w := range s.waiters {
			waiters = append(waiters, w)
		}
		clear(s.waiters)
	}
	close(t.wake)
	t.wake = make(chan struct{})
	for w := range t.waiters {
		waiters = append(waiters, w)
	}
	clear(t.waiters)
	t.mu.Unlock()
	for _, w := range waiters {
		w.wake()
	}
}

// evict drops the oldest entry; t.mu is held.
func (t *tail) evict() {
	e := t.ring[t.start]
	t.ring[t.start] = nil
	t.start = (t.start + 1) % len(t.ring)
	t.n--
	t.bytes -= len(e.json)
	t.base = e.pos
	s := t.sess[e.session]
	if s != nil && len(s.ents) > 0 && s.ents[0] == e {
		s.ents[0] = nil
		s.ents = s.ents[1:]
		if len(s.ents) == 0 {
			s.ents = nil
			if s.refs == 0 {
				delete(t.sess, e.session)
			}
		}
	}
}

// at returns the i-th oldest entry; t.mu is held.
func (t *tail) at(i int) *entry { return t.ring[(t.start+i)%len(t.ring)] }

// attach registers a follower of session, so that its wake channel lives as
// long as the follower.
func (t *tail) attach(session string) {
	t.mu.Lock()
	s := t.sess[session]
	if s == nil {
		s = &sessTail{wake: make(chan struct{})}
		t.sess[session] = s
	}
	s.refs++
	t.mu.Unlock()
}

func (t *tail) detach(session string) {
	t.mu.Lock()
	if s := t.sess[session]; s != nil {
		s.refs--
		if s.refs <= 0 && len(s.ents) == 0 {
			delete(t.sess, session)
		}
	}
	t.mu.Unlock()
}

// headPos returns the tailer's position.
func (t *tail) headPos() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.head
}

// frame is one event ready to send: its cursor, type and JSON.
type frame struct {
	cursor uint64
	typ    event.Type
	json   []byte
}

// selector is what a follower follows, with the key's restriction applied.
type selector struct {
	session string        // one session, or "" for all
	types   event.Pattern // zero: every type
	prefix  string        // all sessions: only those with this prefix
}

func (s *selector) match(e *entry) bool {
	if s.session != "" {
		if e.session != s.session {
			return false
		}
	} else if len(e.session) < len(s.prefix) || e.session[:len(s.prefix)] != s.prefix {
		return false
	}
	return store.MatchTypes(s.types, e.typ)
}

// follower delivers the events a selector picks after a cursor: first from
// the store, then from the tail, each exactly once and in order.
type follower struct {
	t      *tail
	h      *hub.Hub
	sel    selector
	last   uint64 // cursor of the last event delivered
	scan   uint64 // tail position up to which everything was seen
	inTail bool
	batch  int
	feed   *hub.Feed // when the tail is off
	bufs   [][]byte  // encode buffers of store reads, reused
}

func newFollower(t *tail, h *hub.Hub, sel selector, after uint64, batch int) (*follower, error) {
	f := &follower{t: t, h: h, sel: sel, last: after, batch: batch}
	if t == nil {
		feed, err := h.Subscribe(hub.Selector{Session: sel.session, Types: sel.types, SessionPrefix: sel.prefix}, after)
		if err != nil {
			return nil, err
		}
		f.feed = feed
		return f, nil
	}
	if sel.session != "" {
		t.attach(sel.session)
	}
	return f, nil
}

func (f *follower) close() {
	if f.t != nil && f.sel.session != "" {
		f.t.detach(f.sel.session)
	}
}

// next appends to out the next events (at least one), waiting for them if
// needed, until ctx ends or the server closes. The frames' JSON is valid
// until the next call.
func (f *follower) next(ctx context.Context, out []frame) ([]frame, error) {
	if f.feed != nil {
		return f.nextFeed(ctx, out)
	}
	for {
		n := len(out)
		var wake <-chan struct{}
		var err error
		out, wake, err = f.poll(ctx, out)
		if err != nil || len(out) > n {
			return out, err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return out, ctx.Err()
		case <-f.t.done:
			return out, errTailClosed
		}
	}
}

// poll appends to out the events available now, without waiting. If there
// are none (and no error), it returns the channel that is closed when more
// may have arrived: wait on it, or have the tail call back with notify.
// The frames' JSON is valid until the next call. It needs the tail.
func (f *follower) poll(ctx context.Context, out []frame) ([]frame, <-chan struct{}, error) {
	for {
		if err := ctx.Err(); err != nil {
			return out, nil, err
		}
		select {
		case <-f.t.done:
			return out, nil, errTailClosed
		default:
		}
		if !f.inTail {
			n := len(out)
			T := f.t.headPos()
			var full bool
			var err error
			out, full, err = f.readStore(ctx, out)
			if err != nil {
				return out, nil, err
			}
			if full {
				return out, nil, nil
			}
			f.t.mu.RLock()
			if T >= f.t.base {
				f.inTail, f.scan = true, T
			}
			f.t.mu.RUnlock()
			if len(out) > n {
				return out, nil, nil
			}
			if !f.inTail {
				continue // the tail moved on while we read: read again
			}
		}
		var wake <-chan struct{}
		n := len(out)
		f.t.mu.RLock()
		if f.scan < f.t.base {
			// Fell behind the tail's window: catch up from the store.
			f.t.mu.RUnlock()
			f.inTail = false
			continue
		}
		if f.sel.session != "" {
			s := f.t.sess[f.sel.session]
			ents := s.ents
			i := sort.Search(len(ents), func(i int) bool { return ents[i].pos > f.scan })
			for ; i < len(ents) && len(out)-n < f.batch; i++ {
				e := ents[i]
				if e.seq > f.last && store.MatchTypes(f.sel.types, e.typ) {
					out = append(out, frame{cursor: e.seq, typ: e.typ, json: e.json})
					f.last = e.seq
				}
			}
			if i == len(ents) {
				f.scan = f.t.head
			} else {
				f.scan = ents[i-1].pos
			}
			wake = s.wake
		} else {
			t := f.t
			i := sort.Search(t.n, func(i int) bool { return t.at(i).pos > f.scan })
			for ; i < t.n && len(out)-n < f.batch; i++ {
				e := t.at(i)
				f.scan = e.pos
				if e.pos > f.last && f.sel.match(e) {
					out = append(out, frame{cursor: e.pos, typ: e.typ, json: e.json})
					f.last = e.pos
				}
			}
			if i == t.n {
				f.scan = t.head
			}
			wake = t.wake
		}
		f.t.mu.RUnlock()
		if len(out) > n {
			return out, nil, nil
		}
		return out, wake, nil
	}
}

// idle drops the encode buffers of store reads, once the follower is in
// the tail (where frames point into the tail's entries): an idle stream
// then keeps no buffer.
func (f *follower) idle() {
	if f.inTail {
		f.bufs = nil
	}
}

// readStore reads the next batch after the cursor from the store; full
// reports a full batch (more may follow).
func (f *follower) readStore(ctx context.Context, out []frame) ([]frame, bool, error) {
	n := 0
	add := func(cursor uint64, ev *event.Event) error {
		var buf []byte
		if n < len(f.bufs) {
			buf = f.bufs[n][:0]
		}
		buf, err := ev.AppendJSON(buf)
		if err != nil {
			return err
		}
		if n < len(f.bufs) {
			f.bufs[n] = buf
		} else {
			f.bufs = append(f.bufs, buf)
		}
		out = append(out, frame{cursor: cursor, typ: ev.Type, json: buf})
		f.last = cursor
		n++
		return nil
	}
	if f.sel.session != "" {
		q := store.Query{Session: f.sel.session, After: f.last, Types: f.sel.types, Limit: f.batch}
		for ev, err := range f.t.st.Read(ctx, q) {
			if err == nil {
				err = add(ev.Seq, &ev)
			}
			if err != nil {
				return out, false, err
			}
		}
	} else {
		q := store.AllQuery{After: f.last, Types: f.sel.types, SessionPrefix: f.sel.prefix, Limit: f.batch}
		for e, err := range f.t.st.ReadAll(ctx, q) {
			if err == nil {
				err = add(e.Pos, &e.Event)
			}
			if err != nil {
				return out, false, err
			}
		}
	}
	return out, n == f.batch, nil
}

// nextFeed is next over a plain hub.Feed (the tail turned off).
func (f *follower) nextFeed(ctx context.Context, out []frame) ([]frame, error) {
	it, err := f.feed.Next(ctx)
	if err != nil {
		if errors.Is(err, hub.ErrClosed) {
			err = errTailClosed
		}
		return out, err
	}
	if len(f.bufs) == 0 {
		f.bufs = append(f.bufs, nil)
	}
	buf, err := it.Event.AppendJSON(f.bufs[0][:0])
	if err != nil {
		return out, err
	}
	f.bufs[0] = buf
	f.last = it.Cursor
	return append(out, frame{cursor: it.Cursor, typ: it.Event.Type, json: buf}), nil
}
