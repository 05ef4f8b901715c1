//go:build cgo

package sqlite

import (
	"database/sql"
	"errors"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// Driver names the SQLite engine this build uses (see Engines in the
// package doc).
const Driver = "SQLite C library through github.com/mattn/go-sqlite3 (cgo)"

// driverName is the database/sql driver that Open uses: mattn's, with
// the pragmas its connection string cannot set.
const driverName = "sluice-sqlite3"

func init() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		_, err := c.Exec("PRAGMA temp_store = MEMORY; PRAGMA mmap_size = "+mmapSize, nil)
		return err
	}})
}

// dsn is the connection string for a database file with the given
// synchronous level.
func dsn(path string, sync Synchronous) string {
	return path + "?_busy_timeout=" + busyTimeout + "&_synchronous=" + string(sync) + "&_cache_size=" + cacheSize
}

// errCode returns the SQLite result code of a driver error.
func errCode(err error) (int, bool) {
	var e sqlite3.Error
	if errors.As(err, &e) {
		return int(e.ExtendedCode), true
	}
	return 0, false
}
