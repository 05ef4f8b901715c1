package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// mergeRows is how many events a recent table holds before the writer
// turns to the other one and moves the full one into events. More means
// fewer page rewrites per event in events (a session's last page is
// rewritten once per merge rather than once per commit), but a larger
// recentN_seq index for each commit to update (it is scattered by session
// too).
const mergeRows = 4096

// sliceRows is about how many events one merge transaction moves: whole
// sessions, in session id order, up to this many events (or one session,
// if it has more). The writer runs one slice after each group of appends,
// so a slice is the longest that appends wait for a merge.
const sliceRows = 256

// recentQueries are the statements of one recent table.
type recentQueries struct {
	table string
	// skip is the condition that leaves out the rows already copied into
	// events (of a table being merged), for readers.
	skip string
	// count reads the table's row count, its smallest position and the
	// session id below which it has been merged.
	count string
	// slice finds the first session id from ?1 on, and the one that ends
	// a slice: that of the row after the first ?2 rows from there (NULL if
	// there are no more).
	slice string
	// copy copies the rows of sessions from ?1 below ?2 into events, in
	// (sid, seq) order, so that each session's pages are written once, one
	// after the other; copyRest copies all that have not been. (OR FAIL,
	// like the writer's inserts: a conflict fails the statement without
	// undoing its earlier rows, which spares SQLite a statement journal;
	// the transaction is rolled back on any error anyway.)
	copy, copyRest string
	// setMerged records how far the table has been merged (0: not being
	// merged); clear empties it.
	setMerged, clear string
}

// recentQ are the two recent tables' statements.
var recentQ = [2]recentQueries{newRecentQueries(0), newRecentQueries(1)}

func newRecentQueries(k int) recentQueries {
	t, key := "recent"+strconv.Itoa(k), "'merged"+strconv.Itoa(k)+"'"
	const cols = "sid, seq, pos, type, time, id, data"
	skip := "(SELECT value FROM meta WHERE key = " + key + ")"
	return recentQueries{
		table:     t,
		skip:      skip,
		count:     "SELECT count(*), coalesce(min(pos), 0), " + skip + " FROM " + t,
		slice:     "SELECT (SELECT min(sid) FROM " + t + " WHERE sid >= ?1), (SELECT sid FROM " + t + " WHERE sid >= ?1 ORDER BY sid LIMIT 1 OFFSET ?2)",
		copy:      "INSERT OR FAIL INTO events(" + cols + ") SELECT " + cols + " FROM " + t + " WHERE sid >= ? AND sid < ? ORDER BY sid, seq",
		copyRest:  "INSERT OR FAIL INTO events(" + cols + ") SELECT " + cols + " FROM " + t + " WHERE sid >= " + skip + " ORDER BY sid, seq",
		setMerged: "UPDATE meta SET value = ? WHERE key = " + key,
		clear:     "DELETE FROM " + t,
	}
}

// unionRecent returns the SQL that reads the same columns from events and
// from both recent tables, leaving out the rows of a recent table that
// have been copied into events already: sel(table) gives one part, which
// must select from table, named e, and end in a WHERE clause, to which
// that condition is added.
func unionRecent(sel func(table string) string) string {
	var b strings.Builder
	b.WriteString(sel("events"))
	for _, q := range recentQ {
		b.WriteString(" UNION ALL ")
		b.WriteString(sel(q.table))
		b.WriteString(" AND e.sid >= " + q.skip)
	}
	return b.String()
}

// loadRecent reads which recent table the writer appends to, how many
// events it holds, and how far the other one has been merged.
func (s *Store) loadRecent(ctx context.Context) error {
	var n, minPos, merged [2]int64
	for k, q := range recentQ {
		if err := s.w.stmts[q.count].QueryRowContext(ctx).Scan(&n[k], &minPos[k], &merged[k]); err != nil {
			return fmt.Errorf("sqlite: count recent events: %w", err)
		}
	}
	s.w.merging, s.w.mergedTo = false, 0
	switch {
	case merged[0] > 0 || merged[1] > 0: // a merge in progress
		k := 0
		if merged[1] > 0 {
			k = 1
		}
		s.w.active, s.w.merging, s.w.mergedTo = 1-k, true, merged[k]
	case n[0] > 0 && n[1] > 0: // a merge due, not begun: the older one
		k := 0
		if minPos[1] < minPos[0] {
			k = 1
		}
		s.w.active, s.w.merging = 1-k, true
	case n[1] > 0:
		s.w.active = 1
	default:
		s.w.active = 0
	}
	s.w.recent = n[s.w.active]
	return nil
}

