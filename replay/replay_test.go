package replay_test

import (
	"context"
	"errors"
	"iter"
	"math"
	"testing"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/replay"
)

// timed makes events at the given offsets from a start time.
func timed(offsets ...time.Duration) []event.Event {
	start := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	var out []event.Event
	for i, off := range offsets {
		src := event.Source{Now: func() time.Time { return start.Add(off) }}
		ev := src.New(event.TextDelta{Offset: int64(i), Text: "x"}, event.Meta{SessionID: "s"})
		ev.Seq = uint64(i + 1)
		out = append(out, ev)
	}
	return out
}

func seq(evs []event.Event, failAt int) iter.Seq2[event.Event, error] {
	return func(yield func(event.Event, error) bool) {
		for i, ev := range evs {
			if i == failAt {
				yield(event.Event{}, errors.New("disk on fire"))
				return
			}
			if !yield(ev, nil) {
				return
			}
		}
	}
}

type collect struct{ evs []event.Event }

func (c *collect) Enabled(context.Context, event.Type) bool { return true }
func (c *collect) Publish(_ context.Context, ev *event.Event) error {
	c.evs = append(c.evs, *ev)
	return nil
}

var _ sluice.Sink = (*collect)(nil)

func TestPausesFollowSpeed(t *testing.T) {
	evs := timed(0, 100*time.Millisecond, 100*time.Millisecond, 1100*time.Millisecond, 61*time.Second)
	for _, c := range []struct {
		name string
		opts []replay.Option
		want []time.Duration
	}{
		{"real time", []replay.Option{replay.WithSpeed(1)}, []time.Duration{100 * time.Millisecond, time.Second, 59900 * time.Millisecond}},
		{"twice as fast", []replay.Option{replay.WithSpeed(2)}, []time.Duration{50 * time.Millisecond, 500 * time.Millisecond, 29950 * time.Millisecond}},
		{"capped", []replay.Option{replay.WithSpeed(1), replay.WithMaxGap(2 * time.Second)}, []time.Duration{100 * time.Millisecond, time.Second, 2 * time.Second}},
		{"no pauses", nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var slept []time.Duration
			sleep := func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
			sink := &collect{}
			if err := replay.Run(context.Background(), seq(evs, -1), sink, append(c.opts, replay.WithSleep(sleep))...); err != nil {
				t.Fatal(err)
			}
			if len(sink.evs) != len(evs) {
				t.Fatalf("published %d of %d", len(sink.evs), len(evs))
			}
			for i := range evs {
				if sink.evs[i].ID != evs[i].ID || sink.evs[i].Seq != evs[i].Seq {
					t.Errorf("event %d changed", i)
				}
			}
			if len(slept) != len(c.want) {
				t.Fatalf("slept %v, want %v", slept, c.want)
			}
			for i := range c.want {
				if slept[i] != c.want[i] {
					t.Errorf("pause %d = %v, want %v", i, slept[i], c.want[i])
				}
			}
		})
	}
}

func TestErrorsStopTheReplay(t *testing.T) {
	evs := timed(0, time.Millisecond, 2*time.Millisecond)
	sink := &collect{}
	err := replay.Run(context.Background(), seq(evs, 2), sink)
	if err == nil || len(sink.evs) != 2 {
		t.Errorf("iterator error: %v after %d events", err, len(sink.evs))
	}
	boom := errors.New("sink full")
	failing := sluice.SinkFunc(func(context.Context, *event.Event) error { return boom })
	if err := replay.Run(context.Background(), seq(evs, -1), failing); !errors.Is(err, boom) {
		t.Errorf("sink error: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := replay.Run(ctx, seq(evs, -1), &collect{}, replay.WithSpeed(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
	for _, sp := range []float64{-1, math.NaN(), math.Inf(1)} {
		if err := replay.Run(context.Background(), seq(evs, -1), &collect{}, replay.WithSpeed(sp)); !errors.Is(err, replay.ErrSpeed) {
			t.Errorf("speed %v: %v", sp, err)
		}
	}
	for name, opt := range map[string]replay.Option{
		"nil option":       nil,
		"negative max gap": replay.WithMaxGap(-time.Second),
		"nil sleep":        replay.WithSleep(nil),
		"negative speed":   replay.WithSpeed(-1),
	} {
		if err := replay.Run(context.Background(), seq(evs, -1), &collect{}, opt); !errors.Is(err, replay.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if err := replay.Run(context.Background(), seq(evs, -1), nil); !errors.Is(err, replay.ErrNilSink) {
		t.Errorf("nil sink: %v", err)
	}
	var slept time.Duration
	sleepy := replay.WithSleep(func(_ context.Context, d time.Duration) error { slept = d; return nil })
	if err := replay.Run(context.Background(), seq(timed(0, time.Hour), -1), &collect{}, replay.WithSpeed(1e-300), sleepy); err != nil || slept <= 0 {
		t.Errorf("tiny speed: slept %v, %v", slept, err)
	}
}

func TestRealSleep(t *testing.T) {
	evs := timed(0, 30*time.Millisecond)
	start := time.Now()
	if err := replay.Run(context.Background(), seq(evs, -1), &collect{}, replay.WithSpeed(1)); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 30*time.Millisecond {
		t.Error("replay at speed 1 did not pause")
	}
}
