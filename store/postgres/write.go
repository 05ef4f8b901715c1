package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/group"
)

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

// lockTimeout is how long an append transaction waits for the schema's
// advisory lock: half of commitTimeout.
func lockTimeout() string {
	return fmt.Sprintf("%dms", (commitTimeout / 2).Milliseconds())
}

// commit runs on the writer goroutine: one transaction for all reqs, in one
// round trip: BEGIN, the schema's advisory lock, one statement (q.append)
// that numbers, de-duplicates and inserts the events and updates the
// sessions and the last position, the NOTIFY, and COMMIT, sent together.
// The statement runs after the lock is taken, so it reads what every
// earlier append committed.
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
	// An ID that comes again in the call is sent once; uniq[k] is the
	// index among the sent events of the call's k-th event.
	type idKey struct {
		session string
		id      [16]byte
	}
	total := 0
	for _, r := range reqs {
		total += len(r.Events)
	}
	first := make(map[idKey]int, total)
	uniq := make([]int, 0, total)
	sess, types := make([]string, 0, total), make([]string, 0, total)
	ids, times, data := make([][16]byte, 0, total), make([]int64, 0, total), make([][]byte, 0, total)
	for _, r := range reqs {
		for i := range r.Events {
			ev := &r.Events[i]
			k := idKey{ev.Meta.SessionID, ev.ID}
			if u, ok := first[k]; ok {
				uniq = append(uniq, -1-u) // a repeat: negative
				continue
			}
			first[k] = len(ids)
			uniq = append(uniq, len(ids))
			sess, types = append(sess, ev.Meta.SessionID), append(types, string(ev.Type))
			ids, times, data = append(ids, ev.ID), append(times, ev.Time.UnixNano()), append(data, r.Data[i])
		}
	}
	// The statement answers one row per event sent, in any order: its
	// ordinal (from 1), its sequence number and whether it is new.
	seqs, fresh := make([]int64, len(ids)), make([]bool, len(ids))
	answered := 0
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	// Everything up to COMMIT is sent at once, so the server gives up
	// waiting for the lock itself, well before the client gives up on the
	// commit: a client that gave up must not leave behind a transaction
	// that then takes the lock and commits.
	b.Queue("SELECT set_config('lock_timeout', $1, true)", lockTimeout())
	b.Queue("SELECT pg_advisory_xact_lock($1)", s.lockKey)
	b.Queue(s.q.append, sess, ids, types, times, data).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var ord, seq int64
			var isNew bool
			if err := rows.Scan(&ord, &seq, &isNew); err != nil {
				return err
			}
			if ord < 1 || ord > int64(len(ids)) {
				return fmt.Errorf("postgres: the append statement answered event %d of %d", ord, len(ids))
			}
			seqs[ord-1], fresh[ord-1] = seq, isNew
			answered++
		}
		return rows.Err()
	})
	b.Queue("SELECT pg_notify($1, '')", s.channel()) // delivered on COMMIT (see Watch)
	b.Queue("COMMIT")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
			return fmt.Errorf("postgres: append: the schema's lock was not free within %s: %w (%w)", lockTimeout(), context.DeadlineExceeded, err)
		}
		return fmt.Errorf("postgres: store events and commit: %w", err)
	}
	if answered != len(ids) {
		return fmt.Errorf("postgres: the append statement answered %d rows for %d events", answered, len(ids))
	}
	k := 0
	for _, r := range reqs {
		for i := range r.Events {
			u, repeat := uniq[k], false
			if u < 0 {
				u, repeat = -1-u, true
			}
			if fresh[u] && !repeat {
				r.Seqs[i] = uint64(seqs[u])
			} else {
				r.Duplicate(i, uint64(seqs[u])) // stored before, or earlier in this call
			}
			k++
		}
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
