// Package memory is an in-memory store.Store: fast, concurrent, and gone
// when the process ends. It keeps each event as its JSON encoding, exactly
// as the durable stores do, so that events read back the same from every
// store. Use it in tests and for short-lived processes.
package memory

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/option"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/background"
	"github.com/sluice-events/sluice/store/internal/page"
)

// pageSize is how many records an iterator copies under the lock at a time;
// the lock is never held while the caller's loop body runs.
const pageSize = 256

// Option configures a memory store; pass options to New. Its options are
// the ones every backend shares (store.Config): WithRetention, WithClock and
// WithLogger.
type Option func(*config) error

type config struct{ store.Config }

// WithRetention sets the retention policy (default: keep everything). A
// negative value gives an error wrapping store.ErrInvalid.
func WithRetention(r store.Retention) Option {
	return func(c *config) error { return c.SetRetention(r) }
}

// WithClock sets the clock retention by age measures against (default
// time.Now); tests inject a fake one. It must not be nil.
func WithClock(now func() time.Time) Option {
	return func(c *config) error { return c.SetClock(now) }
}

// WithLogger sets the logger for background errors (default
// slog.Default()). It must not be nil.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.SetLogger(l) }
}

// Store is an in-memory store.Store. Create it with New.
type Store struct {
	cfg  store.Config
	loop *background.Loop
	dec  *page.Decoder

	mu       sync.RWMutex
	closed   bool
	sessions map[string]*session
	log      []*record // every stored record in position order
	deleted  int       // records in log marked deleted
	lastPos  uint64
	epoch    uint64
}

type session struct {
	id      string
	lastSeq uint64
	lastPos uint64
	last    time.Time
	recs    []*record            // stored records in sequence order
	ids     map[uuid.UUID]uint64 // the IDs of recs → their seq
}

type record struct {
	id      uuid.UUID
	pos     uint64
	seq     uint64
	sess    *session
	typ     event.Type
	time    time.Time
	data    []byte
	deleted bool
}

var _ store.Store = (*Store)(nil)

// New returns an empty store. With a retention policy it starts a
// goroutine that Close stops. A nil or invalid option gives an error
// wrapping store.ErrInvalid.
func New(opts ...Option) (*Store, error) {
	c := config{store.DefaultConfig()}
	if err := option.Apply(&c, opts, store.ErrInvalid); err != nil {
		return nil, fmt.Errorf("memory: new: %w", err)
	}
	s := &Store{cfg: c.Config, sessions: make(map[string]*session), epoch: store.NewEpoch()}
	s.dec = page.NewDecoder(s.cfg.Logger, "memory")
	if s.cfg.Retention.Enabled() {
		s.loop = background.Start(s.cfg.Retention.Interval, s.cfg.Logger, "memory", s.Prune)
	}
	return s, nil
}

// Append implements store.Store. Events are stored when it returns; they
// last as long as the process.
func (s *Store) Append(ctx context.Context, events []event.Event) error {
	_, err := s.AppendDups(ctx, events)
	return err
}

// AppendDups implements store.DupReporter.
func (s *Store) AppendDups(ctx context.Context, events []event.Event) ([]int, error) {
	if err := store.CheckBatch(events); err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return nil, nil
	}
	datas := make([][]byte, len(events))
	for i := range events {
		ev := events[i]
		ev.Seq = 0
		b, err := ev.AppendJSON(nil)
		if err != nil {
			return nil, fmt.Errorf("%w: event %d (id %s): %w", store.ErrInvalid, i, ev.ID, err)
		}
		datas[i] = b
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	var dups []int
	for i := range events {
		ev := &events[i]
		ss := s.sessions[ev.Meta.SessionID]
		if ss == nil {
			ss = &session{id: ev.Meta.SessionID, ids: make(map[uuid.UUID]uint64)}
			s.sessions[ss.id] = ss
		}
		if seq, ok := ss.ids[ev.ID]; ok {
			ev.Seq = seq // stored already, maybe earlier in this call
			dups = append(dups, i)
			continue
		}
		ss.lastSeq++
		ss.ids[ev.ID] = ss.lastSeq
		s.lastPos++
		t := ev.Time.UTC() // as the durable stores give times back
		ss.last, ss.lastPos = t, s.lastPos
		r := &record{id: ev.ID, pos: s.lastPos, seq: ss.lastSeq, sess: ss, typ: ev.Type, time: t, data: datas[i]}
		ss.recs = append(ss.recs, r)
		s.log = append(s.log, r)
		ev.Seq = ss.lastSeq
	}
	return dups, nil
}

// Read implements store.Store.
func (s *Store) Read(ctx context.Context, q store.Query) iter.Seq2[event.Event, error] {
	if err := q.Check(); err != nil {
		return store.Fail[event.Event](err)
	}
	recs := page.Iter(ctx, page.Pager[*record]{
		After: q.After, Limit: q.Limit, Size: pageSize, Filtered: true,
		Fetch: func(_ context.Context, after uint64, size int, buf []*record) ([]*record, int, uint64, error) {
			s.mu.RLock()
			defer s.mu.RUnlock()
			if s.closed {
				return buf, 0, after, store.ErrClosed
			}
			ss := s.sessions[q.Session]
			if ss == nil {
				return buf, 0, after, nil
			}
			i, _ := slices.BinarySearchFunc(ss.recs, after+1, func(r *record, seq uint64) int { return cmp.Compare(r.seq, seq) })
			n := 0
			for ; i < len(ss.recs) && n < size; i, n = i+1, n+1 {
				r := ss.recs[i]
				after = r.seq
				if store.MatchTypes(q.Types, r.typ) && store.InTimeRange(r.time, q.Since, q.Until) {
					buf = append(buf, r)
				}
			}
			return buf, n, after, nil
		},
	})
	return decoded(s.dec, recs, func(_ *record, ev event.Event) event.Event { return ev })
}

