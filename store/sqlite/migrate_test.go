package sqlite_test

import (
	"testing"

	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/sqlite"
)

// legacyReopen turns the database of a closed store back into the layout
// of schema version 1, as a build before sessions.last_pos made it, and
// opens it again (storetest.WithLegacyReopen).
func legacyReopen(t *testing.T, closed store.Store) store.Store {
	t.Helper()
	path := closed.(*sqlite.Store).Path()
	db, err := sqlite.RawDB(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		// Version 1 had no recent tables: their events not yet moved go
		// where version 1 kept them.
		"INSERT INTO events SELECT sid, seq, pos, type, time, id, data FROM recent0 WHERE sid >= (SELECT value FROM meta WHERE key = 'merged0')",
		"INSERT INTO events SELECT sid, seq, pos, type, time, id, data FROM recent1 WHERE sid >= (SELECT value FROM meta WHERE key = 'merged1')",
		"DROP TABLE recent0",
		"DROP TABLE recent1",
		"DELETE FROM meta WHERE key IN ('merged0', 'merged1')",
		"DROP INDEX sessions_last_pos",
		"ALTER TABLE sessions DROP COLUMN last_pos",
		"PRAGMA user_version = 1",
	} {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	if v := userVersion(t, path); v != 3 {
		t.Fatalf("user_version after Open = %d, want 3", v)
	}
	return s
}

func userVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := sqlite.RawDB(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
