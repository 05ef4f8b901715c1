// Package postgres is a store.Store in PostgreSQL, through pgx v5: for
// deployments where several processes share one log.
//
// # Writing
//
// As in store/sqlite, one writer goroutine per Store groups concurrent
// Append calls into one transaction (group commit). A transaction is one
// round trip to the server: its statements are sent together, and one
// statement numbers the events, finds the duplicates, inserts the new
// ones and updates the sessions and the last position, so the writer's
// share of the work is small and the server does the rest in one go.
// Every append transaction first takes a transaction-level advisory lock
// (pg_advisory_xact_lock, keyed by the schema), so appends are serialized
// across all processes that share the schema: positions are assigned under
// the lock and the lock is released only when the transaction has
// committed, so commit order equals position order and a reader that
// resumes ReadAll after position P never misses a later-committed event
// with a smaller position. Sequence numbers come from the sessions table,
// read under the same lock.
//
// # Watching
//
// Store is a store.Watcher: each append transaction sends a NOTIFY on a
// channel named after the schema, delivered when it commits, and Watch
// LISTENs on a connection of its own, so that a hub learns of appends by
// other processes at once instead of polling.
//
// # Durability
//
// Append returns after COMMIT, which with PostgreSQL's default
// synchronous_commit=on means the events are in the server's flushed WAL.
//
// # Tables
//
// All tables live in one schema (WithSchema, default "sluice"), created on
// Open: events (session, seq, pos, type, time, id, data — the event's JSON
// as bytea, byte for byte), sessions (last seq, count, first and last time)
// and meta (last position, schema version).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sluice-events/sluice/internal/option"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/background"
	"github.com/sluice-events/sluice/store/internal/group"
	"github.com/sluice-events/sluice/store/internal/page"
)

// DefaultSchema is the schema a store uses unless WithSchema says another.
const DefaultSchema = "sluice"

// schemaVersion is the version of the current schema: the tables of
// version 1 (queries.schema) with the migrations to version 2
// (migrateLastPos) and 3 (the query addActivity) applied. Version 3
// indexes sessions.activity (see activityShift) instead of last_pos, and
// the session ID in byte order (COLLATE "C"), the order of store.ByID,
// which the primary key, in the database's collation, cannot give (a page
// by ID read and sorted every session before).
const schemaVersion = 3

// activityShift makes sessions.activity, the coarse activity order that
// store.ByActivity walks by index: last_pos >> activityShift. An append
// rarely changes it (a session's last position must cross a multiple of
// 16,384), so the update of a session's row changes no indexed column and
// PostgreSQL rewrites the row on its page without touching an index (a HOT
// update); an index on last_pos itself made every update a new row version
// with a new entry in every index of sessions, which cost a fifth of the
// append throughput of many sessions each appending one event at a time
// (BENCHMARKS.md). A listing sorts the sessions of the newest groups it
// reads by last_pos, at most 16,384 per group.
const activityShift = 14

// commitTimeout bounds one append or retention transaction, from taking a
// connection to COMMIT, so that a dead connection (or another process that
// holds the schema's advisory lock for good) fails the appends waiting on
// it instead of blocking them, and Close, for good. Tests shorten it.
var commitTimeout = 30 * time.Second

// closeGrace is how long Close lets the transaction in flight finish
// before it cancels it. Tests shorten it.
var closeGrace = 5 * time.Second

// defaultConnectTimeout is the connect_timeout of a DSN that sets none.
const defaultConnectTimeout = 10 * time.Second

// Option configures a PostgreSQL store; pass options to Open. Besides this
// package's own options, WithRetention, WithClock and WithLogger set what
// every backend shares (store.Config).
type Option func(*config) error

type config struct {
	store.Config
	schema string
	batch  int
}

// WithSchema sets the PostgreSQL schema that holds the store's tables
// (default DefaultSchema). It is created if missing. An empty name, or one
// longer than PostgreSQL's 63 bytes, gives an error wrapping
// store.ErrInvalid.
func WithSchema(name string) Option {
	return func(c *config) error {
		if name == "" || len(name) > 63 {
			return fmt.Errorf("%w: postgres: schema name %q", store.ErrInvalid, name)
		}
		c.schema = name
		return nil
	}
}

