package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store/internal/group"
)

// rowsPerInsert is the number of rows of the largest multi-row INSERT, and
// of the largest multi-row session update and ID lookup.
const rowsPerInsert = 128

const insertCols = 7

// maxCachedSessions bounds the writer's session cache: when it holds more,
// it starts again empty.
const maxCachedSessions = 1 << 16

// writeState is owned by the writer goroutine.
//
// The writer is the only one that changes the sessions table and the last
// position, so it keeps what it read of them between transactions: a
// session's row ID, last sequence number and activity group, and the last
// position. A
// transaction then touches only the rows it must write. The cache is
// forgotten when a transaction fails (its changes were rolled back) and
// when a job (a retention pass, anything else run on the writer) ran since
// the last commit.
type writeState struct {
	inserts [3]map[int]*sql.Stmt // multi-row INSERT into each recent table (0, 1) and events (2) by row count
	updates [2]map[int]*sql.Stmt // multi-row session update by row count: keeping (0), changing (1) activity
	lookups map[int]*sql.Stmt    // ID lookup by row count
	stmts   map[string]*sql.Stmt
	args    []any // scratch, for the recent table appended to
	dargs   []any // scratch, for events

	sess    map[string]*sessState // committed state, kept across commits
	jobs    uint64                // the writer's job count the cache belongs to
	lastPos int64                 // the last committed position, if posKnown
	maxID   uuid.UUID             // the greatest stored ID (bytewise) or more, if posKnown
	// the recent tables, if posKnown (see loadRecent)
	recent   int64 // rows in the one appended to
	active   int   // the one appended to (an index of recentQ)
	merging  bool  // the other is being moved into events
	mergedTo int64 // … up to this session id (excluded)
	posKnown bool
	relaxed  bool // a merge set synchronous to NORMAL (see strict)

	touched []*sessState     // sessions of this transaction, in first-use order
	seen    map[idKey]uint64 // this transaction's IDs (stored or new) → seq
	look    []idKey          // IDs to look up in sessions that hold events
}

// idKey is an event ID in a session (by row ID).
type idKey struct {
	sid int64
	id  uuid.UUID
}

type sessState struct {
	name     string
	sid      int64
	lastSeq  uint64 // committed
	activity int64  // committed

	// this transaction
	seq         uint64 // last assigned
	pos         int64  // position of the last assigned
	events      int    // events of the session, duplicates included
	added       int64
	first, last int64
	touched     bool
}

const (
	qLastPos    = "SELECT value FROM meta WHERE key = 'last_pos'"
	qSetLastPos = "UPDATE meta SET value = ? WHERE key = 'last_pos'"
	qSession    = "SELECT sid, last_seq, activity FROM sessions WHERE name = ?"
	qMaxID      = "SELECT max((SELECT coalesce(max(id), x'') FROM events), (SELECT coalesce(max(id), x'') FROM recent0), (SELECT coalesce(max(id), x'') FROM recent1))"
	qNewSession = "INSERT INTO sessions(name, last_seq, count, first_time, last_time) VALUES (?, 0, 0, 0, 0) RETURNING sid"
)

func (s *Store) prepareWriter(ctx context.Context) error {
	s.w.inserts = [3]map[int]*sql.Stmt{make(map[int]*sql.Stmt), make(map[int]*sql.Stmt), make(map[int]*sql.Stmt)}
	s.w.dargs = make([]any, 0, rowsPerInsert*insertCols)
	s.w.updates = [2]map[int]*sql.Stmt{make(map[int]*sql.Stmt), make(map[int]*sql.Stmt)}
	s.w.lookups = make(map[int]*sql.Stmt)
	s.w.stmts = make(map[string]*sql.Stmt)
	s.w.sess = make(map[string]*sessState)
	s.w.seen = make(map[idKey]uint64)
	s.w.args = make([]any, 0, rowsPerInsert*insertCols)
	queries := []string{qLastPos, qSetLastPos, qSession, qNewSession, qMaxID}
	for _, q := range recentQ {
		queries = append(queries, q.count, q.slice, q.copy, q.copyRest, q.setMerged, q.clear)
	}
	for _, q := range queries {
		st, err := s.wconn.PrepareContext(ctx, q)
		if err != nil {
			return s.wrap(fmt.Errorf("sqlite: prepare: %w", err))
		}
		s.w.stmts[q] = st
	}
	return nil
}

