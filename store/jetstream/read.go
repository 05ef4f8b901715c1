package jetstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// fetchSize is how many messages a read asks the server for at a time.
const fetchSize = 512

// record is an event message as a read sees it.
type record struct {
	pos  uint64 // stream sequence
	seq  uint64
	time time.Time
	typ  event.Type
	sess string
	data []byte
}

func (s *Store) record(m jetstream.Msg) (record, error) {
	md, err := m.Metadata()
	if err != nil {
		return record{}, err
	}
	h := m.Headers()
	r := record{pos: md.Sequence.Stream, typ: event.Type(h.Get(hdrType)), data: m.Data()}
	var ok bool
	if r.sess, ok = sessionOf(m.Subject(), s.evSubj); !ok {
		return r, fmt.Errorf("position %d: subject %q: %w", r.pos, m.Subject(), store.ErrCorrupt)
	}
	seq, err1 := strconv.ParseUint(h.Get(hdrSeq), 10, 64)
	ns, err2 := strconv.ParseInt(h.Get(hdrTime), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return r, fmt.Errorf("session %q: position %d: headers: %w: %w", r.sess, r.pos, store.ErrCorrupt, err)
	}
	r.seq, r.time = seq, time.Unix(0, ns).UTC()
	return r, nil
}

// scan yields the messages on filter from stream sequence start on, in
// stream order, until it has read every message stored when the scan
// began. It uses an ephemeral consumer that it deletes when done. It holds
// no lock while the caller's loop body runs.
func (s *Store) scan(ctx context.Context, filter string, start uint64, headersOnly bool) iter.Seq2[jetstream.Msg, error] {
	return func(yield func(jetstream.Msg, error) bool) {
		if err := s.enter(ctx); err != nil {
			yield(nil, err)
			return
		}
		last, err := s.lastSeq(ctx)
		s.mu.RUnlock()
		if err != nil {
			yield(nil, s.closedOr(err))
			return
		}
		if start > last {
			return
		}
		cons, err := s.stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
			FilterSubject:     filter,
			DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
			OptStartSeq:       max(start, 1),
			AckPolicy:         jetstream.AckNonePolicy,
			InactiveThreshold: time.Minute,
			MemoryStorage:     true,
			HeadersOnly:       headersOnly,
		})
		if err != nil {
			yield(nil, s.closedOr(err))
			return
		}
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.timeout)
			defer cancel()
			_ = s.stream.DeleteConsumer(dctx, cons.CachedInfo().Name) // else it expires after InactiveThreshold
		}()
		for {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			batch, err := cons.FetchNoWait(fetchSize)
			if err != nil {
				yield(nil, s.closedOr(err))
				return
			}
			n := 0
			for m := range batch.Messages() {
				n++
				md, err := m.Metadata()
				if err != nil {
					yield(nil, err)
					return
				}
				if !yield(m, nil) {
					return
				}
				if md.NumPending == 0 || md.Sequence.Stream >= last {
					return
				}
			}
			if err := batch.Error(); err != nil {
				yield(nil, s.closedOr(err))
				return
			}
			if n == 0 {
				return
			}
		}
	}
}

// closedOr returns store.ErrClosed for an error of a closed store, else
// err.
func (s *Store) closedOr(err error) error {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return fmt.Errorf("%w (%v)", store.ErrClosed, err)
	}
	return err
}