// WithMaxBatch sets the most events the writer commits in one transaction
// (default 8192). A call of Append with more events is still one
// transaction. n must be positive: 0 or less gives an error wrapping
// store.ErrInvalid (as sqlite.WithMaxBatch does).
func WithMaxBatch(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: postgres: max batch %d (want at least 1)", store.ErrInvalid, n)
		}
		c.batch = n
		return nil
	}
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

// Store is the PostgreSQL store. Create it with Open.
type Store struct {
	pool    *pgxpool.Pool
	epoch   uint64
	cfg     store.Config
	schema  string
	lockKey int64
	writer  *group.Writer
	loop    *background.Loop
	closed  atomic.Bool
	once    sync.Once
	dec     *page.Decoder

	// base is the parent of every writer transaction's context; Close
	// cancels it if the transaction in flight outlasts closeGrace.
	base       context.Context
	cancelBase context.CancelFunc

	q queries
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at dsn (a PostgreSQL URL or key=value
// string; pool settings such as pool_max_conns apply) and creates the
// store's schema and tables if they do not exist. A DSN without
// connect_timeout (and no PGCONNECT_TIMEOUT in the environment) gets one
// of 10 seconds.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	c := config{Config: store.DefaultConfig(), schema: DefaultSchema, batch: 8192}
	if err := option.Apply(&c, opts, store.ErrInvalid); err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	schema := c.schema
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: postgres dsn: %w", store.ErrInvalid, err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 && !strings.Contains(dsn, "connect_timeout") && os.Getenv("PGCONNECT_TIMEOUT") == "" {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	h := fnv.New64a()
	h.Write([]byte("sluice.store:" + schema))
	s := &Store{pool: pool, cfg: c.Config, schema: schema, lockKey: int64(h.Sum64()), dec: page.NewDecoder(c.Logger, "postgres")}
	s.q = newQueries(pgx.Identifier{schema}.Sanitize())
	if err := s.init(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	s.base, s.cancelBase = context.WithCancel(context.Background())
	s.writer = group.Start(s.commit, c.batch)
	if c.Retention.Enabled() {
		s.loop = background.Start(c.Retention.Interval, c.Logger, "postgres", s.Prune)
	}
	return s, nil
}

// Epoch implements store.Store.
func (s *Store) Epoch() uint64 { return s.epoch }

// Schema returns the schema that holds the store's tables.
func (s *Store) Schema() string { return s.schema }

// Pool returns the connection pool, for callers that want to share it.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

func (s *Store) init(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	defer tx.Rollback(context.Background())
	// Serialize schema creation between processes too.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.lockKey); err != nil {
		return fmt.Errorf("postgres: create schema: %w", err)
	}
	if _, err := tx.Exec(ctx, s.q.schema); err != nil {
		return fmt.Errorf("postgres: create schema %q: %w", s.schema, err)
	}
	var version int64
	if err := tx.QueryRow(ctx, s.q.version).Scan(&version); err != nil {
		return fmt.Errorf("postgres: read schema version: %w", err)
	}
	if version == 1 {
		if err := s.migrateLastPos(ctx, tx); err != nil {
			return fmt.Errorf("postgres: migrate schema %q to version 2: %w", s.schema, err)
		}
		version = 2
	}
	if version == 2 {
		if _, err := tx.Exec(ctx, s.q.addActivity); err != nil {
			return fmt.Errorf("postgres: migrate schema %q to version 3: %w", s.schema, err)
		}
		version = 3
	}
	if version != schemaVersion {
		return fmt.Errorf("%w: schema %q has version %d; this build knows %d", store.ErrCorrupt, s.schema, version, schemaVersion)
	}
	// The epoch is drawn once, by the first Open of a build that knows it.
	var epoch int64
	if _, err := tx.Exec(ctx, s.q.setEpoch, int64(store.NewEpoch())); err != nil {
		return fmt.Errorf("postgres: create schema: %w", err)
	}
	if err := tx.QueryRow(ctx, s.q.epoch).Scan(&epoch); err != nil {
		return fmt.Errorf("postgres: read the epoch: %w", err)
	}
	s.epoch = uint64(epoch)
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: create schema: %w", err)
	}
	return nil
}

