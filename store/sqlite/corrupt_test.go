package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/sqlite"
)

// filled creates a store with n events and closes it, returning its path.
func filled(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sluice.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]event.Event, 500)
	for done := 0; done < n; done += len(batch) {
		for i := range batch {
			batch[i] = event.New(event.TextDelta{Text: fmt.Sprintf("event %d of a test that fills pages", done+i)}, event.Meta{SessionID: fmt.Sprintf("s%d", i%7)})
		}
		if err := s.Append(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func wantCorrupt(t *testing.T, path string, opts ...sqlite.Option) {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, opts...)
	if err == nil {
		s.Close()
		t.Fatal("Open of a damaged database succeeded")
	}
	if !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Open: %v, want ErrCorrupt", err)
	}
	t.Logf("Open: %v", err)
}

func TestCorrupt(t *testing.T) {
	t.Run("garbage", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "garbage.db")
		b := make([]byte, 64<<10)
		r := rand.NewChaCha8([32]byte{1})
		r.Read(b)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		wantCorrupt(t, path)
	})
	t.Run("text file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "notes.txt")
		os.WriteFile(path, []byte("hello"), 0o600)
		wantCorrupt(t, path)
	})
	t.Run("overwritten header", func(t *testing.T) {
		path := filled(t, 2000)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt([]byte("this is not the header you are looking for, not at all....................................."), 0)
		f.Close()
		wantCorrupt(t, path)
	})
	t.Run("damaged page header", func(t *testing.T) {
		path := filled(t, 2000)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Page 1 holds the schema after the 100-byte file header.
		f.WriteAt([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 100)
		f.Close()
		wantCorrupt(t, path)
	})
	t.Run("truncated", func(t *testing.T) {
		path := filled(t, 5000)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
		wantCorrupt(t, path)
	})
	t.Run("damaged pages", func(t *testing.T) {
		path := filled(t, 5000)
		fi, _ := os.Stat(path)
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		junk := make([]byte, 64<<10)
		rand.NewChaCha8([32]byte{2}).Read(junk)
		f.WriteAt(junk, fi.Size()/3)
		f.Close()
		wantCorrupt(t, path, sqlite.WithIntegrityCheck())
		// Without the check, Open may succeed; reading then fails cleanly.
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			if !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("Open: %v", err)
			}
			return
		}
		defer s.Close()
		var last error
		for i := range 7 {
			for _, err := range s.Read(t.Context(), store.Query{Session: fmt.Sprintf("s%d", i)}) {
				if err != nil {
					last = err
				}
			}
		}
		if last != nil && !errors.Is(last, store.ErrCorrupt) {
			t.Fatalf("read of damaged pages: %v, want ErrCorrupt", last)
		}
	})
	t.Run("another application", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "other.db")
		db, err := sqlite.RawDB(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(context.Background(), "CREATE TABLE t(x)"); err != nil {
			t.Fatal(err)
		}
		db.Close()
		wantCorrupt(t, path)
	})
	t.Run("empty file is a new store", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "empty.db")
		os.WriteFile(path, nil, 0o600)
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	})
	t.Run("bad path", func(t *testing.T) {
		for _, p := range []string{"", "a?b", ":memory:"} {
			if _, err := sqlite.Open(t.Context(), p); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("Open(%q): %v, want ErrInvalid", p, err)
			}
		}
		if _, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "x.db"), sqlite.WithSynchronous("SOMETIMES")); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("bad synchronous: %v", err)
		}
	})
}
