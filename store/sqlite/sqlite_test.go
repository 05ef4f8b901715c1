package sqlite_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/sqlite"
	"github.com/sluice-events/sluice/store/storetest"
)

func TestMain(m *testing.M) {
	if crashChild() {
		return
	}
	goleak.VerifyTestMain(m)
}

func open(t *testing.T, path string, opts ...sqlite.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestConformance runs the suite with the default merge thresholds, with
// every event left in the recent tables (never merged but by retention),
// with a whole merge after every commit (every event in events), and with
// merges every 7 events in slices of 2, so that a session's events are
// spread over the three tables.
func TestConformance(t *testing.T) {
	for _, m := range []struct {
		name      string
		at, slice int64
	}{{"merge=default", 0, 0}, {"merge=never", 1 << 40, 1}, {"merge=always", 1, 1 << 40}, {"merge=sliced", 7, 2}} {
		t.Run(m.name, func(t *testing.T) {
			var opts []sqlite.Option
			if m.at > 0 {
				opts = append(opts, sqlite.WithMerge(m.at, m.slice))
			}
			storetest.Run(t, func(t *testing.T, c store.Config) store.Store {
				return open(t, filepath.Join(t.TempDir(), "sluice.db"), append(opts,
					sqlite.WithRetention(c.Retention), sqlite.WithClock(c.Clock), sqlite.WithLogger(c.Logger))...)
			}, storetest.WithReopen(func(t *testing.T, closed store.Store) store.Store {
				return open(t, closed.(*sqlite.Store).Path(), opts...)
			}), storetest.WithRewrite(rewrite), storetest.WithLegacyReopen(legacyReopen))
		})
	}
}

// rewrite changes a row through a connection of its own.
func rewrite(t *testing.T, st store.Store, sess string, seq uint64, data []byte) {
	t.Helper()
	db, err := sqlite.RawDB(st.(*sqlite.Store).Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The event is in one of the tables (or two, while being merged), and
	// the writer may move it after answering: look in one transaction.
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int64
	for _, table := range []string{"events", "recent0", "recent1"} {
		res, err := tx.ExecContext(t.Context(), "UPDATE "+table+" SET data = ? WHERE sid = (SELECT sid FROM sessions WHERE name = ?) AND seq = ?", data, sess, int64(seq))
		if err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		k, _ := res.RowsAffected()
		n += k
	}
	if n == 0 {
		t.Fatalf("rewrite: no event %s/%d", sess, seq)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("rewrite: %v", err)
	}
}

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	for name, opt := range map[string]sqlite.Option{
		"nil option":         nil,
		"max batch 0":        sqlite.WithMaxBatch(0),
		"max batch -1":       sqlite.WithMaxBatch(-1),
		"readers 0":          sqlite.WithReaders(0),
		"synchronous":        sqlite.WithSynchronous("OFF"),
		"nil clock":          sqlite.WithClock(nil),
		"nil logger":         sqlite.WithLogger(nil),
		"negative retention": sqlite.WithRetention(store.Retention{MaxEvents: -1}),
	} {
		s, err := sqlite.Open(t.Context(), filepath.Join(dir, "opts.db"), opt)
		if err == nil {
			s.Close()
			t.Fatalf("Open with %s succeeded", name)
		}
		if !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("Open with %s: %v, want ErrInvalid", name, err)
		}
		t.Logf("%s: %v", name, err)
	}
	s := open(t, filepath.Join(dir, "ok.db"), sqlite.WithMaxBatch(1), sqlite.WithReaders(1),
		sqlite.WithLogger(slog.New(slog.DiscardHandler)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestReadRacingClose: a read that races Close fails with ErrClosed, not
// with a driver error.
func TestReadRacingClose(t *testing.T) {
	for range 5 {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "race.db"), sqlite.WithSynchronous(sqlite.Normal))
		if err != nil {
			t.Fatal(err)
		}
		evs := make([]event.Event, 1500)
		for i := range evs {
			evs[i] = event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: "s"})
		}
		if err := s.Append(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for range 4 {
			wg.Go(func() {
				for {
					for _, err := range s.Read(context.Background(), store.Query{Session: "s"}) {
						if err != nil {
							errs <- err
							return
						}
					}
				}
			})
		}
		time.Sleep(time.Millisecond)
		s.Close()
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, store.ErrClosed) {
				t.Fatalf("read racing Close: %v, want ErrClosed", err)
			}
		}
	}
}
