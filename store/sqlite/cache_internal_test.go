package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/store/internal/group"
)

// TestWriterForgetsAfterJob: the writer keeps the sessions it read between
// commits, and forgets them when a job ran on the writer, which may have
// changed the rows behind them (here: a session deleted outright).
func TestWriterForgetsAfterJob(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	add := func(want uint64) {
		t.Helper()
		evs := []event.Event{event.New(event.TextDelta{Text: "x"}, event.Meta{SessionID: "a"})}
		if err := s.Append(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
		if evs[0].Seq != want {
			t.Fatalf("seq %d, want %d", evs[0].Seq, want)
		}
	}
	add(1)
	add(2)
	err = s.writer.Do(t.Context(), &group.Request{Job: func() error {
		_, err := s.wconn.ExecContext(t.Context(), "DELETE FROM events; DELETE FROM recent0; DELETE FROM recent1; DELETE FROM sessions")
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	add(1)
	info, err := s.Session(t.Context(), "a")
	if err != nil || info.Count != 1 || info.LastSeq != 1 {
		t.Fatalf("Session after delete and append: %+v, %v", info, err)
	}
}
