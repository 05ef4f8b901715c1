// Package runs keeps an agent run's lifecycle in the log right when the
// run's producer and its readers are different processes: after a restart
// of the process that produced it, or on nodes that share one log.
//
// A run is open in the log from its first event until its end (run.completed,
// run.stopped or run.failed). Three things keep that honest:
//
//   - One end per run. Every end of a run carries the same event ID, EndID
//     of the session and run, so the store (which stores an event ID once
//     per session) keeps the first end logged and takes every later one as
//     a duplicate: the producer completing, a stop asked on another node
//     and a reader closing the run as lost cannot log two ends, whoever
//     comes first. End logs one.
//   - A live producer shows it. Keep, held by the producer while its run
//     goes on, logs a run.heartbeat whenever the run's session has logged
//     nothing for a beat, so a run waiting on a slow tool or a slow model
//     still makes visible progress; and it cancels the run's context when
//     the run's end appears in the log from elsewhere (a stop from another
//     process, a close as lost), so a run stopped on another node stops.
//   - A reader tells a lost run from a quiet one. A run open in the log
//     whose session has logged nothing, not even a heartbeat, for a stale
//     time (Idle) has lost its producer: the process died, or was cut off
//     from the log. Watch waits for that and then closes the run with
//     Close: a run.failed with the code CodeLost, which keeps what the run
//     logged (its partial message) and ends every stream of it properly.
//
// The stale time must be longer than the beat (Keep's beat is a third of
// it in the handlers that use this package) and than the clock difference
// between the nodes: idleness compares the time of the session's last event,
// stamped by its producer's clock, with the reader's clock. A producer
// frozen for longer than the stale time (a suspended machine) finds its
// run closed when it wakes: Keep cancels its context, and what it logs
// afterwards comes after the run's end, which streams of the run ignore.
package runs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store"
)

// DefaultStaleAfter is how long a run's session may log nothing before a
// reader takes the run's producer for gone, unless a handler is told
// otherwise.
const DefaultStaleAfter = 30 * time.Second

// CodeLost is the error code of the run.failed that Close logs.
const CodeLost = "producer_lost"

// ErrInvalid reports a call without the session or run it needs.
var ErrInvalid = errors.New("runs: invalid argument")

// Owner returns the name of this process in the heartbeats it logs: host
// name and process ID.
func Owner() string { return owner }

var owner = func() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}()

// space is the UUID namespace of the runs' end IDs.
var space = uuid.MustParse("5d0c8f1e-6f0b-4d53-9a8e-2b7f3c1e9a40")

// EndID returns the ID that every end of the run carries (a name-based
// UUID of the session and the run), so that the log keeps one.
func EndID(session, run string) uuid.UUID {
	return uuid.NewSHA1(space, []byte(session+"\x00"+run))
}

// IsEnd reports whether t is the type of a run's end.
func IsEnd(t event.Type) bool {
	return t == event.TypeRunCompleted || t == event.TypeRunStopped || t == event.TypeRunFailed
}

func check(meta event.Meta) error {
	if meta.SessionID == "" || meta.RunID == "" {
		return fmt.Errorf("%w: meta needs a session and a run, got %q and %q", ErrInvalid, meta.SessionID, meta.RunID)
	}
	return nil
}

// End logs p, which must be a run.completed, run.stopped or run.failed, as
// the end of meta's run (meta needs SessionID and RunID): an event with
// EndID as its ID, which the store keeps only if the run has no end yet.
// An append that fails (a log away for a moment) is tried again, up to
// endTries times in all, each after a longer pause: the ID makes a repeat
// harmless, and a run whose end is not logged stays open to everyone
// waiting on it until a reader closes it as lost.
func End(ctx context.Context, h *hub.Hub, meta event.Meta, p event.Payload) error {
	if err := check(meta); err != nil {
		return err
	}
	if p == nil || !IsEnd(p.EventType()) {
		return fmt.Errorf("%w: a run ends with run.completed, run.stopped or run.failed, not %T", ErrInvalid, p)
	}
	ev := event.New(p, meta)
	ev.ID = EndID(meta.SessionID, meta.RunID)
	var err error
	for try := range endTries {
		e := ev // Publish sets its Seq
		if err = h.Publish(ctx, &e); err == nil || errors.Is(err, hub.ErrClosed) || errors.Is(err, hub.ErrNotDelivered) ||
			errors.Is(err, store.ErrInvalid) || ctx.Err() != nil {
			return err
		}
		if try == endTries-1 || !pause(ctx, endPause<<try) {
			break
		}
	}
	return err
}