// rowsStmt returns the statement head + rows × row (comma-separated) +
// tail, prepared once per row count and kept in cache.
func (s *Store) rowsStmt(cache map[int]*sql.Stmt, rows int, head, row, tail string) (*sql.Stmt, error) {
	if st := cache[rows]; st != nil {
		return st, nil
	}
	var b strings.Builder
	b.WriteString(head)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	b.WriteString(tail)
	st, err := s.wconn.PrepareContext(context.Background(), b.String())
	if err != nil {
		return nil, err
	}
	cache[rows] = st
	return st, nil
}

// insertStmt inserts rows events into events, if direct, or else into the
// recent table appended to.
func (s *Store) insertStmt(direct bool, rows int) (*sql.Stmt, error) {
	k, table := s.w.active, recentQ[s.w.active].table
	if direct {
		k, table = 2, "events"
	}
	return s.rowsStmt(s.w.inserts[k], rows, "INSERT OR FAIL INTO "+table+"(pos, sid, seq, type, time, id, data) VALUES ", "(?,?,?,?,?,?,?)", "")
}

// directEvents is how many events of one session a commit must hold for
// them to go into events directly rather than through a recent table:
// then they fill a page of their own there, and moving them later would
// cost more than the page written now.
const directEvents = 4

// insertBatch collects the rows of one multi-row INSERT.
type insertBatch struct {
	direct bool // into events, or else into the recent table appended to
	args   []any
	rows   int
}

// updateStmt updates the sessions rows of rows sessions in one statement:
// (sid, name, last_seq, added, first_time, last_time, last_pos, activity)
// per row. The rows exist (session made them), so each insert turns into
// the update; only a statement for sessions whose activity changes sets
// that column, since setting it at all rewrites its index entry.
func (s *Store) updateStmt(rows int, moved bool) (*sql.Stmt, error) {
	k, set := 0, ""
	if moved {
		k, set = 1, ", activity = excluded.activity"
	}
	return s.rowsStmt(s.w.updates[k], rows, "INSERT INTO sessions(sid, name, last_seq, count, first_time, last_time, last_pos, activity) VALUES ", "(?,?,?,?,?,?,?,?)",
		` ON CONFLICT(sid) DO UPDATE SET last_seq = excluded.last_seq, count = count + excluded.count,
		first_time = CASE WHEN count = 0 THEN excluded.first_time ELSE first_time END,
		last_time = excluded.last_time, last_pos = excluded.last_pos`+set)
}

// lookupStmt finds which of rows (sid, id) pairs are stored, and with
// which sequence number, through the ID indexes of events and the recent
// tables. (An event being merged may be found twice, with the same
// sequence number.)
func (s *Store) lookupStmt(rows int) (*sql.Stmt, error) {
	return s.rowsStmt(s.w.lookups, rows, "WITH v(sid, id) AS (VALUES ", "(?,?)",
		`) SELECT e.sid, e.id, e.seq FROM v CROSS JOIN events AS e ON e.id = v.id AND e.sid = v.sid
		UNION ALL SELECT r.sid, r.id, r.seq FROM v CROSS JOIN recent0 AS r ON r.id = v.id AND r.sid = v.sid
		UNION ALL SELECT r.sid, r.id, r.seq FROM v CROSS JOIN recent1 AS r ON r.id = v.id AND r.sid = v.sid`)
}

// Append implements store.Store. When it returns nil the events are
// committed with the store's synchronous level (Full by default: on disk).
// An event whose ID is already stored in its session is not stored again:
// it gets the sequence number it has (see store.Store).
func (s *Store) Append(ctx context.Context, events []event.Event) error {
	_, err := s.writer.Append(ctx, events, &s.closed)
	return err
}