// wrap maps errors after Close to store.ErrClosed and data corruption
// reported by the server to store.ErrCorrupt.
func (s *Store) wrap(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "XX001" || pgErr.Code == "XX002") { // data_corrupted, index_corrupted
		return fmt.Errorf("%w: %w", store.ErrCorrupt, err)
	}
	if s.closed.Load() && !errors.Is(err, store.ErrClosed) {
		return fmt.Errorf("%w: %w", store.ErrClosed, err)
	}
	return err
}

// txContext returns the context of one writer transaction: bounded by
// commitTimeout, and canceled by Close.
func (s *Store) txContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(s.base, commitTimeout)
}

// Close implements store.Store: it stops retention, lets the writer finish
// the group in flight (for up to 5 seconds; then it cancels it, and its
// appends fail), fails queued appends with store.ErrClosed and closes the
// pool.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		done := make(chan struct{})
		go func() {
			s.loop.Stop()
			s.writer.Close()
			close(done)
		}()
		t := time.NewTimer(closeGrace)
		select {
		case <-done:
		case <-t.C:
			s.cancelBase()
			<-done
		}
		t.Stop()
		s.cancelBase()
		s.pool.Close()
	})
	return nil
}

// queries holds the SQL with the schema name filled in.
type queries struct {
	schema, version                             string
	lastPos, append                             string
	sessionsByActivity, addLastPos, fillLastPos string
	indexLastPos, addActivity                   string
	read, readAll, sessionList, sessionOne      string
	pruneCount, pruneAge, pruneUpd              string
	setEpoch, epoch                             string
	deleteSession, deleteEvents                 string
}

