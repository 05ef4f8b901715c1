// Package sqlite is the embedded store.Store: one SQLite database file in
// WAL mode, through SQLite's C code where cgo is available and its pure-Go
// translation where it is not (see Driver).
//
// # Engines
//
// Built with cgo (the default wherever a C compiler is found), the store
// runs SQLite's own C code through github.com/mattn/go-sqlite3; built with
// CGO_ENABLED=0, the pure-Go translation modernc.org/sqlite. The same
// database files, SQL and tests serve both; the C engine spends about a
// quarter less CPU per event, which made the many-sessions append rate a
// third to a half higher (BENCHMARKS.md).
//
// # Writing
//
// One writer goroutine owns the write connection. Concurrent Append calls
// queue up and the writer commits all that are waiting in one transaction
// (group commit), with multi-row INSERT statements prepared once. Because
// there is one writer, commit order is position order: a ReadAll that
// resumes after position P never misses a later-committed event with a
// smaller position.
//
// A commit appends its events to a small table keyed by position (one of
// two "recent" tables), so that it writes pages in proportion to its
// bytes: a commit of one event from each of 200 sessions writes a few
// dozen pages, where inserting them into the events table, clustered by
// session so that a session reads in order from a few pages, would write
// 200. When the recent table holds 4096 events, the writer appends to the
// other one and moves the full one into events in slices of about 256
// events (whole sessions, in session order), one slice after each group
// of appends has been answered: each session's pages are then rewritten
// once per many events, and an append waits for one slice at most (a
// whole table, at most 4096 events, when the table appended to fills up
// before the other is emptied, and when retention runs). A
// commit's events of a session with 4 or more in it go into events
// directly: they fill a page of their own there anyway.
// Every read (Read, ReadAll, the ID check) looks at the three tables, and
// each read statement sees one committed state, so an event is always seen
// exactly once, whichever table holds it. Retention (Prune) first moves
// whatever the recent tables hold into events; Delete removes a session's
// events from all three.
//
// The writer is the only one that changes the sessions table, so it keeps
// what it read of each session between commits, and updates the sessions a
// commit touched in multi-row statements (those that stay in their
// activity group apart from those that leave it); it forgets that after a
// failed commit and after any job on the writer (retention). An event
// whose ID is already stored in its session is found through an index on
// (id, sid), not stored again, and acknowledged with its sequence number
// (see store.Store); the lookup is skipped for IDs above the greatest
// stored one.
//
// # Schema versions
//
// PRAGMA user_version holds the schema version. Open migrates an older
// database in place (version 1 to 2 adds sessions.last_pos, 2 to 3 the
// recent tables, 3 to 4 indexes sessions.activity instead of last_pos),
// one transaction per step, and refuses a newer one with
// an error wrapping store.ErrCorrupt; an older build refuses a migrated
// database the same way.
//
// # Durability
//
// By default the database runs with PRAGMA synchronous=FULL: the WAL is
// fsynced before a commit returns, so an event whose Append returned nil
// survives a process crash and a power loss or OS crash. WithSynchronous
// (Normal) trades that for speed: commits survive a process crash (the
// write has reached the OS) but the last ones may be lost if the machine
// goes down. Group commit makes the fsync cheap under concurrency; see
// bench_test.go for the figures of both modes. A merge transaction (moving
// events from a recent table into events) commits without an fsync of
// its own: it answers no caller and loses nothing if it is rolled back by a
// power loss (its events are then still in the recent table), and the next
// commit's fsync, or the next checkpoint's, makes it durable with the WAL
// written before it.
//
// # Reading
//
// Readers use a pool of read connections (WAL readers never block the
// writer). Iterators fetch in pages and hold no transaction while the
// caller's loop body runs.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-events/sluice/internal/option"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/background"
	"github.com/sluice-events/sluice/store/internal/group"
	"github.com/sluice-events/sluice/store/internal/page"
)

