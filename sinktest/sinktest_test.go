package sinktest_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/sinktest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRecorder(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		rec := new(sinktest.Recorder)
		return sinktest.Harness{Sink: rec, Delivered: rec.Events}
	})
}

// closable is a correct sink that can be closed, to run the Closed check.
type closable struct {
	sinktest.Recorder
	mu     sync.Mutex
	closed bool
}

var errClosed = errors.New("closable: closed")

func (c *closable) Publish(ctx context.Context, ev *event.Event) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errClosed
	}
	return c.Recorder.Publish(ctx, ev)
}

func (c *closable) Close(context.Context) error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}

func TestClosable(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		c := new(closable)
		return sinktest.Harness{Sink: c, Delivered: c.Events, Close: c.Close, ErrClosed: errClosed}
	})
}

// The broken sinks below each break one promise; TestSuiteCatches checks
// that the suite fails them, by running TestBrokenSink in a child process.

// keeper keeps the caller's pointer.
type keeper struct {
	mu  sync.Mutex
	evs []*event.Event
}

func (k *keeper) Enabled(context.Context, event.Type) bool { return true }
func (k *keeper) Publish(_ context.Context, ev *event.Event) error {
	if ev == nil {
		return sluice.ErrNilEvent
	}
	k.mu.Lock()
	k.evs = append(k.evs, ev)
	k.mu.Unlock()
	return nil
}
func (k *keeper) events() []event.Event {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]event.Event, len(k.evs))
	for i, ev := range k.evs {
		out[i] = *ev
	}
	return out
}

// numberer numbers the caller's event in place, as a careless log might.
type numberer struct{ sinktest.Recorder }

func (n *numberer) Publish(ctx context.Context, ev *event.Event) error {
	if ev != nil {
		ev.Seq = 1
	}
	return n.Recorder.Publish(ctx, ev)
}

// liar reports thinking deltas disabled but delivers them.
type liar struct{ sinktest.Recorder }

func (l *liar) Enabled(_ context.Context, t event.Type) bool { return t != event.TypeThinkingDelta }

// twice delivers every event twice.
type twice struct{ sinktest.Recorder }

func (w *twice) Publish(ctx context.Context, ev *event.Event) error {
	_ = w.Recorder.Publish(ctx, ev)
	return w.Recorder.Publish(ctx, ev)
}

// racy appends without a lock.
type racy struct{ evs []event.Event }

func (r *racy) Enabled(context.Context, event.Type) bool { return true }
func (r *racy) Publish(_ context.Context, ev *event.Event) error {
	if ev == nil {
		return sluice.ErrNilEvent
	}
	r.evs = append(r.evs, *ev)
	return nil
}

// dereferencer panics on a nil event.
type dereferencer struct{ sinktest.Recorder }

func (d *dereferencer) Publish(ctx context.Context, ev *event.Event) error {
	_ = ev.Type
	return d.Recorder.Publish(ctx, ev)
}

// plainErrors refuses invalid events and closed use with errors that wrap
// no sentinel.
type plainErrors struct{ closable }

func (p *plainErrors) Publish(ctx context.Context, ev *event.Event) error {
	if ev != nil && ev.Validate() != nil {
		return errors.New("bad event")
	}
	err := p.closable.Publish(ctx, ev)
	if errors.Is(err, errClosed) {
		return errors.New("closed")
	}
	return err
}

func broken() map[string]func(t *testing.T) sinktest.Harness {
	rec := func(s sluice.Sink, r *sinktest.Recorder) sinktest.Harness {
		return sinktest.Harness{Sink: s, Delivered: r.Events}
	}
	return map[string]func(t *testing.T) sinktest.Harness{
		"keeper": func(t *testing.T) sinktest.Harness {
			k := new(keeper)
			return sinktest.Harness{Sink: k, Delivered: k.events}
		},
		"numberer":     func(t *testing.T) sinktest.Harness { n := new(numberer); return rec(n, &n.Recorder) },
		"liar":         func(t *testing.T) sinktest.Harness { l := new(liar); return rec(l, &l.Recorder) },
		"twice":        func(t *testing.T) sinktest.Harness { w := new(twice); return rec(w, &w.Recorder) },
		"dereferencer": func(t *testing.T) sinktest.Harness { d := new(dereferencer); return rec(d, &d.Recorder) },
		"racy": func(t *testing.T) sinktest.Harness {
			r := new(racy)
			return sinktest.Harness{Sink: r, Delivered: func() []event.Event { return slices.Clone(r.evs) }}
		},
		"plainErrors": func(t *testing.T) sinktest.Harness {
			p := new(plainErrors)
			return sinktest.Harness{Sink: p, Delivered: p.Events, Close: p.Close, ErrClosed: errClosed}
		},
	}
}

const brokenEnv = "SINKTEST_BROKEN"

// TestBrokenSink runs the suite on the broken sink named by $SINKTEST_BROKEN,
// in the child process TestSuiteCatches starts; it must fail.
func TestBrokenSink(t *testing.T) {
	name := os.Getenv(brokenEnv)
	if name == "" {
		t.Skip("run by TestSuiteCatches")
	}
	sinktest.Run(t, broken()[name], sinktest.Concurrency(4, 20))
}

// TestSuiteCatches checks that the suite fails each broken sink in the
// check that covers the promise it breaks, and only there.
func TestSuiteCatches(t *testing.T) {
	cases := []struct {
		sink  string
		fails []string // the checks that must fail
		race  bool     // only the race detector catches it
	}{
		{sink: "keeper", fails: []string{"NoRetain"}},
		{sink: "numberer", fails: []string{"NoModify"}},
		{sink: "liar", fails: []string{"Enabled"}},
		{sink: "twice", fails: []string{"Enabled", "NoRetain", "Concurrent", "NilEvent", "InvalidEvent", "EndedContext"}},
		{sink: "dereferencer", fails: []string{"NilEvent"}},
		{sink: "racy", fails: []string{"Concurrent"}, race: true},
		{sink: "plainErrors", fails: []string{"InvalidEvent", "Closed"}},
	}
	if len(cases) != len(broken()) {
		t.Fatalf("%d cases for %d broken sinks", len(cases), len(broken()))
	}
	for _, c := range cases {
		t.Run(c.sink, func(t *testing.T) {
			if c.race && !raceEnabled {
				t.Skip("needs the race detector")
			}
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestBrokenSink$", "-test.v")
			cmd.Env = append(os.Environ(), brokenEnv+"="+c.sink)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) {
				t.Fatalf("the suite passed the broken sink (err %v):\n%s", err, out)
			}
			var failed []string
			for _, check := range []string{"Enabled", "NoModify", "NoRetain", "Concurrent", "NilEvent", "InvalidEvent", "EndedContext", "Closed"} {
				if strings.Contains(string(out), "--- FAIL: TestBrokenSink/"+check+" ") {
					failed = append(failed, check)
				}
			}
			if !slices.Equal(failed, c.fails) {
				t.Errorf("the checks %v failed, want %v; output:\n%s", failed, c.fails, out)
			}
		})
	}
}
