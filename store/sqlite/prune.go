package sqlite

import (
	"context"
	"fmt"

	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/group"
)

// pruneChunk is the most events one retention transaction removes, so that
// appends are not held up for long.
const pruneChunk = 5000

// Prune implements store.Store. It runs on the writer, in transactions of
// at most a few thousand events, between groups of appends.
func (s *Store) Prune(ctx context.Context) (int64, error) {
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	r := s.opts.Retention
	if !r.Enabled() {
		return 0, ctx.Err()
	}
	var total int64
	for {
		var n int64
		var more bool
		err := s.job(ctx, func() (err error) {
			n, more, err = s.pruneOnce(r)
			return err
		})
		total += n
		if err != nil {
			return total, err
		}
		if !more {
			return total, nil
		}
	}
}

func (s *Store) job(ctx context.Context, fn func() error) error {
	return s.writer.Do(ctx, &group.Request{Job: fn})
}

// pruneOnce removes one chunk; more reports whether there may be more.
func (s *Store) pruneOnce(r store.Retention) (n int64, more bool, err error) {
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
	if r.MaxEvents > 0 {
		rows, err := c.QueryContext(ctx, "SELECT sid, last_seq FROM sessions WHERE count > ? LIMIT 256", r.MaxEvents)
		if err != nil {
			return 0, false, err
		}
		type cut struct{ sid, upto int64 }
		var cuts []cut
		for rows.Next() {
			var sid, last int64
			if err := rows.Scan(&sid, &last); err != nil {
				rows.Close()
				return 0, false, err
			}
			cuts = append(cuts, cut{sid, last - int64(r.MaxEvents)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, false, err
		}
		more = len(cuts) == 256
		for _, c2 := range cuts {
			res, err := c.ExecContext(ctx, "DELETE FROM events WHERE sid = ? AND seq <= ?", c2.sid, c2.upto)
			if err != nil {
				return 0, false, err
			}
			k, _ := res.RowsAffected()
			removed[c2.sid] += k
			n += k
		}
	}
	if r.MaxAge > 0 && !more {
		cutoff := s.opts.Now().Add(-r.MaxAge).UnixNano()
		rows, err := c.QueryContext(ctx, "DELETE FROM events WHERE pos IN (SELECT pos FROM events WHERE time < ? ORDER BY time LIMIT ?) RETURNING sid", cutoff, pruneChunk)
		if err != nil {
			return 0, false, err
		}
		var k int64
		for rows.Next() {
			var sid int64
			if err := rows.Scan(&sid); err != nil {
				rows.Close()
				return 0, false, err
			}
			removed[sid]++
			k++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, false, err
		}
		n += k
		more = k == pruneChunk
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
