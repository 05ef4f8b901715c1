package sqlite_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluice-events/sluice/event"
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
		"DROP INDEX sessions_activity",
		"ALTER TABLE sessions DROP COLUMN activity",
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
	if v := userVersion(t, path); v != 4 {
		t.Fatalf("user_version after Open = %d, want 4", v)
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

// TestMigrateActivity opens a database of schema version 3 (sessions
// indexed by last_pos) whose sessions' last events lie in three activity
// groups: the listing by activity is unchanged, pages visit every session
// once, appends move sessions to the front, and the index on last_pos has
// given way to the one on activity.
func TestMigrateActivity(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "v3.db")
	s := open(t, path)
	appendTo := func(sess string, n int) {
		for i := 0; i < n; i += 1000 {
			evs := make([]event.Event, min(1000, n-i))
			for j := range evs {
				evs[j] = event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: sess})
			}
			if err := s.Append(ctx, evs); err != nil {
				t.Fatal(err)
			}
		}
	}
	// a 1, b 20,002, c 20,003, filler 40,003, d 40,004.
	appendTo("a", 1)
	appendTo("filler", 20000)
	appendTo("b", 1)
	appendTo("c", 1)
	appendTo("filler", 20000)
	appendTo("d", 1)
	want := []string{"d", "filler", "c", "b", "a"}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	for _, q := range []string{
		"DROP INDEX sessions_activity",
		"ALTER TABLE sessions DROP COLUMN activity",
		"CREATE INDEX sessions_last_pos ON sessions(last_pos)",
		"PRAGMA user_version = 3",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s = open(t, path)
	if v := userVersion(t, path); v != 4 {
		t.Fatalf("user_version after Open = %d, want 4", v)
	}
	list := func(limit int) []string {
		var ids []string
		for _, si := range listSessions(t, "after the migration", s, store.SessionQuery{Order: store.ByActivity, Limit: limit}, len(want)+1) {
			ids = append(ids, si.ID)
		}
		return ids
	}
	for _, limit := range []int{0, 1, 2} {
		if got := list(limit); !slices.Equal(got, want) {
			t.Fatalf("ByActivity in pages of %d after the migration = %q, want %q", limit, got, want)
		}
	}
	appendTo("a", 1)
	appendTo("c", 1)
	if got, want := list(2), []string{"c", "a", "d", "filler", "b"}; !slices.Equal(got, want) {
		t.Fatalf("ByActivity after appends to a and c = %q, want %q", got, want)
	}
	// What the listing cannot show: every session's activity group is
	// that of its last position (a group left at 0 would list in the same
	// order, sorting every session at once), and the index is there.
	if n := staleActivity(t, path); n != 0 {
		t.Fatalf("sessions whose activity is not last_pos >> 14: %d", n)
	}
	var idx []string
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'sessions' AND sql IS NOT NULL ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		idx = append(idx, n)
	}
	if err := rows.Err(); err != nil || !slices.Equal(idx, []string{"sessions_activity"}) {
		t.Fatalf("indexes of sessions: %q, %v; want [sessions_activity]", idx, err)
	}
}
