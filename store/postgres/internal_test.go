package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/group"
)

// openInternal opens a store in a new schema of the test server, or skips.
func openInternal(t *testing.T, opts ...Option) (*Store, string) {
	t.Helper()
	dsn := os.Getenv("SLUICE_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("set SLUICE_TEST_POSTGRES to run the PostgreSQL tests")
	}
	schema := fmt.Sprintf("sluice_itest_%d_%x", os.Getpid(), rand.Uint64())
	s, err := Open(t.Context(), dsn, append([]Option{WithSchema(schema)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close()
		conn, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Error(err)
		}
	})
	return s, dsn
}

func events(sess string, n int) []event.Event {
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = event.New(event.TextDelta{Text: fmt.Sprint(i)}, event.Meta{SessionID: sess})
	}
	return evs
}

// TestPruneChunks checks that retention by count removes at most a chunk
// per transaction and goes on until it is done.
func TestPruneChunks(t *testing.T) {
	s, _ := openInternal(t)
	for _, sess := range []string{"a", "b", "c"} {
		if err := s.Append(t.Context(), events(sess, 10)); err != nil {
			t.Fatal(err)
		}
	}
	r := store.Retention{MaxEvents: 2, MaxAge: time.Hour}
	var total int64
	for i := 0; ; i++ {
		var n int64
		var more bool
		err := s.writer.Do(t.Context(), &group.Request{Job: func() (err error) {
			n, more, err = s.pruneOnce(r, 5)
			return err
		}})
		if err != nil {
			t.Fatal(err)
		}
		if n > 5 {
			t.Fatalf("one pass removed %d events, chunk 5", n)
		}
		total += n
		if !more {
			break
		}
		if i > 10 {
			t.Fatal("retention does not end")
		}
	}
	if total != 24 {
		t.Fatalf("removed %d events, want 24", total)
	}
	for _, sess := range []string{"a", "b", "c"} {
		info, err := s.Session(t.Context(), sess)
		if err != nil || info.Count != 2 || info.LastSeq != 10 {
			t.Fatalf("session %s after retention: %+v, %v", sess, info, err)
		}
	}
}

// holdLock takes the store's advisory lock from another connection, as a
// stuck process would, until the returned func is called.
func holdLock(t *testing.T, s *Store, dsn string) func() {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), "SELECT pg_advisory_lock($1)", s.lockKey); err != nil {
		t.Fatal(err)
	}
	return func() { conn.Close(context.Background()) }
}

// TestCommitTimeout: an append that cannot take the lock fails after
// commitTimeout, whatever its context says, and stores nothing.
func TestCommitTimeout(t *testing.T) {
	defer func(d time.Duration) { commitTimeout = d }(commitTimeout)
	commitTimeout = 300 * time.Millisecond
	s, dsn := openInternal(t)
	release := holdLock(t, s, dsn)
	start := time.Now()
	err := s.Append(context.Background(), events("t", 1))
	release()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Append behind a held lock: %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Append took %v", d)
	}
	if err := s.Append(t.Context(), events("t", 1)); err != nil {
		t.Fatal(err)
	}
	if info, err := s.Session(t.Context(), "t"); err != nil || info.LastSeq != 1 {
		t.Fatalf("after a timed-out append: %+v, %v", info, err)
	}
}

// TestCloseCancels: Close does not wait for good for a commit that cannot
// finish.
func TestCloseCancels(t *testing.T) {
	defer func(d time.Duration) { closeGrace = d }(closeGrace)
	closeGrace = 200 * time.Millisecond
	s, dsn := openInternal(t)
	release := holdLock(t, s, dsn)
	defer release()
	done := make(chan error, 1)
	go func() { done <- s.Append(context.Background(), events("c", 1)) }()
	time.Sleep(100 * time.Millisecond) // let the writer take it
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v behind a held lock", d)
	}
	if err := <-done; err == nil {
		t.Fatal("Append canceled by Close returned nil")
	} else {
		t.Logf("Append canceled by Close: %v", err)
	}
}
