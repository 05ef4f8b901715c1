package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/postgres"
	"github.com/sluice-events/sluice/store/storetest"
)

const dsnEnv = "SLUICE_TEST_POSTGRES"

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testDSN returns the test server's DSN or skips the test.
func testDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(dsnEnv)
	if dsn == "" {
		tb.Skip("set " + dsnEnv + " (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL tests")
	}
	return dsn
}

// freshSchema returns a new schema name and drops the schema when the test
// ends.
func freshSchema(tb testing.TB, dsn string) string {
	tb.Helper()
	name := fmt.Sprintf("sluice_test_%d_%x", os.Getpid(), rand.Uint64())
	tb.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

func open(tb testing.TB, dsn, schema string, opts ...postgres.Option) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), dsn, append([]postgres.Option{postgres.WithSchema(schema)}, opts...)...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	dsn := testDSN(t)
	storetest.Run(t, func(t *testing.T, c store.Config) store.Store {
		return open(t, dsn, freshSchema(t, dsn),
			postgres.WithRetention(c.Retention), postgres.WithClock(c.Clock), postgres.WithLogger(c.Logger))
	}, storetest.WithReopen(func(t *testing.T, closed store.Store) store.Store {
		return open(t, dsn, closed.(*postgres.Store).Schema())
	}), storetest.WithLegacyReopen(legacyReopen), storetest.WithRewrite(func(t *testing.T, st store.Store, sess string, seq uint64, data []byte) {
		s := st.(*postgres.Store)
		tag, err := s.Pool().Exec(t.Context(), "UPDATE "+pgx.Identifier{s.Schema(), "events"}.Sanitize()+" SET data = $1 WHERE session = $2 AND seq = $3", data, sess, int64(seq))
		if err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		if tag.RowsAffected() != 1 {
			t.Fatalf("rewrite: no event %s/%d", sess, seq)
		}
	}))
}

// TestOptions needs no server: Open refuses bad options before it
// connects.
func TestOptions(t *testing.T) {
	for name, opt := range map[string]postgres.Option{
		"nil option":         nil,
		"max batch 0":        postgres.WithMaxBatch(0),
		"max batch -1":       postgres.WithMaxBatch(-1),
		"empty schema":       postgres.WithSchema(""),
		"long schema":        postgres.WithSchema(strings.Repeat("s", 64)),
		"nil clock":          postgres.WithClock(nil),
		"nil logger":         postgres.WithLogger(nil),
		"negative retention": postgres.WithRetention(store.Retention{MaxAge: -1}),
	} {
		s, err := postgres.Open(t.Context(), "postgres://nowhere.invalid/x?connect_timeout=1", opt)
		if err == nil {
			s.Close()
			t.Fatalf("Open with %s succeeded", name)
		}
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("Open with %s: %v, want ErrInvalid", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
}

// TestWatch: Watch reports appends made through another store on the same
// schema (another process), and ends with its context.
func TestWatch(t *testing.T) {
	dsn := testDSN(t)
	schema := freshSchema(t, dsn)
	a, b := open(t, dsn, schema), open(t, dsn, schema)
	ctx, cancel := context.WithCancel(context.Background())
	calls := make(chan struct{}, 16)
	done := make(chan error, 1)
	go func() {
		done <- b.Watch(ctx, func() {
			select {
			case calls <- struct{}{}:
			default:
			}
		})
	}()
	wait := func(what string) {
		t.Helper()
		select {
		case <-calls:
		case <-time.After(5 * time.Second):
			t.Fatalf("no call of fn %s within 5s", what)
		}
	}
	wait("at the start")
	for i := range 3 {
		if err := a.Append(ctx, []event.Event{event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: "w"})}); err != nil {
			t.Fatal(err)
		}
		wait(fmt.Sprintf("after append %d", i+1))
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Watch after cancel: %v", err)
	}
}

// legacyReopen turns the schema of a closed store back into the layout of
// schema version 1, before sessions.last_pos and sessions.activity, and
// opens it again (storetest.WithLegacyReopen), which migrates it through
// version 2 to 3.
func legacyReopen(t *testing.T, closed store.Store) store.Store {
	t.Helper()
	dsn, schema := testDSN(t), closed.(*postgres.Store).Schema()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	sch := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(t.Context(), "DROP INDEX "+sch+".sessions_activity, "+sch+".sessions_session_c; ALTER TABLE "+sch+".sessions DROP COLUMN activity, DROP COLUMN last_pos, RESET (fillfactor); UPDATE "+sch+".meta SET value = 1 WHERE key = 'version'"); err != nil {
		t.Fatal(err)
	}
	s := open(t, dsn, schema)
	var version int64
	if err := conn.QueryRow(t.Context(), "SELECT value FROM "+sch+".meta WHERE key = 'version'").Scan(&version); err != nil || version != 3 {
		t.Fatalf("schema version after Open = %d, %v; want 3", version, err)
	}
	rows, _ := conn.Query(t.Context(), "SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = 'sessions' ORDER BY indexname", schema)
	indexes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(indexes, ","), "sessions_activity,sessions_pkey,sessions_session_c"; got != want {
		t.Fatalf("indexes of sessions after the migration: %s; want %s", got, want)
	}
	return s
}
