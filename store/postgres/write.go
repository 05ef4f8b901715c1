package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/group"
)

var eventCols = []string{"session", "seq", "pos", "type", "time", "id", "data"}

// Append implements store.Store. When it returns nil the transaction has
// committed (with the server's synchronous_commit, by default on: flushed
// to the server's WAL). An event whose ID is already stored in its session
// is not stored again: it gets the sequence number it has (see
// store.Store).
func (s *Store) Append(ctx context.Context, events []event.Event) error {
	_, err := s.writer.Append(ctx, events, &s.closed)
	return err
}

// AppendDups implements store.DupReporter.
func (s *Store) AppendDups(ctx context.Context, events []event.Event) ([]int, error) {
	return s.writer.Append(ctx, events, &s.closed)
}

type sessState struct {
	lastSeq, count, added, first, last int64
	known                              bool
}

// copyMin is the least number of rows that go in with COPY; smaller groups
// are inserted with one INSERT … SELECT FROM unnest in the same round trip
// as the session update and the commit.
const copyMin = 64

// commit runs on the writer goroutine: one transaction for all reqs, under
// the schema's advisory lock, in two round trips (three with COPY): begin,
// lock and read the sessions; then insert, update and commit.
func (s *Store) commit(reqs []*group.Request) (err error) {
	ctx, cancel := s.txContext()
	defer cancel()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.wrap(fmt.Errorf("postgres: connect: %w", err))
	}
	// A connection left inside a transaction is closed by Release.
	defer conn.Release()
	defer func() {
		if err != nil {
			if ctx.Err() == nil && conn.Conn().PgConn().TxStatus() != 'I' {
				_, _ = conn.Exec(ctx, "ROLLBACK")
			}
			err = s.wrap(err)
		}
	}()
	sess := map[string]*sessState{}
	var names []string
	total := 0
	var idSess []string
	var ids [][16]byte
	for _, r := range reqs {
		total += len(r.Events)
		for i := range r.Events {
			name := r.Events[i].Meta.SessionID
			if sess[name] == nil {
				sess[name] = &sessState{}
				names = append(names, name)
			}
			idSess, ids = append(idSess, name), append(ids, r.Events[i].ID)
		}
	}
	// seen maps the IDs stored before and by this transaction to their
	// sequence numbers.
	type idKey struct {
		session string
		id      [16]byte
	}
	seen := make(map[idKey]int64, total)
	var lastPos int64
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue("SELECT pg_advisory_xact_lock($1)", s.lockKey)
	b.Queue(s.q.lastPos).QueryRow(func(row pgx.Row) error { return row.Scan(&lastPos) })
	b.Queue(s.q.sessions, names).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var name string
			var last, count int64
			if err := rows.Scan(&name, &last, &count); err != nil {
				return err
			}
			if ss := sess[name]; ss != nil {
				ss.lastSeq, ss.count, ss.known = last, count, true
			}
		}
		return rows.Err()
	})
	b.Queue(s.q.lookup, idSess, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k idKey
			var seq int64
			if err := rows.Scan(&k.session, &k.id, &seq); err != nil {
				return err
			}
			seen[k] = seq
		}
		return rows.Err()
	})
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: lock and read sessions: %w", err)
	}
	var rows [][]any
	var cols struct {
		sess, types []string
		seq, pos, t []int64
		ids         [][16]byte
		data        [][]byte
	}
	useCopy := total >= copyMin
	for _, r := range reqs {
		for i := range r.Events {
			ev := &r.Events[i]
			k := idKey{ev.Meta.SessionID, ev.ID}
			if seq, ok := seen[k]; ok {
				r.Duplicate(i, uint64(seq)) // stored before, or earlier in this transaction
				continue
			}
			ss := sess[ev.Meta.SessionID]
			ss.lastSeq++
			seen[k] = ss.lastSeq
			ss.added++
			t := ev.Time.UnixNano()
			if ss.count == 0 && ss.added == 1 {
				ss.first = t
			}
			ss.last = t
			lastPos++
			r.Seqs[i] = uint64(ss.lastSeq)
			if useCopy {
				rows = append(rows, []any{ev.Meta.SessionID, ss.lastSeq, lastPos, string(ev.Type), t, [16]byte(ev.ID), r.Data[i]})
				continue
			}
			cols.sess, cols.types = append(cols.sess, ev.Meta.SessionID), append(cols.types, string(ev.Type))
			cols.seq, cols.pos, cols.t = append(cols.seq, ss.lastSeq), append(cols.pos, lastPos), append(cols.t, t)
			cols.ids, cols.data = append(cols.ids, [16]byte(ev.ID)), append(cols.data, r.Data[i])
		}
	}
	b = &pgx.Batch{}
	if useCopy {
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{s.schema, "events"}, eventCols, pgx.CopyFromRows(rows)); err != nil {
			return fmt.Errorf("postgres: copy events: %w", err)
		}
	} else {
		b.Queue(s.q.insert, cols.sess, cols.seq, cols.pos, cols.types, cols.t, cols.ids, cols.data)
	}
	n := len(names)
	upd, lasts, counts, firsts, lastTimes := make([]string, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	for _, name := range names {
		if ss := sess[name]; ss.added > 0 { // not a session of only duplicates
			upd, lasts, counts = append(upd, name), append(lasts, ss.lastSeq), append(counts, ss.added)
			firsts, lastTimes = append(firsts, ss.first), append(lastTimes, ss.last)
		}
	}
	if len(upd) > 0 {
		b.Queue(s.q.upsert, upd, lasts, counts, firsts, lastTimes)
		b.Queue(s.q.setPos, lastPos)
		b.Queue("SELECT pg_notify($1, '')", s.channel()) // delivered on COMMIT (see Watch)
	}
	b.Queue("COMMIT")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: store events and commit: %w", err)
	}
	return nil
}

