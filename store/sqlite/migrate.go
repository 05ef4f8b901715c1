package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sluice-events/sluice/store/internal/page"
)

// fillLastPos migrates a database of schema version 1 to version 2 (the
// caller holds the transaction and sets PRAGMA user_version): it adds to
// sessions the column last_pos (the position of the session's last
// appended event, which store.ByActivity orders by) and its index, and
// fills it in from the events. A build that knows only version 1 then
// refuses the file, rather than appending without keeping last_pos.
//
// A session that retention emptied before the migration has no event left
// to tell its last position; it gets a number no other session has, the
// smallest ones free, in the order of its last event time, so that it
// sorts among the oldest activity (not always below every session that
// kept events: a free number can lie above a kept one) and paging
// ByActivity still visits every session once.
func fillLastPos(ctx context.Context, conn *sql.Conn) error {
	for _, q := range []string{
		"ALTER TABLE sessions ADD COLUMN last_pos INTEGER NOT NULL DEFAULT 0",
		// A session's positions grow with its sequence numbers: its last
		// position is that of its last stored event (one probe of the
		// primary key per session).
		"UPDATE sessions SET last_pos = coalesce((SELECT pos FROM events WHERE events.sid = sessions.sid ORDER BY seq DESC LIMIT 1), 0)",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("fill sessions.last_pos: %w", err)
		}
	}
	used := map[int64]bool{}
	var empty []int64
	rows, err := conn.QueryContext(ctx, "SELECT sid, last_pos FROM sessions ORDER BY last_time, sid")
	if err != nil {
		return err
	}
	for rows.Next() {
		var sid, pos int64
		if err := rows.Scan(&sid, &pos); err != nil {
			rows.Close()
			return err
		}
		if pos == 0 {
			empty = append(empty, sid)
		} else {
			used[pos] = true
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for i, pos := range page.Spare(used, len(empty)) {
		if _, err := conn.ExecContext(ctx, "UPDATE sessions SET last_pos = ? WHERE sid = ?", pos, empty[i]); err != nil {
			return fmt.Errorf("fill sessions.last_pos: %w", err)
		}
	}
	_, err = conn.ExecContext(ctx, "CREATE INDEX sessions_last_pos ON sessions(last_pos)")
	return err
}
