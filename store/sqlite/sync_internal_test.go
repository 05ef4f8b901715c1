package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store/internal/group"
)

// TestMergeKeepsAppendsSynchronous: a merge commits with synchronous
// NORMAL (it answers nobody, and the next commit's fsync covers it), and
// every append after it commits with the store's level again.
func TestMergeKeepsAppendsSynchronous(t *testing.T) {
	for _, c := range []struct {
		sync Synchronous
		want int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{Full, 2}, {Normal, 1}} {
		t.Run(string(c.sync), func(t *testing.T) {
			s, err := Open(t.Context(), filepath.Join(t.TempDir(), "sync.db"), WithSynchronous(c.sync), WithMerge(4, 2))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			level := func() int {
				t.Helper()
				var n int
				err := s.writer.Do(t.Context(), &group.Request{Job: func() error {
					return s.wconn.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&n)
				}})
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			merges := 0
			for i := range 40 {
				evs := []event.Event{event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: fmt.Sprintf("s%d", i%5)})}
				if err := s.Append(t.Context(), evs); err != nil {
					t.Fatal(err)
				}
				if got := level(); got != c.want {
					t.Fatalf("after append %d: synchronous %d, want %d", i, got, c.want)
				}
				if s.w.merging {
					merges++
				}
			}
			if merges == 0 {
				t.Fatal("no merge ran")
			}
		})
	}
}
