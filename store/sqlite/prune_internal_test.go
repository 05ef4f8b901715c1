package sqlite

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/internal/group"
)

// TestPruneChunks checks that retention removes at most a chunk per
// transaction, by count and then by age, and goes on until it is done.
func TestPruneChunks(t *testing.T) {
	now := time.Now()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "prune.db"), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, sess := range []string{"a", "b", "c"} {
		evs := make([]event.Event, 10)
		for i := range evs {
			evs[i] = event.New(event.TextDelta{Text: fmt.Sprint(i)}, event.Meta{SessionID: sess})
			evs[i].Time = now.Add(time.Duration(i-10) * time.Minute)
		}
		if err := s.Append(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
	}
	// By count: 8 from each session; by age (older than 90 s): one more
	// from each.
	r := store.Retention{MaxEvents: 2, MaxAge: 90 * time.Second}
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
	if total != 27 {
		t.Fatalf("removed %d events, want 27", total)
	}
	for _, sess := range []string{"a", "b", "c"} {
		info, err := s.Session(t.Context(), sess)
		if err != nil || info.Count != 1 || info.LastSeq != 10 || !info.First.Equal(now.Add(-time.Minute)) {
			t.Fatalf("session %s after retention: %+v, %v", sess, info, err)
		}
	}
}