// pageBytes is the page size of a new database: SQLite's default, 4 KiB.
// Merging moves each session's events into the events table in runs of
// many events, but the recent tables' (sid, seq) indexes are scattered by
// session, so a commit still touches several of their pages: small pages
// keep those writes small (see BENCHMARKS.md).
const pageBytes = 4096

// walLimitPages is the WAL size (in pages) at which the writer checkpoints
// itself, if the checkpointer goroutine falls behind.
const walLimitPages = 16384

// Synchronous is the PRAGMA synchronous level of the database.
type Synchronous string

// The synchronous levels a store supports.
const (
	// Full fsyncs the WAL on every commit: acknowledged events survive
	// power loss. It is the default.
	Full Synchronous = "FULL"
	// Normal fsyncs only at checkpoints: acknowledged events survive a
	// process crash but not necessarily an OS crash or power loss.
	Normal Synchronous = "NORMAL"
)

// Option configures a SQLite store; pass options to Open. Besides this
// package's own options, WithRetention, WithClock and WithLogger set what
// every backend shares (store.Config).
type Option func(*config) error

type config struct {
	store.Config
	sync    Synchronous
	batch   int
	readers int
	check   bool
	merge   int64 // rows in a recent table that start a merge
	slice   int64 // rows per merge transaction
}

// WithSynchronous sets the durability level: Full (the default) or Normal.
// Another value gives an error wrapping store.ErrInvalid.
func WithSynchronous(s Synchronous) Option {
	return func(c *config) error {
		if s != Full && s != Normal {
			return fmt.Errorf("%w: sqlite: synchronous %q", store.ErrInvalid, s)
		}
		c.sync = s
		return nil
	}
}

// WithMaxBatch sets the most events the writer commits in one transaction
// (default 8192). A call of Append with more events is still one
// transaction. n must be positive: 0 or less gives an error wrapping
// store.ErrInvalid (as postgres.WithMaxBatch does).
func WithMaxBatch(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: sqlite: max batch %d (want at least 1)", store.ErrInvalid, n)
		}
		c.batch = n
		return nil
	}
}

// WithReaders sets the number of read connections (default 4). n must be
// positive: 0 or less gives an error wrapping store.ErrInvalid.
func WithReaders(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: sqlite: %d readers (want at least 1)", store.ErrInvalid, n)
		}
		c.readers = n
		return nil
	}
}

// WithIntegrityCheck makes Open run PRAGMA quick_check, which reads the
// whole database: slow for a big file, but it finds damage that a cheap
// open does not.
func WithIntegrityCheck() Option {
	return func(c *config) error { c.check = true; return nil }
}

// WithRetention sets the retention policy (default: keep everything). A
// negative value gives an error wrapping store.ErrInvalid.
func WithRetention(r store.Retention) Option {
	return func(c *config) error { return c.SetRetention(r) }
}

// WithClock sets the clock retention by age measures against (default
// time.Now); tests inject a fake one. It must not be nil.
func WithClock(now func() time.Time) Option {
	return func(c *config) error { return c.SetClock(now) }
}

// WithLogger sets the logger for background errors and notices (default
// slog.Default()). It must not be nil.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error { return c.SetLogger(l) }
}

// Store is the SQLite store. Create it with Open.
type Store struct {
	path  string
	epoch uint64
	cfg   store.Config
	// mergeAt is how many rows a recent table holds before the writer
	// merges it; sliceAt is about how many it moves per transaction.
	mergeAt, sliceAt int64
	sync             Synchronous
	db               *sql.DB
	wconn            *sql.Conn
	writer           *group.Writer
	loop             *background.Loop
	closed           atomic.Bool
	once             sync.Once
	cerr             error

	ckpt       chan struct{}
	ckptDone   chan struct{}
	ckptCancel context.CancelFunc

	// writer state, used only on the writer goroutine
	w writeState

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt

	dec *page.Decoder
}

