package sqlite_test

import (
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

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

func open(t *testing.T, path string, opts ...store.Option) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts ...store.Option) store.Store {
		return open(t, filepath.Join(t.TempDir(), "sluice.db"), opts...)
	}, storetest.Reopen(func(t *testing.T, closed store.Store) store.Store {
		return open(t, closed.(*sqlite.Store).Path())
	}))
}
