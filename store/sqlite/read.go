package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"iter"
	"math"
	"strings"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/page"
)

// rowsPerPage is how many rows an iterator fetches per query.
const rowsPerPage = 512

// typeFilter adds the SQL part of a type pattern: equality for an exact
// pattern, a GLOB on the literal prefix for a wildcard one (the pattern
// itself is then matched in Go, which inGo reports).
func typeFilter(p event.Pattern, col string, where *strings.Builder, args *[]any) (inGo bool) {
	exact, prefix, inGo := page.TypeFilter(p)
	switch {
	case exact != "":
		where.WriteString(" AND " + col + " = ?")
		*args = append(*args, exact)
	case prefix != "":
		where.WriteString(" AND " + col + " GLOB ?")
		*args = append(*args, globPrefix(prefix))
	}
	return inGo
}

// check is the iterators' check before each page.
func (s *Store) check(context.Context) error {
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// Read implements store.Store.
func (s *Store) Read(ctx context.Context, q store.Query) iter.Seq2[event.Event, error] {
	if err := q.Check(); err != nil {
		return store.Fail[event.Event](err)
	}
	var where strings.Builder
	var fixed []any
	inGo := typeFilter(q.Types, "type", &where, &fixed)
	if !q.Since.IsZero() {
		where.WriteString(" AND time >= ?")
		fixed = append(fixed, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where.WriteString(" AND time < ?")
		fixed = append(fixed, q.Until.UnixNano())
	}
	// The three tables, merged in seq order (each through its (sid, seq)
	// key).
	query := unionRecent(func(table string) string {
		return "SELECT e.seq AS seq, e.type, e.data FROM " + table + " e WHERE e.sid = (SELECT sid FROM sessions WHERE name = ?) AND e.seq > ?" + where.String()
	}) + " ORDER BY seq LIMIT ?"
	return page.Iter(ctx, page.Pager[event.Event]{
		After: q.After, Limit: q.Limit, Size: rowsPerPage, Filtered: inGo, Check: s.check,
		Fetch: func(ctx context.Context, after uint64, size int, buf []event.Event) ([]event.Event, int, uint64, error) {
			args := make([]any, 0, 3*len(fixed)+7)
			for range 1 + len(recentQ) {
				args = append(args, q.Session, int64(after))
				args = append(args, fixed...)
			}
			args = append(args, size)
			var last uint64
			var bad []byte
			rows, err := s.query(ctx, query, args, func(rows *sql.Rows) error {
				// Not the position: scanning it costs an allocation per
				// row; only an error needs it.
				var seq int64
				var typ, data sql.RawBytes
				if err := rows.Scan(&seq, &typ, &data); err != nil {
					return err
				}
				last = uint64(seq)
				if inGo && !q.Types.Match(event.Type(typ)) {
					return nil
				}
				ev, err := s.dec.Decode(data, uint64(seq), 0)
				if err != nil {
					bad = bytes.Clone(data)
					return err
				}
				buf = append(buf, ev)
				return nil
			})
			if bad != nil {
				err = s.damaged(ctx, q.Session, last, bad)
			}
			return buf, rows, last, err
		},
	})
}

// damaged returns the error for the event of session sess with sequence
// number seq and stored data that does not decode, naming its position.
func (s *Store) damaged(ctx context.Context, sess string, seq uint64, data []byte) error {
	var pos int64
	query := unionRecent(func(table string) string {
		return "SELECT e.pos FROM " + table + " e WHERE e.sid = (SELECT sid FROM sessions WHERE name = ?1) AND e.seq = ?2"
	}) + " LIMIT 1"
	_, err := s.query(ctx, query, []any{sess, int64(seq)}, func(rows *sql.Rows) error { return rows.Scan(&pos) })
	if err != nil {
		return err
	}
	_, err = s.dec.Decode(data, seq, uint64(pos))
	return fmt.Errorf("sqlite: read: session %q: %w", sess, err)
}

// query runs a read query and calls fn for each row; it reports how many
// rows there were.
func (s *Store) query(ctx context.Context, query string, args []any, fn func(*sql.Rows) error) (int, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return 0, err
	}
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return 0, s.wrap(fmt.Errorf("sqlite: read: %w", err))
	}
	defer rows.Close()
	n, err := page.Each(rows, fn)
	if err != nil {
		return n, s.wrap(fmt.Errorf("sqlite: read: %w", err))
	}
	return n, nil
}

