package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/sqlite"
)

// rawDB opens the store's file through a connection of its own.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sqlite.RawDB(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// rows counts the events in the events table and those in the recent
// tables that are not also in events (being merged).
func rows(t *testing.T, path string) (events, recent int) {
	t.Helper()
	db := rawDB(t, path)
	if err := db.QueryRowContext(t.Context(), `SELECT (SELECT count(*) FROM events),
		(SELECT count(*) FROM recent0 WHERE sid >= (SELECT value FROM meta WHERE key = 'merged0')) +
		(SELECT count(*) FROM recent1 WHERE sid >= (SELECT value FROM meta WHERE key = 'merged1'))`).Scan(&events, &recent); err != nil {
		t.Fatal(err)
	}
	return events, recent
}

// appendOne appends n events to sess, one per call, and returns them.
func appendOne(t *testing.T, s store.Store, sess string, n int) []event.Event {
	t.Helper()
	var out []event.Event
	for i := range n {
		evs := []event.Event{event.New(event.TextDelta{Text: fmt.Sprintf("%s %d", sess, i)}, event.Meta{SessionID: sess})}
		if err := s.Append(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
		out = append(out, evs[0])
	}
	return out
}

// settle waits until the writer has done what follows the last append
// (its merge step runs after the append is answered): a deletion is a job
// on the writer, which runs after everything queued before it.
func settle(t *testing.T, s store.Store) {
	t.Helper()
	if err := s.Delete(t.Context(), "no-such-session"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Delete of no session: %v", err)
	}
}

// readSession reads a whole session and checks that it holds want, in
// order, numbered from 1.
func readSession(t *testing.T, s store.Store, sess string, want []event.Event) {
	t.Helper()
	var got []event.Event
	for ev, err := range s.Read(t.Context(), store.Query{Session: sess}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
	}
	if len(got) != len(want) {
		t.Fatalf("session %s: read %d events, want %d", sess, len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID || got[i].Seq != uint64(i+1) {
			t.Fatalf("session %s: event %d is %s seq %d, want %s seq %d", sess, i, got[i].ID, got[i].Seq, want[i].ID, i+1)
		}
	}
}

// readLog reads the whole log and checks that it holds want, at positions
// 1, 2, 3, ….
func readLog(t *testing.T, s store.Store, want []event.Event) {
	t.Helper()
	var i int
	for e, err := range s.ReadAll(t.Context(), store.AllQuery{}) {
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) || e.Pos != uint64(i+1) || e.Event.ID != want[i].ID {
			t.Fatalf("ReadAll: entry %d is pos %d id %s; want %d entries", i, e.Pos, e.Event.ID, len(want))
		}
		i++
	}
	if i != len(want) {
		t.Fatalf("ReadAll: %d entries, want %d", i, len(want))
	}
}

// TestMerge: the writer appends to a recent table and moves it into
// events once it holds the merge threshold, in slices; reads see every
// event either way, a session's events spanning the tables included.
func TestMerge(t *testing.T) {
	for _, c := range []struct {
		at, slice          int64
		wantEvents, recent int // rows after 250 appends of one event; -1: any
	}{{100, 1 << 40, 200, 50}, {1 << 40, 1, 0, 250}, {1, 1 << 40, 250, 0}, {100, 30, -1, -1}, {9, 2, -1, -1}} {
		t.Run(fmt.Sprintf("at=%d/slice=%d", c.at, c.slice), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "merge.db")
			s := open(t, path, sqlite.WithMerge(c.at, c.slice), sqlite.WithSynchronous(sqlite.Normal))
			a := appendOne(t, s, "a", 150)
			b := appendOne(t, s, "b", 100)
			settle(t, s)
			ev, rec := rows(t, path)
			if ev+rec != 250 || c.wantEvents >= 0 && (ev != c.wantEvents || rec != c.recent) {
				t.Fatalf("events %d, recent %d; want %d, %d (250 in all)", ev, rec, c.wantEvents, c.recent)
			}
			t.Logf("events %d, recent %d", ev, rec)
			readSession(t, s, "a", a)
			readSession(t, s, "b", b)
			readLog(t, s, append(append([]event.Event(nil), a...), b...))
			// A read that starts in events and ends in recent, in pages.
			var got []uint64
			for e, err := range s.Read(t.Context(), store.Query{Session: "a", After: 90, Limit: 50}) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, e.Seq)
			}
			if len(got) != 50 || got[0] != 91 || got[49] != 140 {
				t.Fatalf("Read a after 90, limit 50: %d events, %v…", len(got), got[:min(3, len(got))])
			}
			// The same events again are recognized wherever they are.
			again := []event.Event{a[0], a[149], b[99]}
			if err := s.Append(t.Context(), again); err != nil {
				t.Fatal(err)
			}
			if again[0].Seq != 1 || again[1].Seq != 150 || again[2].Seq != 100 {
				t.Fatalf("appended again: seqs %d %d %d, want 1 150 100", again[0].Seq, again[1].Seq, again[2].Seq)
			}
			if ev2, rec2 := rows(t, path); ev2+rec2 != 250 {
				t.Fatalf("after appending duplicates: %d + %d rows, want 250", ev2, rec2)
			}
		})
	}
}

