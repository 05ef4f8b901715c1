package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store/internal/group"
)

// rowsPerInsert is the number of rows of the largest multi-row INSERT.
const rowsPerInsert = 128

const insertCols = 7

// writeState is owned by the writer goroutine.
type writeState struct {
	inserts map[int]*sql.Stmt // multi-row INSERT by row count
	stmts   map[string]*sql.Stmt
	args    []any
	sess    map[string]*sessState
	order   []*sessState
}

type sessState struct {
	name        string
	sid         int64
	lastSeq     uint64
	count       int64 // stored before this transaction
	added       int64
	first, last int64
}

const (
	qLastPos    = "SELECT value FROM meta WHERE key = 'last_pos'"
	qSetLastPos = "UPDATE meta SET value = ? WHERE key = 'last_pos'"
	qSession    = "SELECT sid, last_seq, count FROM sessions WHERE name = ?"
	qNewSession = "INSERT INTO sessions(name, last_seq, count, first_time, last_time) VALUES (?, 0, 0, 0, 0) RETURNING sid"
	qUpdSession = "UPDATE sessions SET last_seq = ?, count = count + ?, first_time = CASE WHEN count = 0 THEN ? ELSE first_time END, last_time = ? WHERE sid = ?"
)

func (s *Store) prepareWriter(ctx context.Context) error {
	s.w.inserts = make(map[int]*sql.Stmt)
	s.w.stmts = make(map[string]*sql.Stmt)
	s.w.sess = make(map[string]*sessState)
	s.w.args = make([]any, 0, rowsPerInsert*insertCols)
	for _, q := range []string{qLastPos, qSetLastPos, qSession, qNewSession, qUpdSession} {
		st, err := s.wconn.PrepareContext(ctx, q)
		if err != nil {
			return s.wrap(fmt.Errorf("sqlite: prepare: %w", err))
		}
		s.w.stmts[q] = st
	}
	return nil
}

func (s *Store) insertStmt(rows int) (*sql.Stmt, error) {
	if st := s.w.inserts[rows]; st != nil {
		return st, nil
	}
	var b strings.Builder
	b.WriteString("INSERT INTO events(pos, sid, seq, type, time, id, data) VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?)")
	}
	st, err := s.wconn.PrepareContext(context.Background(), b.String())
	if err != nil {
		return nil, err
	}
	s.w.inserts[rows] = st
	return st, nil
}

// Append implements store.Store. When it returns nil the events are
// committed with the store's synchronous level (Full by default: on disk).
func (s *Store) Append(ctx context.Context, events []event.Event) error {
	return s.writer.Append(ctx, events, &s.closed)
}

// commit runs on the writer goroutine: one transaction for all reqs.
func (s *Store) commit(reqs []*group.Request) (err error) {
	ctx := context.Background()
	c := s.wconn
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return s.wrap(fmt.Errorf("sqlite: begin: %w", err))
	}
	defer func() {
		if err != nil {
			_, _ = c.ExecContext(ctx, "ROLLBACK")
			err = s.wrap(err)
		}
	}()
	var lastPos uint64
	if err := s.w.stmts[qLastPos].QueryRowContext(ctx).Scan(&lastPos); err != nil {
		return fmt.Errorf("sqlite: read last position: %w", err)
	}
	clear(s.w.sess)
	s.w.order = s.w.order[:0]
	args := s.w.args[:0]
	rows := 0
	flush := func() error {
		if rows == 0 {
			return nil
		}
		st, err := s.insertStmt(rows)
		if err != nil {
			return fmt.Errorf("sqlite: prepare insert: %w", err)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("sqlite: insert events: %w", err)
		}
		clear(args)
		args, rows = args[:0], 0
		return nil
	}
	for _, r := range reqs {
		for i := range r.Events {
			ev := &r.Events[i]
			ss, err := s.session(ctx, ev.Meta.SessionID)
			if err != nil {
				return err
			}
			ss.lastSeq++
			ss.added++
			t := ev.Time.UnixNano()
			if ss.count == 0 && ss.added == 1 {
				ss.first = t
			}
			ss.last = t
			lastPos++
			r.Seqs[i] = ss.lastSeq
			args = append(args, int64(lastPos), ss.sid, int64(ss.lastSeq), string(ev.Type), t, ev.ID[:], r.Data[i])
			if rows++; rows == rowsPerInsert {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	s.w.args = args
	upd := s.w.stmts[qUpdSession]
	for _, ss := range s.w.order {
		if _, err := upd.ExecContext(ctx, int64(ss.lastSeq), ss.added, ss.first, ss.last, ss.sid); err != nil {
			return fmt.Errorf("sqlite: update session %q: %w", ss.name, err)
		}
	}
	if _, err := s.w.stmts[qSetLastPos].ExecContext(ctx, int64(lastPos)); err != nil {
		return fmt.Errorf("sqlite: update last position: %w", err)
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	s.nudge()
	return nil
}

// session returns the transaction's state of the named session, reading or
// creating its row on first use.
func (s *Store) session(ctx context.Context, name string) (*sessState, error) {
	if ss := s.w.sess[name]; ss != nil {
		return ss, nil
	}
	ss := &sessState{name: name}
	var lastSeq int64
	err := s.w.stmts[qSession].QueryRowContext(ctx, name).Scan(&ss.sid, &lastSeq, &ss.count)
	switch {
	case err == sql.ErrNoRows:
		if err := s.w.stmts[qNewSession].QueryRowContext(ctx, name).Scan(&ss.sid); err != nil {
			return nil, fmt.Errorf("sqlite: create session %q: %w", name, err)
		}
	case err != nil:
		return nil, fmt.Errorf("sqlite: read session %q: %w", name, err)
	}
	ss.lastSeq = uint64(lastSeq)
	s.w.sess[name] = ss
	s.w.order = append(s.w.order, ss)
	return ss, nil
}
