package postgres

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
)

// pageSize is how many rows an iterator fetches per query.
const pageSize = 1000

// filter builds the WHERE additions of a query; args continue after the
// ones the base query takes.
type filter struct {
	where strings.Builder
	args  []any
	next  int
}

func (f *filter) add(cond string, arg any) {
	f.where.WriteString(" AND " + strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(f.next)))
	f.next++
	f.args = append(f.args, arg)
}

// types adds the SQL part of a type pattern: equality for an exact one, a
// prefix match on its literal start for a wildcard one (matched fully in
// Go).
func (f *filter) types(p event.Pattern, col string) {
	if p.IsZero() {
		return
	}
	text := p.String()
	if p.Exact() {
		f.add(col+" = ?", text)
		return
	}
	if lit := text[:strings.IndexAny(text, "*>")]; lit != "" {
		f.add("starts_with("+col+", ?)", lit)
	}
}

func decode(data []byte, seq, pos int64) (event.Event, error) {
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
	f := filter{next: 3}
	f.types(q.Types, "type")
	if !q.Since.IsZero() {
		f.add("time >= ?", q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		f.add("time < ?", q.Until.UnixNano())
	}
	query := s.q.read + f.where.String() + " ORDER BY seq LIMIT $" + strconv.Itoa(f.next)
	goFilter := !q.Types.IsZero() && !q.Types.Exact()
	return func(yield func(event.Event, error) bool) {
		after, n := q.After, 0
		page := make([]event.Event, 0, 64)
		for {
			if err := s.check(ctx); err != nil {
				yield(event.Event{}, err)
				return
			}
			size := pageSize
			if q.Limit > 0 && !goFilter {
				size = min(size, q.Limit-n)
			}
			args := append([]any{q.Session, int64(after)}, f.args...)
			args = append(args, size)
			page = page[:0]
			scanned, err := s.query(ctx, query, args, func(rows pgx.Rows) error {
				var seq int64
				var typ string
				var data []byte
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

func (s *Store) check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return store.ErrClosed
	}
	return nil
}

// query runs a read query and calls fn for each row; it reports how many
// rows there were.
func (s *Store) query(ctx context.Context, query string, args []any, fn func(pgx.Rows) error) (int, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return 0, s.wrap(fmt.Errorf("postgres: read: %w", err))
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		if err := fn(rows); err != nil {
			return n, s.wrap(fmt.Errorf("postgres: read: %w", err))
		}
	}
	if err := rows.Err(); err != nil {
		return n, s.wrap(fmt.Errorf("postgres: read: %w", err))
	}
	return n, nil
}

// ReadAll implements store.Store.
func (s *Store) ReadAll(ctx context.Context, q store.AllQuery) iter.Seq2[store.Entry, error] {
	if err := q.Check(); err != nil {
		return store.Fail[store.Entry](err)
	}
	f := filter{next: 2}
	if q.SessionPrefix != "" {
		f.add("starts_with(session, ?)", q.SessionPrefix)
	}
	f.types(q.Types, "type")
	query := s.q.readAll + f.where.String() + " ORDER BY pos LIMIT $" + strconv.Itoa(f.next)
	goFilter := !q.Types.IsZero() && !q.Types.Exact()
	return func(yield func(store.Entry, error) bool) {
		after, n := q.After, 0
		page := make([]store.Entry, 0, 64)
		for {
			if err := s.check(ctx); err != nil {
				yield(store.Entry{}, err)
				return
			}
			size := pageSize
			if q.Limit > 0 && !goFilter {
				size = min(size, q.Limit-n)
			}
			args := append([]any{int64(after)}, f.args...)
			args = append(args, size)
			page = page[:0]
			scanned, err := s.query(ctx, query, args, func(rows pgx.Rows) error {
				var pos, seq int64
				var typ string
				var data []byte
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

func scanSession(rows pgx.Rows) (store.SessionInfo, error) {
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
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	f := filter{next: 1}
	f.add(`session COLLATE "C" > ?`, q.After)
	if q.Prefix != "" {
		f.add("starts_with(session, ?)", q.Prefix)
	}
	query := s.q.sessionList + " WHERE true" + f.where.String() + " ORDER BY session COLLATE \"C\""
	if q.Limit > 0 {
		query += " LIMIT " + strconv.Itoa(q.Limit)
	}
	var out []store.SessionInfo
	_, err := s.query(ctx, query, f.args, func(rows pgx.Rows) error {
		si, err := scanSession(rows)
		out = append(out, si)
		return err
	})
	return out, err
}

// Session implements store.Store.
func (s *Store) Session(ctx context.Context, id string) (store.SessionInfo, error) {
	if err := s.check(ctx); err != nil {
		return store.SessionInfo{}, err
	}
	var si store.SessionInfo
	n, err := s.query(ctx, s.q.sessionOne, []any{id}, func(rows pgx.Rows) (err error) {
		si, err = scanSession(rows)
		return err
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("session %q: %w", id, store.ErrNotFound)
	}
	return si, err
}