// TestMergeWhileReading: readers that run while the writer appends and
// merges all the time (a merge every 20 events, in slices of about 3)
// always see each session numbered 1, 2, 3, … without a gap or a repeat,
// and the log in position order without a gap.
func TestMergeWhileReading(t *testing.T) {
	path := filepath.Join(t.TempDir(), "merge.db")
	s := open(t, path, sqlite.WithMerge(20, 3), sqlite.WithSynchronous(sqlite.Normal))
	const sessions, per = 4, 150
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var writers, readers sync.WaitGroup
	for w := range sessions {
		writers.Go(func() {
			sess := fmt.Sprintf("s%d", w)
			for i := range per {
				evs := []event.Event{event.New(event.TextDelta{Text: fmt.Sprint(i)}, event.Meta{SessionID: sess})}
				if err := s.Append(ctx, evs); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var reads atomic.Int64
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		cancel()
	}
	for r := range 3 {
		readers.Go(func() {
			for ctx.Err() == nil {
				sess := fmt.Sprintf("s%d", r%sessions)
				var last uint64
				for e, err := range s.Read(ctx, store.Query{Session: sess}) {
					if err != nil {
						if !errors.Is(err, context.Canceled) {
							fail("Read: %v", err)
						}
						return
					}
					if e.Seq != last+1 {
						fail("session %s: seq %d after %d", sess, e.Seq, last)
						return
					}
					last = e.Seq
				}
				var pos uint64
				for e, err := range s.ReadAll(ctx, store.AllQuery{}) {
					if err != nil {
						if !errors.Is(err, context.Canceled) {
							fail("ReadAll: %v", err)
						}
						return
					}
					if e.Pos != pos+1 {
						fail("ReadAll: position %d after %d", e.Pos, pos)
						return
					}
					pos = e.Pos
				}
				reads.Add(1)
			}
		})
	}
	writers.Wait()
	cancel()
	readers.Wait()
	if reads.Load() == 0 {
		t.Fatal("no read finished")
	}
	for w := range sessions {
		info, err := s.Session(t.Context(), fmt.Sprintf("s%d", w))
		if err != nil || info.Count != per || info.LastSeq != per {
			t.Fatalf("session s%d: %+v, %v", w, info, err)
		}
	}
	if ev, rec := rows(t, path); ev+rec != sessions*per || rec >= 2*(20+sessions) {
		t.Fatalf("events %d, recent %d: want %d in all, recent below twice the threshold", ev, rec, sessions*per)
	}
	t.Logf("%d full reads", reads.Load())
}

// v1Schema is the schema of version 1 as the first builds created it.
const v1Schema = `
PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; PRAGMA application_id = 1399612261; PRAGMA user_version = 1;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta(key, value) VALUES ('last_pos', 0);
CREATE TABLE IF NOT EXISTS sessions (
	sid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, last_seq INTEGER NOT NULL,
	count INTEGER NOT NULL, first_time INTEGER NOT NULL, last_time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
	sid INTEGER NOT NULL, seq INTEGER NOT NULL, pos INTEGER NOT NULL, type TEXT NOT NULL,
	time INTEGER NOT NULL, id BLOB NOT NULL, data BLOB NOT NULL, PRIMARY KEY (sid, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS events_pos ON events(pos);
CREATE INDEX IF NOT EXISTS events_time ON events(time);
CREATE INDEX IF NOT EXISTS events_id ON events(id, sid);`

// TestMigrateV1: a database made by a build of schema version 1 opens,
// reads and appends, and is version 3 (the current one) afterwards, with
// the session's last position filled in.
func TestMigrateV1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db := rawDB(t, path)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, v1Schema); err != nil {
		t.Fatal(err)
	}
	old := make([]event.Event, 3)
	for i := range old {
		old[i] = event.New(event.TextDelta{Text: fmt.Sprintf("old %d", i)}, event.Meta{SessionID: "old"})
		data, err := old[i].AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO events(sid, seq, pos, type, time, id, data) VALUES (1, ?, ?, ?, ?, ?, ?)",
			i+1, i+1, string(old[i].Type), old[i].Time.UnixNano(), old[i].ID[:], data); err != nil {
			t.Fatal(err)
		}
		old[i].Seq = uint64(i + 1)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO sessions(sid, name, last_seq, count, first_time, last_time) VALUES (1, 'old', 3, 3, ?, ?);
		UPDATE meta SET value = 3 WHERE key = 'last_pos'`, old[0].Time.UnixNano(), old[2].Time.UnixNano()); err != nil {
		t.Fatal(err)
	}
	db.Close()

	for round := range 2 { // the second Open finds version 3
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		readSession(t, s, "old", old)
		again := []event.Event{old[1]}
		more := appendOne(t, s, "old", 1)
		if err := s.Append(ctx, again); err != nil || again[0].Seq != 2 {
			t.Fatalf("round %d: old event appended again: seq %d, %v; want 2", round, again[0].Seq, err)
		}
		if more[0].Seq != uint64(len(old)+1) {
			t.Fatalf("round %d: new event has seq %d, want %d", round, more[0].Seq, len(old)+1)
		}
		old = append(old, more...)
		readSession(t, s, "old", old)
		if head, err := s.Head(ctx); err != nil || head != uint64(len(old)) {
			t.Fatalf("round %d: Head %d, %v; want %d", round, head, err, len(old))
		}
		if info, err := s.Session(ctx, "old"); err != nil || info.LastPos != uint64(len(old)) {
			t.Fatalf("round %d: session %+v, %v; want last position %d", round, info, err, len(old))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var version int
	if err := rawDB(t, path).QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil || version != 4 {
		t.Fatalf("user_version %d, %v; want 4", version, err)
	}
}

// TestNewerSchema: a database of a schema version this build does not
// know is refused, not changed.
func TestNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	s := open(t, path)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := rawDB(t, path).ExecContext(t.Context(), "PRAGMA user_version = 5"); err != nil {
		t.Fatal(err)
	}
	wantCorrupt(t, path)
}

// TestDirect: a commit that holds several events of one session puts them
// into events directly (they fill pages of their own there), the others go
// to a recent table; a session read across both comes back in order, and
// so does the log.
func TestDirect(t *testing.T) {
	path := filepath.Join(t.TempDir(), "direct.db")
	s := open(t, path, sqlite.WithMerge(1<<40, 1), sqlite.WithSynchronous(sqlite.Normal))
	var all []event.Event // in position order
	var a []event.Event
	batch := func(n int, sessions ...string) {
		t.Helper()
		var evs []event.Event
		for range n {
			for _, sess := range sessions {
				evs = append(evs, event.New(event.TextDelta{Text: sess}, event.Meta{SessionID: sess}))
			}
		}
		if err := s.Append(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
		all = append(all, evs...)
		for _, e := range evs {
			if e.Meta.SessionID == "a" {
				a = append(a, e)
			}
		}
	}
	batch(10, "a")     // 10 direct
	batch(1, "a")      // 1 recent
	batch(1, "a", "b") // 2 recent
	batch(5, "a", "b") // 10 direct
	batch(1, "a")      // 1 recent
	batch(3, "a", "c") // 6 recent
	if ev, rec := rows(t, path); ev != 20 || rec != 10 {
		t.Fatalf("events %d, recent %d; want 20, 10", ev, rec)
	}
	readSession(t, s, "a", a)
	readLog(t, s, all)
}

// TestReopenMidMerge: a store closed while a recent table is half merged
// reads the same after reopening, and the writer finishes that merge.
func TestReopenMidMerge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mid.db")
	s := open(t, path, sqlite.WithMerge(50, 5), sqlite.WithSynchronous(sqlite.Normal))
	want := map[string][]event.Event{}
	for i := range 50 {
		sess := fmt.Sprintf("s%d", i%10)
		want[sess] = append(want[sess], appendOne(t, s, sess, 1)...)
	}
	settle(t, s)
	var merged int64
	if err := rawDB(t, path).QueryRowContext(t.Context(), "SELECT value FROM meta WHERE key = 'merged0'").Scan(&merged); err != nil || merged == 0 {
		t.Fatalf("merged0 = %d, %v: want a merge in progress", merged, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	for sess, evs := range want {
		readSession(t, s, sess, evs)
	}
	want["s0"] = append(want["s0"], appendOne(t, s, "s0", 1)...)
	settle(t, s)
	if ev, rec := rows(t, path); ev != 50 || rec != 1 {
		t.Fatalf("events %d, recent %d; want 50, 1 (the merge finished)", ev, rec)
	}
	for sess, evs := range want {
		readSession(t, s, sess, evs)
	}
}