// Read implements store.Store.
func (s *Store) Read(ctx context.Context, q store.Query) iter.Seq2[event.Event, error] {
	if err := q.Check(); err != nil {
		return store.Fail[event.Event](err)
	}
	return func(yield func(event.Event, error) bool) {
		subj := s.evSubj + token(q.Session)
		start, err := s.startAfter(ctx, subj, q.After)
		if err != nil {
			yield(event.Event{}, fmt.Errorf("jetstream: read %q: %w", q.Session, err))
			return
		}
		n := 0
		for m, err := range s.scan(ctx, subj, start, false) {
			if err != nil {
				yield(event.Event{}, fmt.Errorf("jetstream: read %q: %w", q.Session, err))
				return
			}
			r, err := s.record(m)
			if err != nil {
				yield(event.Event{}, err)
				return
			}
			if r.seq <= q.After || !store.MatchTypes(q.Types, r.typ) || !store.InTimeRange(r.time, q.Since, q.Until) {
				continue
			}
			ev, err := s.dec.Decode(r.data, r.seq, r.pos)
			if err != nil {
				yield(event.Event{}, fmt.Errorf("session %q: %w", r.sess, err))
				return
			}
			if !yield(ev, nil) {
				return
			}
			if n++; q.Limit > 0 && n >= q.Limit {
				return
			}
		}
	}
}

