package sqlite

import (
	"context"
	"database/sql"
	"strconv"
)

// applicationID marks a database file as a Sluice store ("Slce").
const applicationID = 0x536c6365

// schemaVersion is PRAGMA user_version of the current schema: the version
// of schema plus the migrations.
const schemaVersion = int64(1 + len(migrations))

// schema creates the tables of version 1; a new database then goes through
// the migrations like an old one, so that both end up the same.
//
//   - events holds stored events, clustered by (session id, seq) so that a
//     session's events lie together on disk and Read scans them in order
//     (WITHOUT ROWID). Beside the whole event as JSON (without its seq,
//     which the seq column holds) it keeps the store-wide position
//     (assigned by the writer from meta.last_pos, never reused; unique
//     index for ReadAll), the type, the time (Unix nanoseconds; indexed for
//     retention by age) and the ID (16 bytes).
//   - sessions holds, per session, what the writer needs to number the next
//     event without scanning: the last sequence number, the stored count,
//     and the first and last time (version 2 adds last_pos, the position of
//     the last event, for store.ByActivity, see fillLastPos; version 4
//     indexes it coarsely, as activity, see activityShift).
//     Rows are never deleted by retention, so sequence numbers are never
//     reused after it.
//   - meta holds the last assigned position.
const schema = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta(key, value) VALUES ('last_pos', 0);
CREATE TABLE IF NOT EXISTS sessions (
	sid        INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE,
	last_seq   INTEGER NOT NULL,
	count      INTEGER NOT NULL,
	first_time INTEGER NOT NULL,
	last_time  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
	sid  INTEGER NOT NULL,
	seq  INTEGER NOT NULL,
	pos  INTEGER NOT NULL,
	type TEXT NOT NULL,
	time INTEGER NOT NULL,
	id   BLOB NOT NULL,
	data BLOB NOT NULL,
	PRIMARY KEY (sid, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_pos ON events(pos);
CREATE INDEX IF NOT EXISTS events_time ON events(time);
` + idIndex

// idIndex finds an event by its ID and session, so that an event appended
// again is recognized. It is keyed by ID first: IDs are UUIDv7, which grow
// with time, so a commit adds its entries at the end of the index, in a
// page or two, rather than one page per session as a (session, ID) key
// would. Open creates it in version 1 databases made before it existed.
const idIndex = `CREATE INDEX IF NOT EXISTS events_id ON events(id, sid);`

// migrations[i] turns a database of version i+1 into version i+2; Open
// runs each in a transaction of its own, which also sets the version. Each
// step stands alone, so that one more is one more element.
var migrations = [...]func(ctx context.Context, conn *sql.Conn) error{
	// 1 → 2: sessions.last_pos, for store.ByActivity (see fillLastPos).
	fillLastPos,
	// 2 → 3: recent0 and recent1, where the writer appends.
	//
	// They hold the newest events, in the columns of events, keyed by
	// position: a commit appends to one of them, so it writes pages in
	// proportion to its bytes, where inserting into events (clustered by
	// session) writes one page per session it touches: about a page per
	// event when many sessions send one event each. The writer appends to
	// one table until it holds mergeRows events, then to the other while it
	// moves the full one into events in slices of sessions (see
	// mergeSlice), so that each session's pages in events are rewritten
	// once per many events and no slice holds the appends up for long.
	// meta.mergedN is the session id below which the events of recentN
	// have been copied into events already (0: none), so readers skip
	// them there. recentN_seq reads a session; recentN_id finds an ID
	// again (appended to, like events_id).
	func(ctx context.Context, conn *sql.Conn) error {
		_, err := conn.ExecContext(ctx, recentSchema("recent0")+recentSchema("recent1"))
		return err
	},
	// 3 → 4: sessions.activity, indexed instead of last_pos (see
	// activityShift).
	func(ctx context.Context, conn *sql.Conn) error {
		_, err := conn.ExecContext(ctx, `ALTER TABLE sessions ADD COLUMN activity INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET activity = last_pos >> `+strconv.Itoa(activityShift)+`;
DROP INDEX sessions_last_pos;
CREATE INDEX sessions_activity ON sessions(activity);`)
		return err
	},
}

// activityShift makes sessions.activity, the coarse activity order that
// store.ByActivity walks by index: last_pos >> activityShift, so a group
// spans 16,384 positions. A commit moves a session's index entry only when
// its last event crosses into the next group (about once in 80 of its
// commits when 200 sessions stream at once), where an index on last_pos
// itself took two B-tree changes for every session of every commit.
// Listings walk the index newest group first and sort each group by
// last_pos.
const activityShift = 14

// recentSchema creates one of the recent tables and its meta row.
func recentSchema(table string) string {
	return `CREATE TABLE ` + table + ` (
	pos  INTEGER PRIMARY KEY,
	sid  INTEGER NOT NULL,
	seq  INTEGER NOT NULL,
	type TEXT NOT NULL,
	time INTEGER NOT NULL,
	id   BLOB NOT NULL,
	data BLOB NOT NULL
);
CREATE UNIQUE INDEX ` + table + `_seq ON ` + table + `(sid, seq);
CREATE INDEX ` + table + `_id ON ` + table + `(id, sid);
INSERT INTO meta(key, value) VALUES ('merged` + table[len(table)-1:] + `', 0);
`
}
