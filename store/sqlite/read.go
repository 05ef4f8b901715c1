package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// pageSize is how many rows an iterator fetches per query.
const pageSize = 512

// typeFilter adds the SQL part of a type pattern: equality for an exact
// pattern, a GLOB on the literal prefix for a wildcard one (the pattern
// itself is then matched in Go).
func typeFilter(p event.Pattern, col string, where *strings.Builder, args *[]any) {
	if p.IsZero() {
		return
	}
	text := p.String()
	if p.Exact() {
		where.WriteString(" AND " + col + " = ?")
		*args = append(*args, text)
		return
	}
	lit := text[:strings.IndexAny(text, "*>")]
	if lit != "" {
		where.WriteString(" AND " + col + " GLOB ?")
		*args = append(*args, globPrefix(lit))
	}
}

func decode(data []byte, seq int64, pos int64) (event.Event, error) {
	var ev event.Event
	if err := event.Unmarshal(data, &ev); err != nil {
		return ev, fmt.Errorf("%w: event at position %d: %w", store.ErrCorrupt, pos, err)
	}
	ev.Seq = uint64(seq)
	return ev, nil
}

// Read implements store.Store.
func (s *Store) Read(ctx context.Context, q store.Query) iter.Seq2[event.Event, error] {
	if err := q.Check(); err != nil {
		return store.Fail[event.Event](err)
	}
	var where strings.Builder
	var fixed []any
	typeFilter(q.Types, "type", &where, &fixed)
	if !q.Since.IsZero() {
		where.WriteString(" AND time >= ?")
		fixed = append(fixed, q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		where.WriteString(" AND time < ?")
		fixed = append(fixed, q.Until.UnixNano())
	}
	query := "SELECT seq, type, data FROM events WHERE sid = (SELECT sid FROM sessions WHERE name = ?) AND seq > ?" +
		where.String() + " ORDER BY seq LIMIT ?"
	goFilter := !q.Types.IsZero() && !q.Types.Exact()
	return func(yield func(event.Event, error) bool) {
		after, n := q.After, 0
		page := make([]event.Event, 0, 64)
		args := make([]any, 0, len(fixed)+3)
		for {
			if err := ctx.Err(); err != nil {
				yield(event.Event{}, err)
				return
			}
			if s.closed.Load() {
				yield(event.Event{}, store.ErrClosed)
				return
			}
			size := pageSize
			if q.Limit > 0 && !goFilter {
				size = min(size, q.Limit-n)
			}
			args = append(args[:0], q.Session, int64(after))
			args = append(args, fixed...)
			args = append(args, size)
			page = page[:0]
			scanned, err := s.query(ctx, query, args, func(rows *sql.Rows) error {
				var seq int64
				var typ, data sql.RawBytes
				if err := rows.Scan(&seq, &typ, &data); err != nil {
					return err
				}
				after = uint64(seq)
				if goFilter && !q.Types.Match(event.Type(typ)) {
					return nil
				}
				ev, err := decode(data, seq, 0)
				if err != nil {
					return err
				}
				page = append(page, ev)
				return nil
			})
			if err != nil {
				yield(event.Event{}, err)
				return
			}
			for _, ev := range page {
				if !yield(ev, nil) {
					return
				}
				if n++; q.Limit > 0 && n >= q.Limit {
					return
				}
			}
			if scanned < size {
				return
			}
		}
	}
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
	n := 0
	for rows.Next() {
		n++
		if err := fn(rows); err != nil {
			return n, s.wrap(fmt.Errorf("sqlite: read: %w", err))
		}
	}
	if err := rows.Err(); err != nil {
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
	from := "events e"
	if q.SessionPrefix != "" {
		// CROSS JOIN keeps events as the outer loop, in position order.
		from = "events e CROSS JOIN sessions s ON s.sid = e.sid"
		where.WriteString(" AND s.name GLOB ?")
		fixed = append(fixed, globPrefix(q.SessionPrefix))
	}
	typeFilter(q.Types, "e.type", &where, &fixed)
	query := "SELECT e.pos, e.seq, e.type, e.data FROM " + from + " WHERE e.pos > ?" + where.String() + " ORDER BY e.pos LIMIT ?"
	goFilter := !q.Types.IsZero() && !q.Types.Exact()
	return func(yield func(store.Entry, error) bool) {
		after, n := q.After, 0
		page := make([]store.Entry, 0, 64)
		args := make([]any, 0, len(fixed)+2)
		for {
			if err := ctx.Err(); err != nil {
				yield(store.Entry{}, err)
				return
			}
			if s.closed.Load() {
				yield(store.Entry{}, store.ErrClosed)
				return
			}
			size := pageSize
			if q.Limit > 0 && !goFilter {
				size = min(size, q.Limit-n)
			}
			args = append(args[:0], int64(after))
			args = append(args, fixed...)
			args = append(args, size)
			page = page[:0]
			scanned, err := s.query(ctx, query, args, func(rows *sql.Rows) error {
				var pos, seq int64
				var typ, data sql.RawBytes
				if err := rows.Scan(&pos, &seq, &typ, &data); err != nil {
					return err
				}
				after = uint64(pos)
				if goFilter && !q.Types.Match(event.Type(typ)) {
					return nil
				}
				ev, err := decode(data, seq, pos)
				if err != nil {
					return err
				}
				page = append(page, store.Entry{Pos: uint64(pos), Event: ev})
				return nil
			})
			if err != nil {
				yield(store.Entry{}, err)
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
				if n++; q.Limit > 0 && n >= q.Limit {
					return
				}
			}
			if scanned < size {
				return
			}
		}
	}
}

const sessionCols = "SELECT name, count, last_seq, first_time, last_time FROM sessions"

func scanSession(rows *sql.Rows) (store.SessionInfo, error) {
	var si store.SessionInfo
	var count, lastSeq, first, last int64
	if err := rows.Scan(&si.ID, &count, &lastSeq, &first, &last); err != nil {
		return si, err
	}
	si.Count, si.LastSeq = uint64(count), uint64(lastSeq)
	if count > 0 {
		si.First = time.Unix(0, first).UTC()
	}
	si.Last = time.Unix(0, last).UTC()
	return si, nil
}

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
	query := sessionCols + " WHERE name > ?"
	args := []any{q.After}
	if q.Prefix != "" {
		query += " AND name GLOB ?"
		args = append(args, globPrefix(q.Prefix))
	}
	query += " ORDER BY name LIMIT ?"
	limit := q.Limit
	if limit == 0 {
		limit = -1
	}
	args = append(args, limit)
	var out []store.SessionInfo
	_, err := s.query(ctx, query, args, func(rows *sql.Rows) error {
		si, err := scanSession(rows)
		out = append(out, si)
		return err
	})
	return out, err
}

// Session implements store.Store.
func (s *Store) Session(ctx context.Context, id string) (store.SessionInfo, error) {
	if err := ctx.Err(); err != nil {
		return store.SessionInfo{}, err
	}
	if s.closed.Load() {
		return store.SessionInfo{}, store.ErrClosed
	}
	var si store.SessionInfo
	n, err := s.query(ctx, sessionCols+" WHERE name = ?", []any{id}, func(rows *sql.Rows) (err error) {
		si, err = scanSession(rows)
		return err
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("session %q: %w", id, store.ErrNotFound)
	}
	return si, err
}
