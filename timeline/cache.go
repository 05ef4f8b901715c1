package timeline

import (
	"cmp"
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/internal/option"
	"github.com/sluice-events/sluice/store"
)

// ErrInvalid reports an invalid argument, such as a bad cache option.
var ErrInvalid = errors.New("timeline: invalid argument")

// Defaults of the cache options.
const (
	DefaultCacheEntries = 1024     // sessions kept (WithMaxEntries)
	DefaultCacheBytes   = 64 << 20 // approximate bytes kept (WithMaxBytes)
)

// perSession is how many folds the cache keeps of one session: the
// latest, and an older one for readers that ask for a prefix (a stream
// resumed after a cursor below the latest fold).
const perSession = 2

// Cache keeps the folded timelines of recently read sessions of one
// store, so that reading a session again costs only the events appended
// since: a fold at sequence number N is reused by applying the events
// after N. It is bounded by the number of sessions and by the
// approximate bytes of what it holds (least recently used first out), and
// one session's fold over the per-entry bound is not kept at all.
//
// A fold is checked before it is reused: the event at its sequence
// number must still be the one folded last (same ID), so a session that
// was deleted and started again at sequence number 1 (or whose last
// folded event retention removed) is folded from scratch, and so is
// everything after the log's epoch changes (store.Store.Epoch). Forget
// drops a session at once (the server calls it when it deletes one).
//
// For each session the cache keeps up to two folds, the latest and an
// older one; a read up to a sequence number below every kept fold (Read
// with upTo) folds from scratch and keeps the result as the older fold.
// The folds it keeps are never changed: readers get a copy (Read) or
// shared bytes and values they must not change (JSON, Summary).
//
// A Cache is safe for concurrent use. Readers that miss on the same
// session at once fold it once: one folds, the others wait for its fold
// and extend it.
type Cache struct {
	st  store.Store
	cfg cacheConfig

	mu      sync.Mutex
	epoch   uint64
	bytes   int64
	lru     list.List // of *entry, most recently used first
	entries map[string]*list.Element
	folding map[string]chan struct{} // closed when a fold from scratch ends
	stats   CacheStats
}

// CacheStats counts what a Cache did.
type CacheStats struct {
	Entries int   // sessions held now
	Bytes   int64 // approximate bytes held now
	// Hits are reads that reused a fold (applying the events after it),
	// Misses reads that folded from scratch.
	Hits, Misses uint64
	// Stale counts folds found out of date (their last event gone or
	// replaced: a deleted or pruned session) and dropped.
	Stale uint64
	// Evicted counts sessions dropped to stay within the bounds.
	Evicted uint64
	// Waiting is the number of readers waiting now for another reader's
	// fold of the same session from scratch.
	Waiting int
}

type cacheConfig struct {
	entries    int
	bytes      int64
	entryBytes int64
}

// CacheOption configures a Cache.
type CacheOption func(*cacheConfig) error

// WithMaxEntries bounds the sessions a Cache holds (default
// DefaultCacheEntries).
func WithMaxEntries(n int) CacheOption {
	return func(c *cacheConfig) error {
		if n <= 0 {
			return fmt.Errorf("%w: max entries %d is not positive", ErrInvalid, n)
		}
		c.entries = n
		return nil
	}
}

// WithMaxBytes bounds the approximate bytes a Cache holds: the sum of its
// folds' sizes (about their JSON size) and of the JSON it keeps for them
// (default DefaultCacheBytes).
func WithMaxBytes(n int64) CacheOption {
	return func(c *cacheConfig) error {
		if n <= 0 {
			return fmt.Errorf("%w: max bytes %d is not positive", ErrInvalid, n)
		}
		c.bytes = n
		return nil
	}
}

// WithMaxEntryBytes bounds the approximate bytes of one fold the Cache
// keeps (default: an eighth of WithMaxBytes); a larger timeline is folded
// for each read and not kept.
func WithMaxEntryBytes(n int64) CacheOption {
	return func(c *cacheConfig) error {
		if n <= 0 {
			return fmt.Errorf("%w: max entry bytes %d is not positive", ErrInvalid, n)
		}
		c.entryBytes = n
		return nil
	}
}

// NewCache returns a cache of the timelines of st's sessions.
func NewCache(st store.Store, opts ...CacheOption) (*Cache, error) {
	if st == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalid)
	}
	c := &Cache{st: st, cfg: cacheConfig{entries: DefaultCacheEntries, bytes: DefaultCacheBytes}, entries: map[string]*list.Element{}, folding: map[string]chan struct{}{}}
	if err := option.Apply(&c.cfg, opts, ErrInvalid); err != nil {
		return nil, err
	}
	if c.cfg.entryBytes == 0 {
		c.cfg.entryBytes = max(c.cfg.bytes/8, 1)
	}
	c.epoch = st.Epoch()
	return c, nil
}

