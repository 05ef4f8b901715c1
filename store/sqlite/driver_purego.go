//go:build !cgo

package sqlite

import (
	"errors"

	"modernc.org/sqlite" // the database/sql driver "sqlite"
)

// Driver names the SQLite engine this build uses (see Engines in the
// package doc).
const Driver = "modernc.org/sqlite, SQLite translated to Go (built without cgo)"

// driverName is the database/sql driver that Open uses.
const driverName = "sqlite"

// dsn is the connection string for a database file with the given
// synchronous level.
func dsn(path string, sync Synchronous) string {
	return path + "?_pragma=busy_timeout(" + busyTimeout + ")&_pragma=synchronous(" + string(sync) +
		")&_pragma=temp_store(MEMORY)&_pragma=cache_size(" + cacheSize + ")&_pragma=mmap_size(" + mmapSize + ")"
}

// errCode returns the SQLite result code of a driver error.
func errCode(err error) (int, bool) {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code(), true
	}
	return 0, false
}
