package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-events/sluice/store/sqlite"
)

// BenchmarkEngine measures the SQLite engine alone, without Sluice: the
// rate at which it stores rows shaped like events (a 300-byte payload, a
// 16-byte ID), one row per session from 200 sessions per transaction, with
// multi-row INSERT statements of up to 128 rows as the store's writer
// sends them, under synchronous=FULL. It bounds what any layout that writes
// each event once can reach on a machine:
//
//   - layout=table: a table keyed by position, no other index (the least
//     an event can cost: the rows and the commit);
//   - layout=recent: the same table with the (session, seq) and (ID,
//     session) indexes that reading a session and exactly-once ingest need
//     (the store's recent tables);
//   - layout=clustered: a table clustered by (session, seq) with position,
//     time and ID indexes (the store's events table, where the writer
//     appended before the recent tables).
//
// One op is one event.
func BenchmarkEngine(b *testing.B) {
	const sessions, perInsert = 200, 128
	layouts := []struct{ name, ddl string }{
		{"table", `CREATE TABLE ev (pos INTEGER PRIMARY KEY, sid INTEGER NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, time INTEGER NOT NULL, id BLOB NOT NULL, data BLOB NOT NULL)`},
		{"recent", `CREATE TABLE ev (pos INTEGER PRIMARY KEY, sid INTEGER NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, time INTEGER NOT NULL, id BLOB NOT NULL, data BLOB NOT NULL);
CREATE UNIQUE INDEX ev_seq ON ev(sid, seq); CREATE INDEX ev_id ON ev(id, sid)`},
		{"recent-no-seq-index", `CREATE TABLE ev (pos INTEGER PRIMARY KEY, sid INTEGER NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, time INTEGER NOT NULL, id BLOB NOT NULL, data BLOB NOT NULL);
CREATE INDEX ev_id ON ev(id, sid)`},
		{"clustered", `CREATE TABLE ev (pos INTEGER NOT NULL, sid INTEGER NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, time INTEGER NOT NULL, id BLOB NOT NULL, data BLOB NOT NULL, PRIMARY KEY (sid, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX ev_pos ON ev(pos); CREATE INDEX ev_time ON ev(time); CREATE INDEX ev_id ON ev(id, sid)`},
	}
	data := []byte(strings.Repeat("x", 300))
	for _, l := range layouts {
		for _, capRows := range []int64{0, 4096} {
			b.Run(fmt.Sprintf("layout=%s/cap=%d", l.name, capRows), func(b *testing.B) {
				ctx := context.Background()
				db, err := sqlite.RawDB(filepath.Join(b.TempDir(), "engine.db"))
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				db.SetMaxOpenConns(1)
				if _, err := db.ExecContext(ctx, "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "+l.ddl); err != nil {
					b.Fatal(err)
				}
				stmt := func(rows int) *sql.Stmt {
					st, err := db.PrepareContext(ctx, "INSERT INTO ev (pos, sid, seq, type, time, id, data) VALUES "+strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?),", rows), ","))
					if err != nil {
						b.Fatal(err)
					}
					return st
				}
				full, rest := stmt(perInsert), stmt(sessions-perInsert)
				defer full.Close()
				defer rest.Close()
				var pos int64
				seqs := make([]int64, sessions)
				args := make([]any, 0, 7*perInsert)
				id := make([]byte, 16)
				b.ReportAllocs()
				b.ResetTimer()
				for done := 0; done < b.N; done += sessions {
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					for first := 0; first < sessions; first += perInsert {
						n := min(perInsert, sessions-first)
						args = args[:0]
						for s := first; s < first+n; s++ {
							pos++
							seqs[s]++
							// IDs grow, as UUIDv7 do: the position, then noise.
							for i := range 8 {
								id[i] = byte(pos >> (56 - 8*i))
							}
							for i := 8; i < 16; i++ {
								id[i] = byte(rand.Uint32())
							}
							args = append(args, pos, int64(s+1), seqs[s], "message.text.delta", pos, append([]byte(nil), id...), data)
						}
						st := full
						if n != perInsert {
							st = rest
						}
						if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
							b.Fatal(err)
						}
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
					if capRows > 0 && pos%capRows < sessions {
						if _, err := db.ExecContext(ctx, "DELETE FROM ev"); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}