// fold is one kept timeline: never changed once in the cache.
type fold struct {
	tl   *Timeline
	last uuid.UUID // the ID of the event at tl.Seq
	size int64     // approximate bytes of tl

	jsonOnce sync.Once
	json     []byte
	jsonErr  error
	sumOnce  sync.Once
	sum      Summary
}

// entry is one session's folds, sorted by Seq.
type entry struct {
	session string
	folds   []*fold
	bytes   int64
}

// Read returns the timeline of session folded up to the sequence number
// upTo (0: all of it), as Read does, reusing a kept fold. The caller owns
// the result and may fold on into it.
func (c *Cache) Read(ctx context.Context, session string, upTo uint64) (*Timeline, error) {
	f, err := c.get(ctx, session, upTo)
	if err != nil {
		return nil, err
	}
	return f.tl.Clone(), nil
}

// JSON returns the timeline of session up to upTo (0: all of it) encoded
// as JSON, as encoding/json encodes a Timeline, and its Seq. The bytes
// are shared: the caller must not change them.
func (c *Cache) JSON(ctx context.Context, session string, upTo uint64) ([]byte, uint64, error) {
	f, err := c.get(ctx, session, upTo)
	if err != nil {
		return nil, 0, err
	}
	if err := c.encode(f); err != nil {
		return nil, 0, err
	}
	return f.json, f.tl.Seq, nil
}

// Summary returns the summary of session's whole timeline (see
// Timeline.Summary). Its Models slice is shared: the caller must not
// change it.
func (c *Cache) Summary(ctx context.Context, session string) (Summary, error) {
	f, err := c.get(ctx, session, 0)
	if err != nil {
		return Summary{}, err
	}
	f.sumOnce.Do(func() { f.sum = f.tl.Summary() })
	return f.sum, nil
}

// Kept returns the sequence number of the newest fold of session the
// cache holds, 0 if none: a Summary or Read of the whole session costs
// the events after it (all of them with 0). It is a hint: the fold may be
// evicted, or found out of date, before it is used.
func (c *Cache) Kept(session string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[session]
	if !ok {
		return 0
	}
	e := el.Value.(*entry)
	if len(e.folds) == 0 {
		return 0
	}
	return e.folds[len(e.folds)-1].tl.Seq
}

// Forget drops what the cache holds of session.
func (c *Cache) Forget(session string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[session]; ok {
		c.remove(el)
	}
}

// Stats returns what the cache holds and did so far.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries, s.Bytes = len(c.entries), c.bytes
	return s
}

