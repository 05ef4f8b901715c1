package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-events/sluice/store/internal/page"
)

// migrateLastPos migrates a schema of version 1 to version 2, in tx (which
// holds the schema's advisory lock): it adds to sessions the column
// last_pos (the position of the session's last appended event, which
// store.ByActivity orders by) and its index, and fills it in from the
// events. A build that knows only version 1 then refuses the schema,
// rather than appending without keeping last_pos.
//
// A session that retention emptied before the migration has no event left
// to tell its last position; it gets a number no other session has, the
// smallest ones free, in the order of its last event time, so that it
// sorts among the oldest activity (not always below every session that
// kept events: a free number can lie above a kept one) and paging
// ByActivity still visits every session once.
func (s *Store) migrateLastPos(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, s.q.addLastPos); err != nil {
		return err
	}
	rows, err := tx.Query(ctx, `SELECT session, last_pos FROM `+pgx.Identifier{s.schema, "sessions"}.Sanitize()+` ORDER BY last_time, session COLLATE "C"`)
	if err != nil {
		return err
	}
	used := map[int64]bool{}
	var empty []string
	for rows.Next() {
		var name string
		var pos int64
		if err := rows.Scan(&name, &pos); err != nil {
			rows.Close()
			return err
		}
		if pos == 0 {
			empty = append(empty, name)
		} else {
			used[pos] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(empty) > 0 {
		if _, err := tx.Exec(ctx, s.q.fillLastPos, empty, page.Spare(used, len(empty))); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, s.q.indexLastPos)
	return err
}
