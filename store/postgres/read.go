package postgres

import (
	"context"
	"fmt"
	"iter"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/page"
)

// rowsPerPage is how many rows an iterator fetches per query.
const rowsPerPage = 1000

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
// Go, which inGo reports).
func (f *filter) types(p event.Pattern, col string) (inGo bool) {
	exact, prefix, inGo := page.TypeFilter(p)
	switch {
	case exact != "":
		f.add(col+" = ?", exact)
	case prefix != "":
		f.add("starts_with("+col+", ?)", prefix)
	}
	return inGo
}

// Read implements store.Store.
func (s *Store) Read(ctx context.Context, q store.Query) iter.Seq2[event.Event, error] {
	if err := q.Check(); err != nil {
		return store.Fail[event.Event](err)
	}
	f := filter{next: 3}
	inGo := f.types(q.Types, "type")
	if !q.Since.IsZero() {
		f.add("time >= ?", q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		f.add("time < ?", q.Until.UnixNano())
	}
	query := s.q.read + f.where.String() + " ORDER BY seq LIMIT $" + strconv.Itoa(f.next)
	return page.Iter(ctx, page.Pager[event.Event]{
		After: q.After, Limit: q.Limit, Size: rowsPerPage, Filtered: inGo, Check: s.check,
		Fetch: func(ctx context.Context, after uint64, size int, buf []event.Event) ([]event.Event, int, uint64, error) {
			args := append([]any{q.Session, int64(after)}, f.args...)
			args = append(args, size)
			var last uint64
			n, err := s.query(ctx, query, args, func(rows pgx.Rows) error {
				var seq, pos int64
				var typ string
				var data []byte
				if err := rows.Scan(&seq, &pos, &typ, &data); err != nil {
					return err
				}
				last = uint64(seq)
				if inGo && !q.Types.Match(event.Type(typ)) {
					return nil
				}
				ev, err := s.dec.Decode(data, uint64(seq), uint64(pos))
				if err != nil {
					return fmt.Errorf("session %q: %w", q.Session, err)
				}
				buf = append(buf, ev)
				return nil
			})
			return buf, n, last, err
		},
	})
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
	n, err := page.Each(rows, fn)
	if err != nil {
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
	inGo := f.types(q.Types, "type")
	query := s.q.readAll + f.where.String() + " ORDER BY pos LIMIT $" + strconv.Itoa(f.next)
	return page.Iter(ctx, page.Pager[store.Entry]{
		After: q.After, Limit: q.Limit, Size: rowsPerPage, Filtered: inGo, Check: s.check,
		Fetch: func(ctx context.Context, after uint64, size int, buf []store.Entry) ([]store.Entry, int, uint64, error) {
			args := append([]any{int64(after)}, f.args...)
			args = append(args, size)
			var last uint64
			n, err := s.query(ctx, query, args, func(rows pgx.Rows) error {
				var pos, seq int64
				var typ string
				var data []byte
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
			return buf, n, last, err
		},
	})
}

// Sessions implements store.Store.
func (s *Store) Sessions(ctx context.Context, q store.SessionQuery) ([]store.SessionInfo, error) {
	if err := q.Check(); err != nil {
		return nil, err
	}
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	// ByID walks the index on session in byte order, ByActivity the one
	// on activity (last_pos, coarsely), newest first, sorting each group
	// by last_pos.
	f := filter{next: 1}
	base, order := s.q.sessionList+" WHERE true", ` ORDER BY session COLLATE "C"`
	if q.Order == store.ByActivity {
		before := int64(math.MaxInt64)
		if q.Before > 0 {
			before = int64(q.Before)
		}
		f.args, f.next = append(f.args, before), 2
		base, order = s.q.sessionsByActivity, " ORDER BY activity DESC, last_pos DESC"
	} else {
		f.add(`session COLLATE "C" > ?`, q.After)
	}
	if q.Prefix != "" {
		f.add("starts_with(session, ?)", q.Prefix)
	}
	query := base + f.where.String() + order
	if q.Limit > 0 {
		query += " LIMIT " + strconv.Itoa(q.Limit)
	}
	var out []store.SessionInfo
	_, err := s.query(ctx, query, f.args, func(rows pgx.Rows) error {
		si, err := page.ScanSession(rows.Scan)
		out = append(out, si)
		return err
	})
	return out, err
}

// Head implements store.Store.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	var head int64
	_, err := s.query(ctx, s.q.lastPos, nil, func(rows pgx.Rows) error {
		return rows.Scan(&head)
	})
	return uint64(head), err
}

// Session implements store.Store.
func (s *Store) Session(ctx context.Context, id string) (store.SessionInfo, error) {
	if err := store.CheckSessionID(id); err != nil {
		return store.SessionInfo{}, err
	}
	if err := s.check(ctx); err != nil {
		return store.SessionInfo{}, err
	}
	var si store.SessionInfo
	n, err := s.query(ctx, s.q.sessionOne, []any{id}, func(rows pgx.Rows) (err error) {
		si, err = page.ScanSession(rows.Scan)
		return err
	})
	if err == nil && n == 0 {
		err = fmt.Errorf("session %q: %w", id, store.ErrNotFound)
	}
	return si, err
}
