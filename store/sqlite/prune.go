package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/group"
)

// Prune implements store.Store. It runs on the writer, in transactions of
// at most group.PruneChunk events each (by count, then by age), between
// groups of appends.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	return s.writer.Prune(ctx, &s.closed, s.cfg.Retention, s.pruneOnce)
}

// pruneOnce removes at most chunk events; more reports whether there may be
// more to remove.
func (s *Store) pruneOnce(r store.Retention, chunk int) (n int64, more bool, err error) {
	ctx := context.Background()
	c := s.wconn
	if err := s.strict(ctx); err != nil {
		return 0, false, err
	}
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, false, s.wrap(fmt.Errorf("sqlite: retention: %w", err))
	}
	defer func() {
		if err != nil {
			_, _ = c.ExecContext(ctx, "ROLLBACK")
			n, more, err = 0, false, s.wrap(fmt.Errorf("sqlite: retention: %w", err))
		}
	}()
	// Retention looks at events only: move the recent tables there first
	// (the writer's view of them is forgotten after this job).
	for i := range recentQ {
		if err := s.moveRecent(ctx, &recentQ[i]); err != nil {
			return 0, false, err
		}
	}
	removed := map[int64]int64{} // sid → events removed
	del := func(query string, args ...any) (int64, error) {
		rows, err := c.QueryContext(ctx, query, args...)
		if err != nil {
			return 0, err
		}
		defer rows.Close()
		var k int64
		for rows.Next() {
			var sid int64
			if err := rows.Scan(&sid); err != nil {
				return 0, err
			}
			removed[sid]++
			k++
		}
		return k, rows.Err()
	}
	n, more, err = group.Trim(r, s.cfg.Clock, chunk,
		func(limit int) (int64, error) {
			// The oldest events beyond MaxEvents of the sessions that hold
			// too many, at most limit of them.
			return del(`DELETE FROM events WHERE (sid, seq) IN (
			SELECT e.sid, e.seq FROM sessions s JOIN events e ON e.sid = s.sid AND e.seq <= s.last_seq - ?1
			WHERE s.count > ?1 LIMIT ?2) RETURNING sid`, r.MaxEvents, limit)
		},
		func(cutoff int64, limit int) (int64, error) {
			return del("DELETE FROM events WHERE pos IN (SELECT pos FROM events WHERE time < ? ORDER BY time LIMIT ?) RETURNING sid", cutoff, limit)
		})
	if err != nil {
		return 0, false, err
	}
	for sid, k := range removed {
		if _, err := c.ExecContext(ctx, `UPDATE sessions SET count = count - ?1,
			first_time = coalesce((SELECT time FROM events WHERE sid = ?2 ORDER BY seq LIMIT 1), 0) WHERE sid = ?2`, k, sid); err != nil {
			return 0, false, err
		}
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return 0, false, err
	}
	return n, more, nil
}

// Delete implements store.Store. It runs on the writer, in one
// transaction, between groups of appends.
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.writer.Delete(ctx, &s.closed, id, s.deleteSession)
}

func (s *Store) deleteSession(id string) (err error) {
	ctx := context.Background()
	c := s.wconn
	if err := s.strict(ctx); err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return s.wrap(fmt.Errorf("sqlite: delete session: %w", err))
	}
	defer func() {
		if err != nil {
			_, _ = c.ExecContext(ctx, "ROLLBACK")
		}
	}()
	var sid int64
	switch err := c.QueryRowContext(ctx, "DELETE FROM sessions WHERE name = ? RETURNING sid", id).Scan(&sid); {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("session %q: %w", id, store.ErrNotFound)
	case err != nil:
		return s.wrap(fmt.Errorf("sqlite: delete session %q: %w", id, err))
	}
	for _, table := range []string{"events", recentQ[0].table, recentQ[1].table} {
		if _, err := c.ExecContext(ctx, "DELETE FROM "+table+" WHERE sid = ?", sid); err != nil {
			return s.wrap(fmt.Errorf("sqlite: delete session %q: %w", id, err))
		}
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return s.wrap(fmt.Errorf("sqlite: delete session %q: %w", id, err))
	}
	return nil
}
