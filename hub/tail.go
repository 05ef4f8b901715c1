package hub

import (
	"context"
	"sync"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// The live window (see the package doc).
//
// Seam argument, which TestSeam checks: before a feed reads the store it
// notes the tailer's head T. Every event at a position ≤ T is committed
// (the tailer read it), so a store read that comes back short has returned
// every matching event up to T; the feed goes on in the window from T (if
// the window still holds everything after T), skipping the events it
// already has by their cursor. Positions strictly increase in commit
// order, so the window (base, head] holds every event in that range.

// entry is one event in the window, encoded once.
type entry struct {
	pos  uint64
	ev   event.Event
	json []byte
}

// entryOverhead approximates the memory of an entry besides its JSON, for
// the window's byte budget.
const entryOverhead = 256

// sessTail is the part of the window for one session.
type sessTail struct {
	ents    []*entry // oldest first
	wake    chan struct{}
	refs    int
	waiters map[*Feed]func() // called (once) with wake
}

type tail struct {
	h *Hub

	startMu sync.Mutex // serializes start

	mu      sync.RWMutex
	ring    []*entry // circular, capacity windowN
	start   int
	n       int
	bytes   int
	base    uint64 // every event with base < pos ≤ head is in the window
	head    uint64
	ready   bool          // base and head are set and the tailer runs
	wake    chan struct{} // closed after each batch (all-sessions feeds)
	sess    map[string]*sessTail
	waiters map[*Feed]func() // all-sessions feeds, called (once) with wake
	stopped bool

	kickc chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup
}

func newTail(h *Hub) *tail {
	return &tail{
		h: h, ring: make([]*entry, h.cfg.windowN), wake: make(chan struct{}), sess: make(map[string]*sessTail),
		kickc: make(chan struct{}, 1), done: make(chan struct{}),
	}
}

// kick tells the tailer that events were appended.
func (t *tail) kick() {
	select {
	case t.kickc <- struct{}{}:
	default:
	}
}

// ensure starts the tailer at the end of the log, once.
func (t *tail) ensure(ctx context.Context) error {
	t.mu.RLock()
	ready, stopped := t.ready, t.stopped
	t.mu.RUnlock()
	if ready || stopped {
		return nil
	}
	t.startMu.Lock()
	defer t.startMu.Unlock()
	select {
	case <-t.done:
		return nil // stopping: feeds read the store
	default:
	}
	t.mu.RLock()
	ready, stopped = t.ready, t.stopped
	t.mu.RUnlock()
	if ready || stopped {
		return nil
	}
	head, err := t.h.st.Head(ctx)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.base, t.head, t.ready = head, head, true
	t.wg.Add(1)
	t.mu.Unlock()
	go t.run()
	return nil
}

// stop ends the tailer after a last read of what was appended, and calls
// every waiting feed back: they find the hub closed.
func (t *tail) stop() {
	t.startMu.Lock()
	select {
	case <-t.done:
		t.startMu.Unlock()
		return
	default:
	}
	close(t.done)
	t.startMu.Unlock()
	t.wg.Wait()
	t.mu.Lock()
	t.stopped = true
	var woken []func()
	for _, fn := range t.waiters {
		woken = append(woken, fn)
	}
	t.waiters = nil
	for _, s := range t.sess {
		for _, fn := range s.waiters {
			woken = append(woken, fn)
		}
		s.waiters = nil
	}
	close(t.wake)
	t.wake = make(chan struct{})
	t.mu.Unlock()
	for _, fn := range woken {
		fn()
	}
}

// notify arranges for fn to be called once when ch, the wake channel a
// poll of f returned, is closed. It reports false, arranging nothing, if
// ch is closed already or the tail stopped: poll again then.
func (t *tail) notify(f *Feed, ch <-chan struct{}, fn func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped || ch == nil {
		return false
	}
	if f.sel.Session == "" {
		if ch != t.wake {
			return false
		}
		if t.waiters == nil {
			t.waiters = make(map[*Feed]func())
		}
		t.waiters[f] = fn
		return true
	}
	s := t.sess[f.sel.Session]
	if s == nil || ch != s.wake {
		return false
	}
	if s.waiters == nil {
		s.waiters = make(map[*Feed]func())
	}
	s.waiters[f] = fn
	return true
}

// unnotify cancels a notify of f, if any.
func (t *tail) unnotify(f *Feed) {
	t.mu.Lock()
	if f.sel.Session == "" {
		delete(t.waiters, f)
	} else if s := t.sess[f.sel.Session]; s != nil {
		delete(s.waiters, f)
	}
	t.mu.Unlock()
}

const tailBatch = 1024

// WatchPoll is the slowest the hub polls a store that is a store.Watcher:
// the watcher tells the hub of appends at once, and polling is only a
// fallback, at the larger of WithPoll's interval and WatchPoll.
const WatchPoll = 15 * time.Second

func (t *tail) run() {
	defer t.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	poll := t.h.cfg.poll
	if w, ok := t.h.st.(store.Watcher); ok {
		if poll > 0 {
			poll = max(poll, WatchPoll)
		}
		t.wg.Add(1)
		go t.watch(ctx, w)
	}
	var tick <-chan time.Time
	if poll > 0 {
		ticker := time.NewTicker(poll)
		defer ticker.Stop()
		tick = ticker.C
	}
	var last time.Time
	for {
		n, err := t.read(ctx)
		if err != nil {
			t.h.cfg.logger.Error("hub: reading new events for live delivery", "err", err)
		}
		if n == tailBatch {
			continue
		}
		if n > 0 && t.h.cfg.coalesce > 0 {
			// Under load, let a few more events arrive so that each
			// wake-up of a feed carries more than one.
			if d := t.h.cfg.coalesce - time.Since(last); d > 0 {
				timer := time.NewTimer(d)
				select {
				case <-timer.C:
				case <-t.done:
					timer.Stop()
				}
			}
			last = time.Now()
		}
		select {
		case <-t.kickc:
		case <-tick:
		case <-t.done:
			// A last read: what was appended before Close counts.
			for {
				if n, err := t.read(ctx); err != nil || n < tailBatch {
					return
				}
			}
		}
	}
}

// watch runs the store's watcher until ctx ends, kicking the tailer on
// every append; if watching fails it logs and starts again after a pause.
func (t *tail) watch(ctx context.Context, w store.Watcher) {
	defer t.wg.Done()
	for {
		err := w.Watch(ctx, t.kick)
		if ctx.Err() != nil {
			return
		}
		t.h.cfg.logger.Warn("hub: watching the store for appends; polling meanwhile", "err", err)
		timer := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// read appends the events after head to the window and wakes their feeds.
func (t *tail) read(ctx context.Context) (int, error) {
	t.mu.RLock()
	after := t.head
	t.mu.RUnlock()
	var batch []*entry
	for e, err := range t.h.st.ReadAll(ctx, store.AllQuery{After: after, Limit: tailBatch}) {
		if err != nil {
			t.push(batch)
			return len(batch), err
		}
		js, err := e.Event.AppendJSON(nil)
		if err != nil {
			// Cannot happen for events the store accepted; skip rather
			// than stall live delivery (feeds reading the store report it).
			t.h.cfg.logger.Error("hub: encoding a stored event", "pos", e.Pos, "err", err)
			continue
		}
		batch = append(batch, &entry{pos: e.Pos, ev: e.Event, json: js})
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
		size := len(e.json) + entryOverhead
		for t.n > 0 && (t.n == len(t.ring) || t.bytes+size > t.h.cfg.windowBytes) {
			t.evict()
		}
		t.ring[(t.start+t.n)%len(t.ring)] = e
		t.n++
		t.bytes += size
		t.head = e.pos
		id := e.ev.Meta.SessionID
		s := t.sess[id]
		if s == nil {
			s = &sessTail{wake: make(chan struct{})}
			t.sess[id] = s
		}
		s.ents = append(s.ents, e)
		woken[s] = struct{}{}
	}
	var fns []func()
	for s := range woken {
		close(s.wake)
		s.wake = make(chan struct{})
		for _, fn := range s.waiters {
			fns = append(fns, fn)
		}
		clear(s.waiters)
	}
	close(t.wake)
	t.wake = make(chan struct{})
	for _, fn := range t.waiters {
		fns = append(fns, fn)
	}
	clear(t.waiters)
	t.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// evict drops the oldest entry; t.mu is held.
func (t *tail) evict() {
	e := t.ring[t.start]
	t.ring[t.start] = nil
	t.start = (t.start + 1) % len(t.ring)
	t.n--
	t.bytes -= len(e.json) + entryOverhead
	t.base = e.pos
	id := e.ev.Meta.SessionID
	s := t.sess[id]
	if s != nil && len(s.ents) > 0 && s.ents[0] == e {
		s.ents[0] = nil
		s.ents = s.ents[1:]
		if len(s.ents) == 0 {
			s.ents = nil
			if s.refs == 0 {
				delete(t.sess, id)
			}
		}
	}
}

// at returns the i-th oldest entry; t.mu is held.
func (t *tail) at(i int) *entry { return t.ring[(t.start+i)%len(t.ring)] }

// attach registers a feed of session, so that the session's wake channel
// lives as long as the feed.
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
