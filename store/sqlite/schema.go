package sqlite

// applicationID marks a database file as a Sluice store ("Slce").
const applicationID = 0x536c6365

// schemaVersion is PRAGMA user_version of the current schema: version 1
// (schema) with the migration to version 2 (migrateLastPos) applied.
const schemaVersion = 2

// schema creates the tables of version 1; Open then migrates them.
//
//   - events holds every stored event, clustered by (session id, seq) so
//     that a session's events lie together on disk and Read scans them in
//     order (WITHOUT ROWID). Beside the whole event as JSON (without its
//     seq, which the seq column holds) it keeps the store-wide position
//     (assigned by the writer from meta.last_pos, never reused; unique
//     index for ReadAll), the type, the time (Unix nanoseconds; indexed for
//     retention by age) and the ID (16 bytes).
//   - sessions holds, per session, what the writer needs to number the next
//     event without scanning: the last sequence number, the stored count,
//     and the first and last time (version 2 adds last_pos, the position of
//     the last event, indexed for store.ByActivity; see migrateLastPos).
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
// would. Open creates it in databases made before it existed (the schema
// version stays 1: older builds keep it up to date too).
const idIndex = `CREATE INDEX IF NOT EXISTS events_id ON events(id, sid);`