// Prune implements store.Store. It runs on the writer, under the advisory
// lock, in transactions of at most group.PruneChunk events each (by count,
// then by age).
func (s *Store) Prune(ctx context.Context) (int64, error) {
	return s.writer.Prune(ctx, &s.closed, s.cfg.Retention, s.pruneOnce)
}

// pruneOnce removes at most chunk events; more reports whether there may be
// more to remove.
func (s *Store) pruneOnce(r store.Retention, chunk int) (n int64, more bool, err error) {
	ctx, cancel := s.txContext()
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, false, s.wrap(fmt.Errorf("postgres: retention: %w", err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(ctx)
			n, more, err = 0, false, s.wrap(fmt.Errorf("postgres: retention: %w", err))
		}
	}()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.lockKey); err != nil {
		return 0, false, err
	}
	removed := map[string]int64{}
	collect := func(rows pgx.Rows, err error) (int64, error) {
		if err != nil {
			return 0, err
		}
		var k int64
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return k, err
			}
			removed[name]++
			k++
		}
		return k, rows.Err()
	}
	n, more, err = group.Trim(r, s.cfg.Clock, chunk,
		func(limit int) (int64, error) {
			return collect(tx.Query(ctx, s.q.pruneCount, int64(r.MaxEvents), limit))
		},
		func(cutoff int64, limit int) (int64, error) {
			return collect(tx.Query(ctx, s.q.pruneAge, cutoff, limit))
		})
	if err != nil {
		return 0, false, err
	}
	if len(removed) > 0 {
		names, counts := make([]string, 0, len(removed)), make([]int64, 0, len(removed))
		for name, k := range removed {
			names, counts = append(names, name), append(counts, k)
		}
		if _, err := tx.Exec(ctx, s.q.pruneUpd, names, counts); err != nil {
			return 0, false, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, false, err
	}
	return n, more, nil
}

// Delete implements store.Store. It runs on the writer, under the advisory
// lock, in one transaction.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.writer.Delete(ctx, &s.closed, id, s.deleteSession)
}

func (s *Store) deleteSession(id string) (err error) {
	ctx, cancel := s.txContext()
	defer cancel()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return s.wrap(fmt.Errorf("postgres: delete session %q: %w", id, err))
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(ctx)
		}
	}()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.lockKey); err != nil {
		return s.wrap(fmt.Errorf("postgres: delete session %q: %w", id, err))
	}
	tag, err := tx.Exec(ctx, s.q.deleteSession, id)
	if err != nil {
		return s.wrap(fmt.Errorf("postgres: delete session %q: %w", id, err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("session %q: %w", id, store.ErrNotFound)
	}
	if _, err := tx.Exec(ctx, s.q.deleteEvents, id); err != nil {
		return s.wrap(fmt.Errorf("postgres: delete session %q: %w", id, err))
	}
	if err := tx.Commit(ctx); err != nil {
		return s.wrap(fmt.Errorf("postgres: delete session %q: %w", id, err))
	}
	return nil
}