// pause waits for d, or until ctx ends: it reports whether d passed.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// endTries and endPause bound End's tries: the pauses are endPause, twice
// that, four times that.
const (
	endTries = 4
	endPause = 50 * time.Millisecond
)

// Idle returns how long session has logged nothing by now: now minus the
// time of its last event (0 for a session with no event).
func Idle(ctx context.Context, st store.Store, session string, now time.Time) (time.Duration, error) {
	si, err := st.Session(ctx, session)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return max(now.Sub(si.Last), 0), nil
}

// Close ends meta's run as lost: a run.failed with the code CodeLost
// saying how long the session had been idle (see End).
func Close(ctx context.Context, h *hub.Hub, meta event.Meta, idle time.Duration) error {
	return End(ctx, h, meta, event.RunFailed{Error: event.Error{
		Message: fmt.Sprintf("the run's producer is gone: its session logged nothing for %s", idle.Round(time.Millisecond)),
		Code:    CodeLost, Kind: "lost", Retryable: true,
	}})
}

// Watch waits while meta's run is open in the log, until ctx ends: as soon
// as the run's session has logged nothing for staleAfter by now(), it
// closes the run as lost (Close) and returns. Call it for a run that no
// producer in this process holds (Keep), for as long as someone waits on
// the run; it returns ctx's error when ctx ends first. Closing a run that
// has ended already logs nothing (see End). A failure to read or append to
// the log (a store that is away for a while) is tried again a tenth of
// staleAfter later, so that a stream waiting on the run still ends; only
// a closed hub or store ends Watch with its error.
func Watch(ctx context.Context, h *hub.Hub, meta event.Meta, staleAfter time.Duration, now func() time.Time) error {
	if err := check(meta); err != nil {
		return err
	}
	if staleAfter <= 0 {
		return fmt.Errorf("%w: stale time %s", ErrInvalid, staleAfter)
	}
	for {
		idle, err := Idle(ctx, h.Store(), meta.SessionID, now())
		if err == nil && idle >= staleAfter {
			if err = Close(ctx, h, meta, idle); err == nil {
				return nil
			}
		}
		wait := staleAfter / 10
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, hub.ErrClosed) || errors.Is(err, store.ErrClosed):
			return err
		case err == nil:
			// Look again when the last event will be stale_after old; at
			// least a tenth of staleAfter later, so a producer's clock
			// ahead of ours does not make this spin.
			wait = max(staleAfter-idle, wait)
		}
		if !pause(ctx, wait) {
			return ctx.Err()
		}
	}
}

// Keep is held by a run's producer while the run goes on (see the package
// doc). It logs a run.heartbeat (with meta) whenever the run's session has
// logged nothing for beat, and it returns a context derived from ctx that
// is cancelled when an end of the run appears in the log after the cursor
// after (the session's sequence number before the run began): a stop
// logged by another process, a close as lost, or the producer's own End
// once the work is done. Call stop when the run is over (after its End):
// it stops the heartbeats and waits for Keep's goroutines.
func Keep(ctx context.Context, h *hub.Hub, meta event.Meta, after uint64, beat time.Duration) (run context.Context, stop func(), err error) {
	if err := check(meta); err != nil {
		return nil, nil, err
	}
	if beat <= 0 {
		return nil, nil, fmt.Errorf("%w: heartbeat interval %s", ErrInvalid, beat)
	}
	feed, err := h.Subscribe(hub.Selector{Session: meta.SessionID, Types: event.MustPattern("run.*")}, after)
	if err != nil {
		return nil, nil, err
	}
	run, cancel := context.WithCancel(ctx)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the run's end, logged by anyone
		defer wg.Done()
		defer feed.Close()
		for {
			it, err := feed.Next(run)
			if err != nil {
				return
			}
			if it.Event.Meta.RunID == meta.RunID && IsEnd(it.Event.Type) {
				cancel()
				return
			}
		}
	}()
	go func() { // the heartbeats
		defer wg.Done()
		t := time.NewTicker(beat)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			idle, err := Idle(run, h.Store(), meta.SessionID, time.Now())
			if err != nil || idle < beat {
				continue
			}
			ev := event.New(event.RunHeartbeat{Owner: owner}, meta)
			h.Publish(run, &ev) // a failed heartbeat is retried at the next beat
		}
	}()
	var once sync.Once
	return run, func() {
		once.Do(func() {
			close(quit)
			cancel()
			wg.Wait()
		})
	}, nil
}
