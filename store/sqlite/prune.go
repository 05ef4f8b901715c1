package sqlite

import (
	"context"
	"fmt"

	"github.com/sluice-events/sluice/store"
)

// pruneChunk is the most events one retention transaction removes, so that
// appends are not held up for long.
const pruneChunk = 5000

// Prune implements store.Store. It runs on the writer, in transactions of
// at most pruneChunk events each (by count, then by age), between groups
// of appends.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	r := s.opts.Retention
	if !r.Enabled() {
		return 0, ctx.Err()
	}
	return s.writer.Repeat(ctx, func() (int64, bool, error) { return s.pruneOnce(r, pruneChunk) })
}

// pruneOnce removes at most chunk events; more reports whether there may be
// more to remove.
func (s *Store) pruneOnce(r store.Retention, chunk int) (n int64, more bool, err error) {
	ctx := context.Background()
	c := s.wconn
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, false, s.wrap(fmt.Errorf("sqlite: retention: %w", err))
	}
	defer func() {
		if err != nil {
			_, _ = c.ExecContext(ctx, "ROLLBACK")
			n, more, err = 0, false, s.wrap(fmt.Errorf("sqlite: retention: %w", err))
		}
	}()
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
	if r.MaxEvents > 0 {
		// The oldest events beyond MaxEvents of the sessions that hold
		// too many, at most chunk of them.
		k, err := del(`DELETE FROM events WHERE (sid, seq) IN (
			SELECT e.sid, e.seq FROM sessions s JOIN events e ON e.sid = s.sid AND e.seq <= s.last_seq - ?1
			WHERE s.count > ?1 LIMIT ?2) RETURNING sid`, r.MaxEvents, chunk)
		if err != nil {
			return 0, false, err
		}
		n += k
		more = k == int64(chunk)
	}
	if r.MaxAge > 0 && !more {
		cutoff := s.opts.Now().Add(-r.MaxAge).UnixNano()
		k, err := del("DELETE FROM events WHERE pos IN (SELECT pos FROM events WHERE time < ? ORDER BY time LIMIT ?) RETURNING sid", cutoff, chunk-int(n))
		if err != nil {
			return 0, false, err
		}
		n += k
		more = n == int64(chunk)
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
