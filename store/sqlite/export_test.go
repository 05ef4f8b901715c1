package sqlite

import "database/sql"

// WithMerge sets how many events a recent table holds before the writer
// merges it into events (default mergeRows) and about how many it moves
// per transaction (default sliceRows), so that tests can keep every event
// in recent, merge after every commit, or merge in tiny slices.
func WithMerge(at, slice int64) Option {
	return func(c *config) error { c.merge, c.slice = at, slice; return nil }
}

// RawDB opens the database file at path through the store's driver and
// connection settings, for tests that look at or damage its tables.
func RawDB(path string) (*sql.DB, error) { return sql.Open(driverName, dsn(path, Full)) }