// startAfter returns the stream sequence to read a session's subject from
// so that its first event there has a sequence number greater than after:
// a binary search over the stream, each probe one "next message on the
// subject" request.
func (s *Store) startAfter(ctx context.Context, subj string, after uint64) (uint64, error) {
	if after == 0 {
		return 1, nil
	}
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	last, err := s.lastSeq(ctx)
	if err != nil {
		return 0, err
	}
	// Every message on subj before lo has a sequence number ≤ after; the
	// first message on subj at or after hi (if any) has one > after.
	lo, hi := uint64(1), last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		m, err := s.stream.GetMsg(ctx, mid, jetstream.WithGetMsgSubject(subj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			hi = mid
			continue
		}
		if err != nil {
			return 0, err
		}
		seq, err := strconv.ParseUint(m.Header.Get(hdrSeq), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("position %d: %w: %w", m.Sequence, store.ErrCorrupt, err)
		}
		if seq <= after {
			lo = m.Sequence + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// ReadAll implements store.Store.
func (s *Store) ReadAll(ctx context.Context, q store.AllQuery) iter.Seq2[store.Entry, error] {
	if err := q.Check(); err != nil {
		return store.Fail[store.Entry](err)
	}
	return func(yield func(store.Entry, error) bool) {
		n := 0
		for m, err := range s.scan(ctx, s.evSubj+"*", q.After+1, false) {
			if err != nil {
				yield(store.Entry{}, fmt.Errorf("jetstream: read all: %w", err))
				return
			}
			r, err := s.record(m)
			if err != nil {
				yield(store.Entry{}, err)
				return
			}
			if !strings.HasPrefix(r.sess, q.SessionPrefix) || !store.MatchTypes(q.Types, r.typ) {
				continue
			}
			ev, err := s.dec.Decode(r.data, r.seq, r.pos)
			if err != nil {
				yield(store.Entry{}, fmt.Errorf("session %q: %w", r.sess, err))
				return
			}
			if !yield(store.Entry{Pos: r.pos, Event: ev}, nil) {
				return
			}
			if n++; q.Limit > 0 && n >= q.Limit {
				return
			}
		}
	}
}

// subjects returns the message count of every subject matching filter.
func (s *Store) subjects(ctx context.Context, filter string) (map[string]uint64, error) {
	info, err := s.stream.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, err
	}
	return info.State.Subjects, nil
}

// Sessions implements store.Store. It lists the subjects of events and
// tombstones, then reads each listed session's first and last event (or
// its tombstone).
func (s *Store) Sessions(ctx context.Context, q store.SessionQuery) ([]store.SessionInfo, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	if err := s.enter(ctx); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	counts, err := s.subjects(ctx, s.evSubj+"*")
	if err != nil {
		return nil, fmt.Errorf("jetstream: sessions: %w", err)
	}
	tombs, err := s.subjects(ctx, s.tombSubj+"*")
	if err != nil {
		return nil, fmt.Errorf("jetstream: sessions: %w", err)
	}
	seen := make(map[string]bool)
	var ids []string
	add := func(subjects map[string]uint64, prefix string) {
		for subj := range subjects {
			if id, ok := sessionOf(subj, prefix); ok && !seen[id] && strings.HasPrefix(id, q.Prefix) && (q.Order == store.ByActivity || id > q.After) {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	add(counts, s.evSubj)
	add(tombs, s.tombSubj)
	var pos map[string]uint64
	if q.Order == store.ByActivity {
		if pos, err = s.lastPositions(ctx, ids, counts); err != nil {
			return nil, fmt.Errorf("jetstream: sessions: %w", err)
		}
		ids = slices.DeleteFunc(ids, func(id string) bool { p := pos[id]; return p == 0 || q.Before > 0 && p >= q.Before })
		slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(pos[b], pos[a]) })
	} else {
		slices.Sort(ids)
	}
	var out []store.SessionInfo
	for _, id := range ids {
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
		si, found, err := s.info(ctx, id, counts[s.evSubj+token(id)])
		if err != nil {
			return nil, fmt.Errorf("jetstream: sessions: %w", err)
		}
		// Skip a session deleted since the listing, and one that got
		// events since (it moved to the front: the page keeps its order),
		// and take the next one in its place: a page shorter than the
		// limit means there are no more.
		if found && (pos == nil || si.LastPos == pos[id]) {
			out = append(out, si)
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// lastPositions returns the last position of each of the sessions ids
// (given the event counts of their subjects), 0 for one deleted meanwhile:
// one direct get of each session's last event message (or, for a session
// without events, of its tombstone), several at a time.
func (s *Store) lastPositions(ctx context.Context, ids []string, counts map[string]uint64) (map[string]uint64, error) {
	const workers = 16
	pos := make([]uint64, len(ids))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(ids); i += workers {
				subj := s.evSubj + token(ids[i])
				if counts[subj] > 0 {
					m, err := s.stream.GetLastMsgForSubject(ctx, subj)
					if err == nil {
						pos[i] = m.Sequence
						continue
					}
					if !errors.Is(err, jetstream.ErrMsgNotFound) {
						errs[w] = err
						return
					}
				}
				st, err := s.readState(ctx, ids[i])
				if err != nil {
					errs[w] = err
					return
				}
				pos[i] = st.pos
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(ids))
	for i, id := range ids {
		out[id] = pos[i]
	}
	return out, nil
}

// info returns one session's summary given its event count.
func (s *Store) info(ctx context.Context, id string, count uint64) (store.SessionInfo, bool, error) {
	st, err := s.readState(ctx, id)
	if err != nil || !st.found {
		return store.SessionInfo{}, false, err
	}
	si := store.SessionInfo{ID: id, LastSeq: st.seq, LastPos: st.pos, Last: time.Unix(0, st.last).UTC(), Count: count}
	if st.expect == 0 {
		si.Count = 0 // only a tombstone: no events
		return si, true, nil
	}
	m, err := s.stream.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(s.evSubj+token(id)))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		si.Count = 0
		return si, true, nil
	}
	if err != nil {
		return si, false, err
	}
	ns, err := strconv.ParseInt(m.Header.Get(hdrTime), 10, 64)
	if err != nil {
		return si, false, fmt.Errorf("session %q: position %d: %w: %w", id, m.Sequence, store.ErrCorrupt, err)
	}
	si.First = time.Unix(0, ns).UTC()
	return si, true, nil
}

// Session implements store.Store.
func (s *Store) Session(ctx context.Context, id string) (store.SessionInfo, error) {
	if err := store.CheckSessionID(id); err != nil {
		return store.SessionInfo{}, err
	}
	if err := s.enter(ctx); err != nil {
		return store.SessionInfo{}, err
	}
	defer s.mu.RUnlock()
	subj := s.evSubj + token(id)
	counts, err := s.subjects(ctx, subj)
	if err != nil {
		return store.SessionInfo{}, fmt.Errorf("jetstream: session %q: %w", id, err)
	}
	si, found, err := s.info(ctx, id, counts[subj])
	if err != nil {
		return store.SessionInfo{}, fmt.Errorf("jetstream: session %q: %w", id, err)
	}
	if !found {
		return store.SessionInfo{}, fmt.Errorf("jetstream: session %q: %w", id, store.ErrNotFound)
	}
	return si, nil
}