// mergeIfDue runs on the writer after each group of appends has been
// answered. When the recent table it appends to holds mergeAt events, the
// writer turns to the other one (which is empty) and starts merging the
// full one; while a merge is in progress, each call moves one slice (all
// that is left, if the table appended to is full again). A failed slice
// loses nothing (its events stay where readers find them); it is logged,
// and tried again after a later commit.
func (s *Store) mergeIfDue() {
	if !s.w.posKnown {
		return
	}
	if !s.w.merging && s.w.recent >= s.mergeAt {
		s.w.active, s.w.merging, s.w.mergedTo, s.w.recent = 1-s.w.active, true, 0, 0
	}
	if !s.w.merging {
		return
	}
	limit := s.sliceAt
	if s.w.recent >= s.mergeAt {
		limit = 0 // all that is left
	}
	if err := s.mergeSlice(limit); err != nil {
		s.cfg.Logger.Warn("sqlite: moving recent events failed", "path", s.path, "err", err)
	}
}

// mergeSlice moves the next slice of the table being merged (about limit
// events; 0: all that is left) into events, in a transaction of its own.
// Readers see each event in one table or the other, never both and never
// neither: each read statement sees one committed state, and meta.mergedN
// changes in the transaction that copies.
func (s *Store) mergeSlice(limit int64) (err error) {
	ctx := context.Background()
	c := s.wconn
	q := &recentQ[1-s.w.active]
	if s.sync == Full {
		// No fsync for a merge (see Durability in the package doc): the
		// next FULL commit's fsync covers its frames in the WAL.
		// If FULL cannot be set again here, the next commit does it.
		s.w.relaxed = true
		if _, err := c.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
			return s.wrap(fmt.Errorf("sqlite: merge: %w", err))
		}
		defer func() {
			if serr := s.strict(ctx); serr != nil && err == nil {
				err = serr
			}
		}()
	}
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		s.forget()
		return s.wrap(fmt.Errorf("sqlite: merge: %w", err))
	}
	defer func() {
		if err != nil {
			_, _ = c.ExecContext(ctx, "ROLLBACK")
			s.forget()
			err = s.wrap(err)
		}
	}()
	lo, hi := s.w.mergedTo, int64(0)
	last := limit == 0
	if !last {
		var first, end sql.NullInt64
		if err := s.w.stmts[q.slice].QueryRowContext(ctx, lo, limit).Scan(&first, &end); err != nil {
			return fmt.Errorf("sqlite: merge: %w", err)
		}
		last = !end.Valid
		hi = end.Int64
		if hi == first.Int64 { // one session of more than limit events
			hi++
		}
	}
	if last {
		err = s.moveRecent(ctx, q)
	} else {
		if err = s.exec(ctx, q.copy, lo, hi); err == nil {
			err = s.exec(ctx, q.setMerged, hi)
		}
	}
	if err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("sqlite: merge: commit: %w", err)
	}
	if last {
		s.w.merging, s.w.mergedTo = false, 0
	} else {
		s.w.mergedTo = hi
	}
	s.nudge()
	return nil
}

// moveRecent moves what is left in recent table q into events, and
// empties it, inside the caller's transaction on the write connection.
func (s *Store) moveRecent(ctx context.Context, q *recentQueries) error {
	if err := s.exec(ctx, q.copyRest); err != nil {
		return err
	}
	if err := s.exec(ctx, q.clear); err != nil {
		return err
	}
	return s.exec(ctx, q.setMerged, 0)
}

// exec runs one of the writer's prepared merge statements.
func (s *Store) exec(ctx context.Context, query string, args ...any) error {
	if _, err := s.w.stmts[query].ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("sqlite: merge: %w", err)
	}
	return nil
}

// strict sets synchronous back to FULL on the write connection after a
// merge relaxed it; commit, retention and Delete call it too, so that
// nothing a caller waits for commits without its fsync even if the merge
// could not set it back.
func (s *Store) strict(ctx context.Context) error {
	if !s.w.relaxed {
		return nil
	}
	if _, err := s.wconn.ExecContext(ctx, "PRAGMA synchronous = FULL"); err != nil {
		return s.wrap(fmt.Errorf("sqlite: set synchronous FULL: %w", err))
	}
	s.w.relaxed = false
	return nil
}