// AppendDups implements store.DupReporter.
func (s *Store) AppendDups(ctx context.Context, events []event.Event) ([]int, error) {
	return s.writer.Append(ctx, events, &s.closed)
}

// commit runs on the writer goroutine: one transaction for all reqs.
func (s *Store) commit(reqs []*group.Request) (err error) {
	ctx := context.Background()
	c := s.wconn
	if jobs := s.writer.Jobs(); jobs != s.w.jobs || len(s.w.sess) > maxCachedSessions {
		s.forget()
		s.w.jobs = jobs
	}
	if err := s.strict(ctx); err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		s.forget()
		return s.wrap(fmt.Errorf("sqlite: begin: %w", err))
	}
	defer func() {
		for _, ss := range s.w.touched {
			if err == nil && ss.added > 0 {
				ss.lastSeq, ss.activity = ss.seq, ss.pos>>activityShift
			}
			ss.added, ss.events, ss.touched = 0, 0, false
		}
		s.w.touched = s.w.touched[:0]
		clear(s.w.seen)
		s.w.look = s.w.look[:0]
		if err != nil {
			_, _ = c.ExecContext(ctx, "ROLLBACK")
			s.forget()
			err = s.wrap(err)
		}
	}()
	if !s.w.posKnown {
		if err := s.w.stmts[qLastPos].QueryRowContext(ctx).Scan(&s.w.lastPos); err != nil {
			return fmt.Errorf("sqlite: read last position: %w", err)
		}
		var maxID []byte
		if err := s.w.stmts[qMaxID].QueryRowContext(ctx).Scan(&maxID); err != nil {
			return fmt.Errorf("sqlite: read the greatest ID: %w", err)
		}
		s.w.maxID = uuid.UUID{}
		copy(s.w.maxID[:], maxID)
		if err := s.loadRecent(ctx); err != nil {
			return err
		}
		s.w.posKnown = true
	}
	lastPos, newMax := s.w.lastPos, s.w.maxID
	for _, r := range reqs {
		for i := range r.Events {
			ev := &r.Events[i]
			ss, err := s.session(ctx, ev.Meta.SessionID)
			if err != nil {
				return err
			}
			ss.events++
			// IDs are UUIDv7, which producers make in increasing
			// order: an ID greater than every stored one cannot be
			// stored, and needs no lookup.
			if ss.lastSeq > 0 && bytes.Compare(ev.ID[:], s.w.maxID[:]) <= 0 {
				s.w.look = append(s.w.look, idKey{ss.sid, ev.ID})
			}
		}
	}
	if err := s.lookup(ctx); err != nil {
		return err
	}
	recent, direct := &insertBatch{args: s.w.args[:0]}, &insertBatch{direct: true, args: s.w.dargs[:0]}
	defer func() { s.w.dargs = direct.args[:0] }()
	var toRecent int64
	flush := func(b *insertBatch) error {
		if b.rows == 0 {
			return nil
		}
		st, err := s.insertStmt(b.direct, b.rows)
		if err != nil {
			return fmt.Errorf("sqlite: prepare insert: %w", err)
		}
		if _, err := st.ExecContext(ctx, b.args...); err != nil {
			return fmt.Errorf("sqlite: insert events: %w", err)
		}
		if !b.direct {
			toRecent += int64(b.rows)
		}
		clear(b.args)
		b.args, b.rows = b.args[:0], 0
		return nil
	}
	for _, r := range reqs {
		for i := range r.Events {
			ev := &r.Events[i]
			ss := s.w.sess[ev.Meta.SessionID]
			k := idKey{ss.sid, ev.ID}
			if seq, ok := s.w.seen[k]; ok {
				r.Duplicate(i, seq) // stored before, or earlier in this transaction
				continue
			}
			ss.seq++
			ss.added++
			t := ev.Time.UnixNano()
			if ss.added == 1 {
				ss.first = t
			}
			ss.last = t
			lastPos++
			ss.pos = lastPos
			r.Seqs[i] = ss.seq
			s.w.seen[k] = ss.seq
			if bytes.Compare(ev.ID[:], newMax[:]) > 0 {
				newMax = ev.ID
			}
			b := recent
			if ss.events >= directEvents {
				b = direct
			}
			b.args = append(b.args, lastPos, ss.sid, int64(ss.seq), string(ev.Type), t, ev.ID[:], r.Data[i])
			if b.rows++; b.rows == rowsPerInsert {
				if err := flush(b); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(recent); err != nil {
		return err
	}
	if err := flush(direct); err != nil {
		return err
	}
	if err := s.updateSessions(ctx, recent.args); err != nil {
		return err
	}
	if lastPos != s.w.lastPos {
		if _, err := s.w.stmts[qSetLastPos].ExecContext(ctx, lastPos); err != nil {
			return fmt.Errorf("sqlite: update last position: %w", err)
		}
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	s.w.recent += toRecent
	s.w.lastPos, s.w.maxID = lastPos, newMax
	s.nudge()
	return nil
}

// forget drops what the writer remembers of the database.
func (s *Store) forget() {
	s.w.sess = make(map[string]*sessState)
	s.w.posKnown = false
}

// lookup finds which IDs of s.w.look are stored, and records their
// sequence numbers in s.w.seen.
func (s *Store) lookup(ctx context.Context) error {
	args := s.w.args[:0]
	defer func() { clear(args); s.w.args = args[:0] }()
	for look := s.w.look; len(look) > 0; {
		n := min(len(look), rowsPerInsert)
		args = args[:0]
		for _, k := range look[:n] {
			args = append(args, k.sid, k.id[:])
		}
		look = look[n:]
		st, err := s.lookupStmt(n)
		if err != nil {
			return fmt.Errorf("sqlite: prepare lookup: %w", err)
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("sqlite: look up event IDs: %w", err)
		}
		for rows.Next() {
			var k idKey
			var id []byte
			var seq int64
			if err := rows.Scan(&k.sid, &id, &seq); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: look up event IDs: %w", err)
			}
			copy(k.id[:], id)
			s.w.seen[k] = uint64(seq)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("sqlite: look up event IDs: %w", err)
		}
	}
	return nil
}

// updateSessions writes the new state of the sessions that got events, in
// multi-row statements: first those whose activity stays, then those whose
// activity changes. args is a scratch slice.
func (s *Store) updateSessions(ctx context.Context, args []any) error {
	defer func() { clear(args); s.w.args = args[:0] }()
	for _, moved := range [...]bool{false, true} {
		touched := s.w.touched
		for len(touched) > 0 {
			clear(args)
			args = args[:0]
			rows := 0
			for len(touched) > 0 && rows < rowsPerInsert {
				ss := touched[0]
				touched = touched[1:]
				act := ss.pos >> activityShift
				if ss.added == 0 || (act != ss.activity) != moved {
					continue // only duplicates, or for the other statement
				}
				args = append(args, ss.sid, ss.name, int64(ss.seq), ss.added, ss.first, ss.last, ss.pos, act)
				rows++
			}
			if rows == 0 {
				break
			}
			st, err := s.updateStmt(rows, moved)
			if err != nil {
				return fmt.Errorf("sqlite: prepare session update: %w", err)
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("sqlite: update sessions: %w", err)
			}
		}
	}
	return nil
}

// session returns the named session's state, reading or creating its row
// unless the writer remembers it, and marks it touched by this
// transaction.
func (s *Store) session(ctx context.Context, name string) (*sessState, error) {
	ss := s.w.sess[name]
	if ss == nil {
		ss = &sessState{name: name}
		var lastSeq int64
		err := s.w.stmts[qSession].QueryRowContext(ctx, name).Scan(&ss.sid, &lastSeq, &ss.activity)
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
	}
	if !ss.touched {
		ss.touched, ss.seq, ss.added = true, ss.lastSeq, 0
		s.w.touched = append(s.w.touched, ss)
	}
	return ss, nil
}
