package sqlite

import (
	"context"
	"fmt"
)

// mergeRows is how many events the recent table holds before the writer
// moves them into the events table. More means fewer page rewrites per
// event in events (a session's page is rewritten once per merge rather
// than once per commit), but a longer pause for the appends that queue
// behind a merge and a larger recent_seq index for each commit to update.
const mergeRows = 4096

const (
	// qMerge copies recent into events in (sid, seq) order, so that each
	// session's pages are written once, one after the other.
	qMerge = `INSERT INTO events(sid, seq, pos, type, time, id, data)
	SELECT sid, seq, pos, type, time, id, data FROM recent ORDER BY sid, seq`
	qClearRecent = "DELETE FROM recent"
)

// mergeIfDue runs on the writer after each group of appends has been
// answered: if recent holds mergeRows events or more, it moves them into
// events. A failed merge loses nothing (the events stay in recent, where
// readers find them); it is logged, and tried again after a later commit.
func (s *Store) mergeIfDue() {
	if !s.w.posKnown || s.w.recent < s.mergeAt {
		return
	}
	if err := s.merge(); err != nil {
		s.cfg.Logger.Warn("sqlite: moving recent events failed", "path", s.path, "err", err)
	}
}

// merge moves every event of recent into events, in a transaction of its
// own. Readers see the events in one table or the other, never both and
// never neither: each read statement sees one committed state.
func (s *Store) merge() (err error) {
	ctx := context.Background()
	c := s.wconn
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
	if err := s.moveRecent(ctx); err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("sqlite: merge: commit: %w", err)
	}
	s.w.recent = 0
	s.nudge()
	return nil
}

// moveRecent moves the events of recent into events, inside the caller's
// transaction on the write connection.
func (s *Store) moveRecent(ctx context.Context) error {
	if _, err := s.w.stmts[qMerge].ExecContext(ctx); err != nil {
		return fmt.Errorf("sqlite: merge: copy recent events: %w", err)
	}
	if _, err := s.w.stmts[qClearRecent].ExecContext(ctx); err != nil {
		return fmt.Errorf("sqlite: merge: clear recent events: %w", err)
	}
	return nil
}
