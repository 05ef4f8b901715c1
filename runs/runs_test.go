package runs_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/internal/servetest"
	"github.com/sluice-events/sluice/runs"
	"github.com/sluice-events/sluice/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var meta = event.Meta{SessionID: "s", RunID: "r1"}

// log returns the session's events as their types.
func log(t *testing.T, st store.Store) []event.Event {
	t.Helper()
	var out []event.Event
	for ev, err := range st.Read(context.Background(), store.Query{Session: "s"}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func start(t *testing.T, h *hub.Hub) {
	t.Helper()
	ev := event.New(event.RunStarted{}, meta)
	if err := h.Publish(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
}

// TestEnd: the first end of a run is the one logged; later ones, of any
// kind, are duplicates. Bad calls are refused.
func TestEnd(t *testing.T) {
	h, st := servetest.Hub(t)
	ctx := context.Background()
	start(t, h)
	if err := runs.End(ctx, h, meta, event.RunStopped{Reason: "stopped"}); err != nil {
		t.Fatal(err)
	}
	if err := runs.End(ctx, h, meta, event.RunCompleted{Status: "success"}); err != nil {
		t.Fatal(err)
	}
	if err := runs.Close(ctx, h, meta, time.Minute); err != nil {
		t.Fatal(err)
	}
	evs := log(t, st)
	if len(evs) != 2 || evs[1].Type != event.TypeRunStopped || evs[1].ID != runs.EndID("s", "r1") {
		t.Fatalf("log %+v", evs)
	}
	// Another run of the session has its own end.
	other := event.Meta{SessionID: "s", RunID: "r2"}
	if err := runs.End(ctx, h, other, event.RunCompleted{}); err != nil || len(log(t, st)) != 3 {
		t.Fatalf("End of r2: %v, log %d", err, len(log(t, st)))
	}
	for _, c := range []struct {
		meta event.Meta
		p    event.Payload
	}{{event.Meta{SessionID: "s"}, event.RunCompleted{}}, {meta, event.TextDelta{Text: "x"}}, {meta, nil}} {
		if err := runs.End(ctx, h, c.meta, c.p); !errors.Is(err, runs.ErrInvalid) {
			t.Errorf("End(%+v, %T) = %v, want ErrInvalid", c.meta, c.p, err)
		}
	}
}

// TestWatch: a run whose session has logged nothing for the stale time is
// closed as lost, once; a watch that ends first logs nothing.
func TestWatch(t *testing.T) {
	h, st := servetest.Hub(t)
	start(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runs.Watch(ctx, h, meta, time.Hour, time.Now) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) || len(log(t, st)) != 1 {
		t.Fatalf("Watch ended by its context: %v, log %+v", err, log(t, st))
	}
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	for range 2 {
		if err := runs.Watch(context.Background(), h, meta, time.Hour, later); err != nil {
			t.Fatal(err)
		}
	}
	evs := log(t, st)
	if len(evs) != 2 {
		t.Fatalf("log %+v", evs)
	}
	p, ok := evs[1].Payload.(event.RunFailed)
	if !ok || p.Error.Code != runs.CodeLost {
		t.Fatalf("end %+v", evs[1])
	}
	// Real time: the run is closed once it has been idle for the stale time.
	m := event.Meta{SessionID: "s", RunID: "r3"}
	ev := event.New(event.RunStarted{}, m)
	h.Publish(context.Background(), &ev)
	if err := runs.Watch(context.Background(), h, m, 50*time.Millisecond, time.Now); err != nil {
		t.Fatal(err)
	}
	if evs := log(t, st); evs[len(evs)-1].ID != runs.EndID("s", "r3") {
		t.Fatalf("r3 not closed: %+v", evs[len(evs)-1])
	}
	if err := runs.Watch(context.Background(), h, m, 0, time.Now); !errors.Is(err, runs.ErrInvalid) {
		t.Fatalf("Watch with no stale time: %v", err)
	}
}

// TestKeep: a quiet run gets heartbeats; its context is cancelled when
// its end is logged by someone else; stop waits for Keep's goroutines.
func TestKeep(t *testing.T) {
	h, _ := servetest.Hub(t)
	start(t, h)
	run, stop, err := runs.Keep(context.Background(), h, meta, 0, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	f, err := h.Subscribe(hub.Selector{Session: "s", Types: event.MustPattern("run.heartbeat")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 2 {
		it, err := f.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p := it.Event.Payload.(event.RunHeartbeat); p.Owner != runs.Owner() || it.Event.Meta.RunID != "r1" {
			t.Fatalf("heartbeat %+v", it.Event)
		}
	}
	if run.Err() != nil {
		t.Fatal("the run was cancelled by its heartbeats")
	}
	runs.End(context.Background(), h, meta, event.RunStopped{Reason: "stopped elsewhere"})
	select {
	case <-run.Done():
	case <-ctx.Done():
		t.Fatal("the run's context was not cancelled by its end")
	}
	stop()
	stop() // idempotent
	if _, _, err := runs.Keep(context.Background(), h, meta, 0, 0); !errors.Is(err, runs.ErrInvalid) {
		t.Fatalf("Keep with no beat: %v", err)
	}
}

func TestIdle(t *testing.T) {
	h, st := servetest.Hub(t)
	if d, err := runs.Idle(context.Background(), st, "none", time.Now()); d != 0 || err != nil {
		t.Fatalf("Idle of no session = %s, %v", d, err)
	}
	start(t, h)
	if d, err := runs.Idle(context.Background(), st, "s", time.Now().Add(time.Hour)); d < time.Hour-time.Second || err != nil {
		t.Fatalf("Idle = %s, %v", d, err)
	}
}

// flaky is a store whose Session fails its first fails calls, as a log
// that is away for a moment.
type flaky struct {
	store.Store
	fails atomic.Int32
}

func (f *flaky) Session(ctx context.Context, id string) (store.SessionInfo, error) {
	if f.fails.Add(-1) >= 0 {
		return store.SessionInfo{}, errors.New("the log is away")
	}
	return f.Store.Session(ctx, id)
}

// TestWatchOutlivesStoreErrors: Watch tries again after a failed read of
// the log, closes the lost run once the log answers, and ends with the
// hub's error once the hub is closed.
func TestWatchOutlivesStoreErrors(t *testing.T) {
	_, mem := servetest.Hub(t)
	st := &flaky{Store: mem}
	st.fails.Store(3)
	h := servetest.HubOver(t, st)
	start(t, h)
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := runs.Watch(context.Background(), h, meta, 50*time.Millisecond, later); err != nil {
		t.Fatalf("Watch over a log away for three reads: %v", err)
	}
	if st.fails.Load() >= 0 {
		t.Fatalf("Watch closed the run without reading the log (%d failures left)", st.fails.Load())
	}
	if evs := log(t, mem); len(evs) != 2 || evs[1].ID != runs.EndID(meta.SessionID, meta.RunID) {
		t.Fatalf("log %+v", evs)
	}
	m := event.Meta{SessionID: "s", RunID: "r9"}
	ev := event.New(event.RunStarted{}, m)
	if err := h.Publish(context.Background(), &ev); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := runs.Watch(context.Background(), h, m, 50*time.Millisecond, later); !errors.Is(err, hub.ErrClosed) {
		t.Fatalf("Watch over a closed hub: %v, want hub.ErrClosed", err)
	}
}

// failingAppends is a store whose appends fail while fails is positive.
type failingAppends struct {
	store.Store
	fails atomic.Int32
}

func (f *failingAppends) Append(ctx context.Context, events []event.Event) error {
	if f.fails.Add(-1) >= 0 {
		return errors.New("the log is away")
	}
	return f.Store.Append(ctx, events)
}

// TestEndTriesAgain: End logs the run's end through a log that refuses
// the first two appends, and gives up, with the store's error, on one
// that refuses more than its tries.
func TestEndTriesAgain(t *testing.T) {
	_, mem := servetest.Hub(t)
	st := &failingAppends{Store: mem}
	h := servetest.HubOver(t, st)
	start(t, h)
	st.fails.Store(2)
	if err := runs.End(context.Background(), h, meta, event.RunCompleted{Status: "success"}); err != nil {
		t.Fatalf("End over a log away for two appends: %v", err)
	}
	if evs := log(t, mem); len(evs) != 2 || evs[1].ID != runs.EndID(meta.SessionID, meta.RunID) {
		t.Fatalf("log %+v", evs)
	}
	m := event.Meta{SessionID: "s", RunID: "r8"}
	st.fails.Store(100)
	if err := runs.End(context.Background(), h, m, event.RunCompleted{Status: "success"}); err == nil || st.fails.Load() != 96 {
		t.Fatalf("End over a log that stays away: %v after %d tries, want an error after 4", err, 100-st.fails.Load())
	}
}