var _ store.Store = (*Store)(nil)

// Open opens the store in the database file at path, creating it if it
// does not exist. A file that is not a Sluice database, or is damaged, gives
// an error wrapping store.ErrCorrupt.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("%w: sqlite path %q (empty or containing '?')", store.ErrInvalid, path)
	}
	if strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("%w: sqlite path %q: give a file path", store.ErrInvalid, path)
	}
	c := config{Config: store.DefaultConfig(), sync: Full, batch: 8192, readers: 4, merge: mergeRows, slice: sliceRows}
	if err := option.Apply(&c, opts, store.ErrInvalid); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	db, err := sql.Open(driverName, dsn(path, c.sync))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(c.readers + 2)
	db.SetMaxIdleConns(c.readers + 2)
	s := &Store{path: path, cfg: c.Config, mergeAt: c.merge, sliceAt: c.slice, sync: c.sync, db: db, stmts: make(map[string]*sql.Stmt), dec: page.NewDecoder(c.Logger, "sqlite")}
	if err := s.init(ctx, c.check); err != nil {
		db.Close()
		return nil, err
	}
	s.ckpt, s.ckptDone = make(chan struct{}, 1), make(chan struct{})
	var cctx context.Context
	cctx, s.ckptCancel = context.WithCancel(context.Background())
	go s.checkpointer(cctx)
	s.writer = group.StartAfter(s.commit, s.mergeIfDue, c.batch)
	if c.Retention.Enabled() {
		s.loop = background.Start(c.Retention.Interval, c.Logger, "sqlite", s.Prune)
	}
	return s, nil
}