// ReadAll implements store.Store.
func (s *Store) ReadAll(ctx context.Context, q store.AllQuery) iter.Seq2[store.Entry, error] {
	if err := q.Check(); err != nil {
		return store.Fail[store.Entry](err)
	}
	recs := page.Iter(ctx, page.Pager[*record]{
		After: q.After, Limit: q.Limit, Size: pageSize, Filtered: true,
		Fetch: func(_ context.Context, after uint64, size int, buf []*record) ([]*record, int, uint64, error) {
			s.mu.RLock()
			defer s.mu.RUnlock()
			if s.closed {
				return buf, 0, after, store.ErrClosed
			}
			i, _ := slices.BinarySearchFunc(s.log, after+1, func(r *record, pos uint64) int { return cmp.Compare(r.pos, pos) })
			n := 0
			for ; i < len(s.log) && n < size; i, n = i+1, n+1 {
				r := s.log[i]
				after = r.pos
				if !r.deleted && strings.HasPrefix(r.sess.id, q.SessionPrefix) && store.MatchTypes(q.Types, r.typ) {
					buf = append(buf, r)
				}
			}
			return buf, n, after, nil
		},
	})
	return decoded(s.dec, recs, func(r *record, ev event.Event) store.Entry { return store.Entry{Pos: r.pos, Event: ev} })
}

// decoded decodes the records of recs as the caller's loop reaches them,
// outside the lock.
func decoded[T any](dec *page.Decoder, recs iter.Seq2[*record, error], mk func(*record, event.Event) T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		for r, err := range recs {
			if err != nil {
				yield(zero, err)
				return
			}
			ev, err := dec.Decode(r.data, r.seq, r.pos)
			if err != nil {
				yield(zero, fmt.Errorf("session %q: %w", r.sess.id, err))
				return
			}
			if !yield(mk(r, ev), nil) {
				return
			}
		}
	}
}

func (ss *session) info() store.SessionInfo {
	si := store.SessionInfo{ID: ss.id, Count: uint64(len(ss.recs)), LastSeq: ss.lastSeq, LastPos: ss.lastPos, Last: ss.last}
	if len(ss.recs) > 0 {
		si.First = ss.recs[0].time
	}
	return si
}

// Sessions implements store.Store.
func (s *Store) Sessions(ctx context.Context, q store.SessionQuery) ([]store.SessionInfo, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	var out []store.SessionInfo
	for id, ss := range s.sessions {
		if !strings.HasPrefix(id, q.Prefix) {
			continue
		}
		if q.Order == store.ByActivity && (q.Before == 0 || ss.lastPos < q.Before) || q.Order == store.ByID && id > q.After {
			out = append(out, ss.info())
		}
	}
	if q.Order == store.ByActivity {
		slices.SortFunc(out, func(a, b store.SessionInfo) int { return cmp.Compare(b.LastPos, a.LastPos) })
	} else {
		slices.SortFunc(out, func(a, b store.SessionInfo) int { return strings.Compare(a.ID, b.ID) })
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// Epoch implements store.Store: every memory store is a log of its own.
func (s *Store) Epoch() uint64 { return s.epoch }

// Head implements store.Store.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	return s.lastPos, nil
}

// Session implements store.Store.
func (s *Store) Session(ctx context.Context, id string) (store.SessionInfo, error) {
	if err := store.CheckSessionID(id); err != nil {
		return store.SessionInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.SessionInfo{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.SessionInfo{}, store.ErrClosed
	}
	ss := s.sessions[id]
	if ss == nil {
		return store.SessionInfo{}, fmt.Errorf("session %q: %w", id, store.ErrNotFound)
	}
	return ss.info(), nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := store.CheckSessionID(id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	ss := s.sessions[id]
	if ss == nil {
		return fmt.Errorf("session %q: %w", id, store.ErrNotFound)
	}
	for _, rec := range ss.recs {
		rec.deleted = true
	}
	delete(s.sessions, id)
	s.removed(len(ss.recs))
	return nil
}

// removed counts n more records marked deleted, and drops the deleted
// records from the log once they are half of it. s.mu must be held.
func (s *Store) removed(n int) {
	s.deleted += n
	if s.deleted > len(s.log)/2 {
		s.log = slices.DeleteFunc(s.log, func(r *record) bool { return r.deleted })
		s.deleted = 0
	}
}

// Prune implements store.Store.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	r := s.cfg.Retention
	var cutoff time.Time
	if r.MaxAge > 0 {
		cutoff = s.cfg.Clock().Add(-r.MaxAge)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	if !r.Enabled() {
		return 0, nil
	}
	var n int64
	for _, ss := range s.sessions {
		keep := ss.recs[:0]
		for i, rec := range ss.recs {
			tooMany := r.MaxEvents > 0 && len(ss.recs)-i > r.MaxEvents
			tooOld := r.MaxAge > 0 && rec.time.Before(cutoff)
			if tooMany || tooOld {
				rec.deleted = true
				delete(ss.ids, rec.id)
				n++
				continue
			}
			keep = append(keep, rec)
		}
		clear(ss.recs[len(keep):])
		ss.recs = keep
	}
	s.removed(int(n))
	return n, nil
}

// Close implements store.Store. It stops the retention goroutine and drops
// the stored events.
func (s *Store) Close() error {
	s.loop.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.sessions, s.log = nil, nil
	return nil
}