// encode computes f's JSON once, and counts its bytes against the bound
// if f is still kept.
func (c *Cache) encode(f *fold) error {
	done := false
	f.jsonOnce.Do(func() {
		f.json, f.jsonErr = json.Marshal(f.tl)
		if f.jsonErr != nil {
			f.jsonErr = fmt.Errorf("timeline: encoding %q: %w", f.tl.Session, f.jsonErr)
		}
		done = f.jsonErr == nil
	})
	if !done {
		return f.jsonErr
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[f.tl.Session]
	if !ok || !slices.Contains(el.Value.(*entry).folds, f) {
		return nil
	}
	n := int64(len(f.json))
	f.size += n
	el.Value.(*entry).bytes += n
	c.bytes += n
	c.trim(el)
	return nil
}

// get returns a fold of session up to upTo: a kept one, one extended
// from a kept one, or a new one. Only one reader at a time folds a
// session from scratch: the others wait for its fold (once) and extend
// it, so readers arriving together at a cold session (clients resuming
// after a restart) fold it once.
func (c *Cache) get(ctx context.Context, session string, upTo uint64) (*fold, error) {
	for waited := false; ; waited = true {
		if base := c.base(session, upTo); base != nil {
			f, ok, err := c.extend(ctx, session, base, upTo)
			if err != nil {
				return nil, err
			}
			if ok {
				c.count(func(s *CacheStats) { s.Hits++ })
				if f != base {
					c.put(session, base, f)
				}
				return f, nil
			}
			c.drop(session, base)
		}
		c.mu.Lock()
		busy, ok := c.folding[session]
		if ok && !waited {
			c.stats.Waiting++
			c.mu.Unlock()
			select {
			case <-busy:
			case <-ctx.Done():
			}
			c.count(func(s *CacheStats) { s.Waiting-- })
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			continue
		}
		var mine chan struct{}
		if !ok {
			mine = make(chan struct{})
			c.folding[session] = mine
		}
		c.mu.Unlock()
		f, err := c.scratch(ctx, session, upTo)
		if mine != nil {
			c.mu.Lock()
			delete(c.folding, session)
			c.mu.Unlock()
			close(mine)
		}
		return f, err
	}
}

// scratch folds session up to upTo from its first event and keeps the
// fold.
func (c *Cache) scratch(ctx context.Context, session string, upTo uint64) (*fold, error) {
	f, _, err := c.extend(ctx, session, nil, upTo)
	if err != nil {
		return nil, err
	}
	c.count(func(s *CacheStats) { s.Misses++ })
	c.put(session, nil, f)
	return f, nil
}

func (c *Cache) count(fn func(*CacheStats)) {
	c.mu.Lock()
	fn(&c.stats)
	c.mu.Unlock()
}

// base returns the kept fold of session to start from: the one with the
// greatest Seq at most upTo (any, with upTo 0).
func (c *Cache) base(session string, upTo uint64) *fold {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ep := c.st.Epoch(); ep != c.epoch {
		c.epoch = ep
		for el := c.lru.Front(); el != nil; el = c.lru.Front() {
			c.remove(el)
		}
		return nil
	}
	el, ok := c.entries[session]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(el)
	folds := el.Value.(*entry).folds
	for i := len(folds) - 1; i >= 0; i-- {
		if upTo == 0 || folds[i].tl.Seq <= upTo {
			return folds[i]
		}
	}
	return nil
}

// extend reads session after base (from the start with base nil) up to
// upTo and returns the fold: base itself if nothing follows it. ok is
// false when base is out of date: the event at its Seq is not the one it
// folded last.
func (c *Cache) extend(ctx context.Context, session string, base *fold, upTo uint64) (*fold, bool, error) {
	q := store.Query{Session: session}
	if base != nil {
		q.After = base.tl.Seq - 1 // re-read the last folded event to check it
	}
	if upTo != 0 { // the events up to upTo, if none is missing
		q.Limit = int(min(upTo-q.After, 1<<30))
	}
	var tl *Timeline
	var last uuid.UUID
	checked := base == nil
	for ev, err := range c.st.Read(ctx, q) {
		if err != nil {
			return nil, false, fmt.Errorf("timeline: read %q: %w", session, err)
		}
		if !checked {
			if ev.Seq != base.tl.Seq || ev.ID != base.last {
				return nil, false, nil
			}
			checked = true
			continue
		}
		if upTo != 0 && ev.Seq > upTo {
			break
		}
		if tl == nil {
			if base != nil {
				tl = base.tl.Clone()
			} else {
				tl = New(session)
			}
		}
		tl.Apply(&ev)
		last = ev.ID
	}
	if !checked {
		return nil, false, nil
	}
	if tl == nil {
		if base != nil {
			return base, true, nil
		}
		tl = New(session)
	}
	return &fold{tl: tl, last: last, size: tl.approxSize()}, true, nil
}

// put keeps f, built from base (nil: from scratch) in base's place, or
// in the older fold's, unless it is over the per-entry bound or a fold at
// its Seq is kept already.
func (c *Cache) put(session string, base, f *fold) {
	if f.tl.Seq == 0 || f.size > c.cfg.entryBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[session]
	if !ok {
		el = c.lru.PushFront(&entry{session: session})
		c.entries[session] = el
	}
	e := el.Value.(*entry)
	at := -1
	for i, g := range e.folds {
		switch {
		case g.tl.Seq == f.tl.Seq:
			return // an equal fold is kept already
		case g == base:
			at = i
		}
	}
	switch {
	case at >= 0:
		e.bytes -= base.size
		c.bytes -= base.size
		e.folds[at] = f
	case len(e.folds) < perSession:
		e.folds = append(e.folds, f)
	default: // the older fold makes room
		e.bytes -= e.folds[0].size
		c.bytes -= e.folds[0].size
		e.folds[0] = f
	}
	slices.SortFunc(e.folds, func(a, b *fold) int { return cmp.Compare(a.tl.Seq, b.tl.Seq) })
	e.bytes += f.size
	c.bytes += f.size
	c.lru.MoveToFront(el)
	c.trim(el)
}

// drop removes the out-of-date fold f of session.
func (c *Cache) drop(session string, f *fold) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Stale++
	el, ok := c.entries[session]
	if !ok {
		return
	}
	e := el.Value.(*entry)
	for i, g := range e.folds {
		if g == f {
			e.folds = append(e.folds[:i], e.folds[i+1:]...)
			e.bytes -= f.size
			c.bytes -= f.size
			break
		}
	}
	if len(e.folds) == 0 {
		c.remove(el)
	}
}

// trim evicts the least recently used sessions until the cache is within
// its bounds; keep (just used) goes last.
func (c *Cache) trim(keep *list.Element) {
	for len(c.entries) > c.cfg.entries || c.bytes > c.cfg.bytes {
		el := c.lru.Back()
		if el == keep && c.lru.Len() > 1 {
			el = el.Prev()
		}
		if el == nil {
			return
		}
		c.remove(el)
		c.stats.Evicted++
	}
}

func (c *Cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*entry)
	delete(c.entries, e.session)
	c.bytes -= e.bytes
}