func newQueries(sch string) queries {
	r := strings.NewReplacer("$S", sch, "$A", strconv.Itoa(activityShift))
	return queries{
		schema: r.Replace(`
CREATE SCHEMA IF NOT EXISTS $S;
CREATE TABLE IF NOT EXISTS $S.meta (
	key   text PRIMARY KEY,
	value bigint NOT NULL
);
INSERT INTO $S.meta(key, value) VALUES ('last_pos', 0), ('version', 1) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS $S.sessions (
	session    text PRIMARY KEY,
	last_seq   bigint NOT NULL,
	count      bigint NOT NULL,
	first_time bigint NOT NULL,
	last_time  bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS $S.events (
	session text NOT NULL,
	seq     bigint NOT NULL,
	pos     bigint NOT NULL,
	type    text NOT NULL,
	time    bigint NOT NULL,
	id      uuid NOT NULL,
	data    bytea NOT NULL,
	PRIMARY KEY (session, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS events_pos ON $S.events(pos);
CREATE INDEX IF NOT EXISTS events_time ON $S.events(time);
CREATE INDEX IF NOT EXISTS events_id ON $S.events(id, session);
`),
		version:  r.Replace(`SELECT value FROM $S.meta WHERE key = 'version'`),
		lastPos:  r.Replace(`SELECT value FROM $S.meta WHERE key = 'last_pos'`),
		setEpoch: r.Replace(`INSERT INTO $S.meta(key, value) VALUES ('epoch', $1) ON CONFLICT DO NOTHING`),
		epoch:    r.Replace(`SELECT value FROM $S.meta WHERE key = 'epoch'`),
		// append numbers, de-duplicates and stores the events given as
		// arrays (session, id, type, time, data; no ID twice in a
		// session), and answers, for each event, its ordinal (from 1), its
		// sequence number and whether it is new. It runs under the
		// schema's advisory lock. An event whose ID is stored in its
		// session (one index probe, skipped for IDs above the greatest
		// stored one: UUIDv7 grow with time) is not stored again and
		// answers the number it has.
		append: r.Replace(`WITH v AS (
	SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::bigint[], $5::bytea[])
		WITH ORDINALITY AS v(session, id, type, time, data, ord)
), old AS (
	SELECT v.ord, e.seq FROM v JOIN $S.events e ON e.id = v.id AND e.session = v.session
	WHERE v.id <= (SELECT id FROM $S.events ORDER BY id DESC LIMIT 1)
), n AS (
	SELECT v.session, v.id, v.type, v.time, v.data, v.ord,
		coalesce(s.last_seq, 0) + row_number() OVER (PARTITION BY v.session ORDER BY v.ord) AS seq,
		(SELECT value FROM $S.meta WHERE key = 'last_pos') + row_number() OVER (ORDER BY v.ord) AS pos
	FROM v LEFT JOIN $S.sessions s ON s.session = v.session
	WHERE NOT EXISTS (SELECT 1 FROM old WHERE old.ord = v.ord)
), ins AS (
	INSERT INTO $S.events (session, seq, pos, type, time, id, data)
	SELECT session, seq, pos, type, time, id, data FROM n
), ses AS (
	INSERT INTO $S.sessions AS s (session, last_seq, count, first_time, last_time, last_pos, activity)
	SELECT session, max(seq), count(*), (array_agg(time ORDER BY ord))[1], (array_agg(time ORDER BY ord DESC))[1], max(pos), max(pos) >> $A
	FROM n GROUP BY session
	ON CONFLICT (session) DO UPDATE SET last_seq = excluded.last_seq, count = s.count + excluded.count,
		first_time = CASE WHEN s.count = 0 THEN excluded.first_time ELSE s.first_time END, last_time = excluded.last_time,
		last_pos = excluded.last_pos, activity = excluded.activity
), meta AS (
	UPDATE $S.meta SET value = (SELECT max(pos) FROM n) WHERE key = 'last_pos' AND EXISTS (SELECT 1 FROM n)
)
SELECT ord, seq, true FROM n UNION ALL SELECT ord, seq, false FROM old`),
		read:        r.Replace(`SELECT seq, pos, type, data FROM $S.events WHERE session = $1 AND seq > $2`),
		readAll:     r.Replace(`SELECT pos, seq, type, data FROM $S.events WHERE pos > $1`),
		sessionList: r.Replace(`SELECT session, count, last_seq, first_time, last_time, last_pos FROM $S.sessions`),
		sessionOne:  r.Replace(`SELECT session, count, last_seq, first_time, last_time, last_pos FROM $S.sessions WHERE session = $1`),
		sessionsByActivity: r.Replace(`SELECT session, count, last_seq, first_time, last_time, last_pos FROM $S.sessions
	WHERE activity <= ($1::bigint - 1) >> $A AND last_pos < $1`),
		addLastPos: r.Replace(`ALTER TABLE $S.sessions ADD COLUMN IF NOT EXISTS last_pos bigint NOT NULL DEFAULT 0;
UPDATE $S.sessions s SET last_pos = coalesce((SELECT e.pos FROM $S.events e WHERE e.session = s.session ORDER BY e.seq DESC LIMIT 1), 0)`),
		fillLastPos: r.Replace(`UPDATE $S.sessions s SET last_pos = v.pos FROM unnest($1::text[], $2::bigint[]) AS v(session, pos) WHERE s.session = v.session`),
		indexLastPos: r.Replace(`CREATE INDEX IF NOT EXISTS sessions_last_pos ON $S.sessions(last_pos);
UPDATE $S.meta SET value = 2 WHERE key = 'version'`),
		addActivity: r.Replace(`ALTER TABLE $S.sessions ADD COLUMN activity bigint NOT NULL DEFAULT 0;
UPDATE $S.sessions SET activity = last_pos >> $A;
DROP INDEX $S.sessions_last_pos;
CREATE INDEX sessions_activity ON $S.sessions(activity);
CREATE INDEX sessions_session_c ON $S.sessions(session COLLATE "C");
ALTER TABLE $S.sessions SET (fillfactor = 50);
UPDATE $S.meta SET value = 3 WHERE key = 'version'`),
		pruneCount: r.Replace(`DELETE FROM $S.events WHERE (session, seq) IN (
	SELECT e.session, e.seq FROM $S.sessions s JOIN $S.events e ON e.session = s.session AND e.seq <= s.last_seq - $1
	WHERE s.count > $1 LIMIT $2) RETURNING session`),
		pruneAge: r.Replace(`DELETE FROM $S.events WHERE pos IN (SELECT pos FROM $S.events WHERE time < $1 ORDER BY time LIMIT $2) RETURNING session`),
		pruneUpd: r.Replace(`UPDATE $S.sessions s SET count = s.count - d.n,
	first_time = coalesce((SELECT e.time FROM $S.events e WHERE e.session = s.session ORDER BY e.seq LIMIT 1), 0)
FROM unnest($1::text[], $2::bigint[]) AS d(session, n) WHERE s.session = d.session`),
		deleteSession: r.Replace(`DELETE FROM $S.sessions WHERE session = $1`),
		deleteEvents:  r.Replace(`DELETE FROM $S.events WHERE session = $1`),
	}
}