// ReadAll implements store.Store.
func (s *Store) ReadAll(ctx context.Context, q store.AllQuery) iter.Seq2[store.Entry, error] {
	if err := q.Check(); err != nil {
		return store.Fail[store.Entry](err)
	}
	var where strings.Builder
	var fixed []any
	join := ""
	if q.SessionPrefix != "" {
		// CROSS JOIN keeps the events as the outer loop, in position order.
		join = " CROSS JOIN sessions s ON s.sid = e.sid"
		where.WriteString(" AND s.name GLOB ?")
		fixed = append(fixed, globPrefix(q.SessionPrefix))
	}
	inGo := typeFilter(q.Types, "e.type", &where, &fixed)
	// The three tables, merged in position order (each through its
	// position key).
	query := unionRecent(func(table string) string {
		return "SELECT e.pos AS pos, e.seq, e.type, e.data FROM " + table + " e" + join + " WHERE e.pos > ?" + where.String()
	}) + " ORDER BY pos LIMIT ?"
	return page.Iter(ctx, page.Pager[store.Entry]{
		After: q.After, Limit: q.Limit, Size: rowsPerPage, Filtered: inGo, Check: s.check,
		Fetch: func(ctx context.Context, after uint64, size int, buf []store.Entry) ([]store.Entry, int, uint64, error) {
			args := make([]any, 0, 3*len(fixed)+4)
			for range 1 + len(recentQ) {
				args = append(args, int64(after))
				args = append(args, fixed...)
			}
			args = append(args, size)
			var last uint64
			rows, err := s.query(ctx, query, args, func(rows *sql.Rows) error {
				var pos, seq int64
				var typ, data sql.RawBytes
				if err := rows.Scan(&pos, &seq, &typ, &data); err != nil {
					return err
				}
				last = uint64(pos)
				if inGo && !q.Types.Match(event.Type(typ)) {
					return nil
				}
				ev, err := s.dec.Decode(data, uint64(seq), uint64(pos))
				if err != nil {
					return err
				}
				buf = append(buf, store.Entry{Pos: uint64(pos), Event: ev})
				return nil
			})
			return buf, rows, last, err
		},
	})
}

const sessionCols = "SELECT name, count, last_seq, first_time, last_time, last_pos FROM sessions"

// Sessions implements store.Store.
func (s *Store) Sessions(ctx context.Context, q store.SessionQuery) ([]store.SessionInfo, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	// ByID walks the index on name (UNIQUE), ByActivity the one on
	// activity, newest first, sorting each group by last_pos (see
	// activityShift); either stops after Limit rows that match the prefix.
	query, args := sessionCols+" WHERE name > ?", []any{q.After}
	if q.Order == store.ByActivity {
		before := int64(math.MaxInt64)
		if q.Before > 0 {
			before = int64(q.Before)
		}
		query, args = sessionCols+" WHERE activity <= ? AND last_pos < ?", []any{(before - 1) >> activityShift, before}
	}
	if q.Prefix != "" {
		query += " AND name GLOB ?"
		args = append(args, globPrefix(q.Prefix))
	}
	if q.Order == store.ByActivity {
		query += " ORDER BY activity DESC, last_pos DESC LIMIT ?"
	} else {
		query += " ORDER BY name LIMIT ?"
	}
	limit := q.Limit
	if limit == 0 {
		limit = -1
	}
	args = append(args, limit)
	var out []store.SessionInfo
	_, err := s.query(ctx, query, args, func(rows *sql.Rows) error {
		si, err := page.ScanSession(rows.Scan)
		out = append(out, si)
		return err
	})
	return out, err
}

// Head implements store.Store.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.closed.Load() {
		return 0, store.ErrClosed
	}
	var head int64
	_, err := s.query(ctx, "SELECT value FROM meta WHERE key = 'last_pos'", nil, func(rows *sql.Rows) error {
		return rows.Scan(&head)
	})
	return uint64(head), err
}

// Session implements store.Store.
func (s *Store) Session(ctx context.Context, id string) (store.SessionInfo, error) {
	if err := store.CheckSessionID(id); err != nil {
		return store.SessionInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return store.SessionInfo{}, err
	}
	if s.closed.Load() {
		return store.SessionInfo{}, store.ErrClosed
	}
	var si store.SessionInfo
	n, err := s.query(ctx, sessionCols+" WHERE name = ?", []any{id}, func(rows *sql.Rows) (err error) {
		si, err = page.ScanSession(rows.Scan)
		return err
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("session %q: %w", id, store.ErrNotFound)
	}
	return si, err
}
