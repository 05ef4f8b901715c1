package sqlite

import (
	"context"
	"time"
)

// checkpointEvery is the least time between two background checkpoints.
const checkpointEvery = 20 * time.Millisecond

// checkpointer copies the WAL back into the database file in the
// background (PRAGMA wal_checkpoint(PASSIVE)), so that the writer does not
// pay for it. The writer nudges it after each commit.
func (s *Store) checkpointer(ctx context.Context) {
	defer close(s.ckptDone)
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.ckpt:
		}
		if _, err := conn.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("sqlite: checkpoint failed", "path", s.path, "err", err)
		}
		t.Reset(checkpointEvery)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// nudge tells the checkpointer that the WAL grew.
func (s *Store) nudge() {
	select {
	case s.ckpt <- struct{}{}:
	default:
	}
}
