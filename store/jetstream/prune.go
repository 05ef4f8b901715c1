package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/sluice-events/sluice/store"
)

// Prune implements store.Store. It reads the headers of every event once,
// then removes, session by session, the events beyond Retention.MaxEvents
// and those whose Time is older than Retention.MaxAge before the store's
// clock: a leading run with one purge, any others one by one. Before it
// removes the last event of a session it writes the session's tombstone,
// so that the session keeps its last sequence number.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	s.mu.RUnlock()
	r := s.cfg.Retention
	if !r.Enabled() {
		return 0, nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*s.cfg.timeout)
		defer cancel()
	}
	var cutoff time.Time
	if r.MaxAge > 0 {
		cutoff = s.cfg.Clock().Add(-r.MaxAge)
	}
	bySubj := make(map[string][]msg)
	for m, err := range s.scan(ctx, s.evSubj+"*", 1, true) {
		if err != nil {
			return 0, fmt.Errorf("jetstream: prune: %w", err)
		}
		rec, err := s.record(m)
		if err != nil {
			return 0, fmt.Errorf("jetstream: prune: %w", err)
		}
		bySubj[m.Subject()] = append(bySubj[m.Subject()], msg{rec.pos, rec.seq, rec.time})
	}
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	defer s.mu.RUnlock()
	var n int64
	for subj, msgs := range bySubj {
		var drop []uint64
		lead := 0 // length of the leading run of dropped messages
		for i, m := range msgs {
			tooMany := r.MaxEvents > 0 && len(msgs)-i > r.MaxEvents
			tooOld := r.MaxAge > 0 && m.time.Before(cutoff)
			if tooMany || tooOld {
				if len(drop) == i {
					lead++
				}
				drop = append(drop, m.pos)
			}
		}
		if len(drop) > 0 && drop[len(drop)-1] == msgs[len(msgs)-1].pos {
			// The last event goes: first leave the tombstone, which keeps
			// the session's last sequence number.
			if err := s.writeTombstone(ctx, subj, msgs[len(msgs)-1]); err != nil {
				return n, fmt.Errorf("jetstream: prune: %w", err)
			}
		}
		if lead > 0 {
			if err := s.stream.Purge(ctx, jetstream.WithPurgeSubject(subj), jetstream.WithPurgeSequence(drop[lead-1]+1)); err != nil {
				return n, fmt.Errorf("jetstream: prune: %w", err)
			}
			n += int64(lead)
		}
		for _, pos := range drop[lead:] {
			err := s.stream.DeleteMsg(ctx, pos)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				continue // deleted meanwhile (a Delete of the session)
			}
			if err != nil {
				return n, fmt.Errorf("jetstream: prune: %w", err)
			}
			n++
		}
	}
	return n, nil
}

// msg is what Prune reads of an event message.
type msg struct {
	pos  uint64
	seq  uint64
	time time.Time
}

// writeTombstone records a session's last sequence number and event time
// before retention removes its last event; a rollup keeps only the newest
// tombstone of each session.
func (s *Store) writeTombstone(ctx context.Context, evSubj string, last msg) error {
	id, ok := sessionOf(evSubj, s.evSubj)
	if !ok {
		return fmt.Errorf("subject %q: %w", evSubj, store.ErrCorrupt)
	}
	body, _ := json.Marshal(tombstone{Seq: last.seq, Last: last.time.UnixNano(), Pos: last.pos})
	m := nats.NewMsg(s.tombSubj + token(id))
	m.Data = body
	m.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	_, err := s.js.PublishMsg(ctx, m)
	return err
}