// Epoch implements store.Store.
func (s *Store) Epoch() uint64 { return s.epoch }

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// checkHeader reads the file's header, if there is one, and refuses a file
// that is not an SQLite database or is shorter than its header says.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if fi.Size() == 0 {
		return nil // a new database
	}
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return fmt.Errorf("%w: %s: file too short for an SQLite header (%d bytes)", store.ErrCorrupt, path, fi.Size())
	}
	if string(h[:16]) != "SQLite format 3\x00" {
		return fmt.Errorf("%w: %s is not an SQLite database (bad header)", store.ErrCorrupt, path)
	}
	pageSize := int64(binary.BigEndian.Uint16(h[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return fmt.Errorf("%w: %s: bad page size %d in header", store.ErrCorrupt, path, pageSize)
	}
	pages := int64(binary.BigEndian.Uint32(h[28:32]))
	change, valid := binary.BigEndian.Uint32(h[24:28]), binary.BigEndian.Uint32(h[92:96])
	if change == valid && pages*pageSize > fi.Size() {
		return fmt.Errorf("%w: %s is truncated: header says %d pages of %d bytes, file has %d bytes",
			store.ErrCorrupt, path, pages, pageSize, fi.Size())
	}
	return nil
}

func (s *Store) init(ctx context.Context, check bool) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.wrap(fmt.Errorf("sqlite: open %s: %w", s.path, err))
	}
	var appID, version int64
	if err := conn.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		conn.Close()
		return s.wrap(fmt.Errorf("sqlite: open %s: %w", s.path, err))
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		conn.Close()
		return s.wrap(fmt.Errorf("sqlite: open %s: %w", s.path, err))
	}
	var tables int
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		conn.Close()
		return s.wrap(fmt.Errorf("sqlite: open %s: %w", s.path, err))
	}
	switch {
	case appID == 0 && tables == 0:
		// A new database starts at version 1 and migrates like an old one.
		q := fmt.Sprintf("PRAGMA page_size = %d; PRAGMA journal_mode = WAL; PRAGMA application_id = %d; PRAGMA user_version = 1;",
			pageBytes, applicationID)
		if _, err := conn.ExecContext(ctx, q+schema); err != nil {
			conn.Close()
			return s.wrap(fmt.Errorf("sqlite: create schema in %s: %w", s.path, err))
		}
		version = 1
	case appID != applicationID:
		conn.Close()
		return fmt.Errorf("%w: %s is an SQLite database of another application (application_id %#x)", store.ErrCorrupt, s.path, appID)
	case version < 1 || version > schemaVersion:
		conn.Close()
		return fmt.Errorf("%w: %s has schema version %d; this build knows 1 to %d", store.ErrCorrupt, s.path, version, schemaVersion)
	}
	if check {
		var res string
		if err := conn.QueryRowContext(ctx, "PRAGMA quick_check(1)").Scan(&res); err != nil {
			conn.Close()
			return s.wrap(fmt.Errorf("sqlite: check %s: %w", s.path, err))
		}
		if res != "ok" {
			conn.Close()
			return fmt.Errorf("%w: %s: quick_check: %s", store.ErrCorrupt, s.path, res)
		}
	}
	if _, err := conn.ExecContext(ctx, idIndex); err != nil {
		conn.Close()
		return s.wrap(fmt.Errorf("sqlite: open %s: create the ID index: %w", s.path, err))
	}
	if err := migrate(ctx, conn); err != nil {
		conn.Close()
		return s.wrap(fmt.Errorf("sqlite: open %s: %w", s.path, err))
	}
	// The epoch is drawn once, by the first Open of a build that knows it.
	if _, err := conn.ExecContext(ctx, "INSERT OR IGNORE INTO meta(key, value) VALUES ('epoch', ?)", int64(store.NewEpoch())); err != nil {
		conn.Close()
		return s.wrap(fmt.Errorf("sqlite: open %s: %w", s.path, err))
	}
	var epoch int64
	if err := conn.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'epoch'").Scan(&epoch); err != nil {
		conn.Close()
		return s.wrap(fmt.Errorf("sqlite: open %s: %w", s.path, err))
	}
	s.epoch = uint64(epoch)
	var mode string
	if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		conn.Close()
		return s.wrap(fmt.Errorf("sqlite: open %s: set WAL mode: %w", s.path, err))
	}
	// The writer checkpoints only as a safety net; the checkpointer
	// goroutine does it off the write path.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", walLimitPages)); err != nil {
		conn.Close()
		return s.wrap(fmt.Errorf("sqlite: open %s: %w", s.path, err))
	}
	// Touch every table, so that a damaged file fails here rather than on
	// the first append.
	var lastPos, n int64
	if err := conn.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'last_pos'").Scan(&lastPos); err != nil {
		conn.Close()
		return s.wrap(fmt.Errorf("sqlite: open %s: read meta: %w", s.path, err))
	}
	if err := conn.QueryRowContext(ctx, "SELECT max((SELECT coalesce(max(pos), 0) FROM events), (SELECT coalesce(max(pos), 0) FROM recent0), (SELECT coalesce(max(pos), 0) FROM recent1))").Scan(&n); err != nil {
		conn.Close()
		return s.wrap(fmt.Errorf("sqlite: open %s: read events: %w", s.path, err))
	}
	if n > lastPos {
		conn.Close()
		return fmt.Errorf("%w: %s: event position %d beyond the last assigned %d", store.ErrCorrupt, s.path, n, lastPos)
	}
	if err := conn.QueryRowContext(ctx, "SELECT coalesce(max(sid), 0) FROM sessions").Scan(&n); err != nil {
		conn.Close()
		return s.wrap(fmt.Errorf("sqlite: open %s: read sessions: %w", s.path, err))
	}
	s.wconn = conn
	if _, err := conn.ExecContext(ctx, "PRAGMA cache_size = "+writerCacheSize); err != nil {
		conn.Close()
		s.wconn = nil
		return s.wrap(fmt.Errorf("sqlite: open %s: %w", s.path, err))
	}
	if err := s.prepareWriter(ctx); err != nil {
		// db.Close does not close a checked-out connection.
		for _, st := range s.w.stmts {
			st.Close()
		}
		conn.Close()
		s.wconn = nil
		return err
	}
	return nil
}

