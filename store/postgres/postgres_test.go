package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

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

func open(tb testing.TB, dsn, schema string, opts ...store.Option) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(context.Background(), dsn, append([]store.Option{postgres.WithSchema(schema)}, opts...)...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	dsn := testDSN(t)
	storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store {
		return open(t, dsn, freshSchema(t, dsn), opts...)
	}, storetest.Reopen(func(t *testing.T, closed store.Store) store.Store {
		return open(t, dsn, closed.(*postgres.Store).Schema())
	}))
}