// migrate brings the database to schemaVersion, one migration per
// transaction. It reads the version inside each transaction, so that two
// processes opening an old file at once migrate it once.
func migrate(ctx context.Context, conn *sql.Conn) (err error) {
	for {
		if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		var v int64
		if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
			return fmt.Errorf("migrate: %w", err)
		}
		if v >= schemaVersion {
			_, err := conn.ExecContext(ctx, "COMMIT")
			return err
		}
		if err := migrations[v-1](ctx, conn); err != nil {
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
			return fmt.Errorf("migrate from schema version %d: %w", v, err)
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
			return fmt.Errorf("migrate from schema version %d: %w", v, err)
		}
		if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
			return fmt.Errorf("migrate from schema version %d: %w", v, err)
		}
	}
}

// The connection settings: how long a statement waits for a lock held by
// another connection (ms), the page cache (KiB, negative), and how much of
// the file reads may map. The writer's page cache is smaller: at the end
// of a transaction in which a B-tree balance renumbered pages (it parks
// one at the lock-byte page's number), SQLite walks its whole cache, which
// took 3.5 % of the process's CPU at 32 MiB (BENCHMARKS.md); the pages the
// writer only reads come through the map (the file's first GiB) cheaply.
const (
	busyTimeout     = "10000"
	cacheSize       = "-32768"
	writerCacheSize = "-8192"
	mmapSize        = "1073741824"
)

// SQLite result codes (the primary code is the low byte).
const (
	sqliteCorrupt = 11
	sqliteNotADB  = 26
)

// wrap maps driver errors to the store's sentinel errors.
func (s *Store) wrap(err error) error {
	if err == nil {
		return nil
	}
	if code, ok := errCode(err); ok {
		switch code & 0xff {
		case sqliteCorrupt, sqliteNotADB:
			return fmt.Errorf("%w: %w", store.ErrCorrupt, err)
		}
	}
	// After Close, any failure (sql: statement is closed, database is
	// closed, a canceled query) is the store being closed.
	if errors.Is(err, store.ErrClosed) {
		return err
	}
	if errors.Is(err, sql.ErrConnDone) || s.closed.Load() {
		return fmt.Errorf("%w: %w", store.ErrClosed, err)
	}
	return err
}

// stmt returns a prepared read statement for query, cached.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st := s.stmts[query]; st != nil {
		return st, nil
	}
	if s.closed.Load() {
		return nil, store.ErrClosed
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, s.wrap(err)
	}
	s.stmts[query] = st
	return st, nil
}

// Close implements store.Store: it stops retention, lets the writer
// finish the group in flight, fails queued appends with store.ErrClosed and
// closes the database (checkpointing the WAL).
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		s.loop.Stop()
		s.writer.Close()
		s.ckptCancel()
		<-s.ckptDone
		var errs []error
		for _, cache := range []map[int]*sql.Stmt{s.w.inserts[0], s.w.inserts[1], s.w.inserts[2], s.w.updates[0], s.w.updates[1], s.w.lookups} {
			for _, st := range cache {
				errs = append(errs, st.Close())
			}
		}
		for _, st := range s.w.stmts {
			errs = append(errs, st.Close())
		}
		s.stmtMu.Lock()
		for _, st := range s.stmts {
			errs = append(errs, st.Close())
		}
		s.stmts = nil
		s.stmtMu.Unlock()
		errs = append(errs, s.wconn.Close(), s.db.Close())
		s.cerr = errors.Join(errs...)
	})
	return s.cerr
}

// globPrefix returns a GLOB pattern matching strings that start with p.
func globPrefix(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '*', '?', '[':
			b.WriteByte('[')
			b.WriteRune(r)
			b.WriteByte(']')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('*')
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }
