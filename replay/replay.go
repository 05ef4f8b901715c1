// Package replay plays stored events back into any sink: as fast as
// possible, in real time, or at a chosen speed, keeping the original pauses
// between events.
//
//	events := st.Read(ctx, store.Query{Session: "sess-1"})
//	p, _ := printer.Text(os.Stdout)
//	err := replay.Run(ctx, events, p, replay.Speed(2))
package replay

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// ErrSpeed reports a speed that is negative, infinite or not a number.
var ErrSpeed = errors.New("replay: speed must be a finite number, 0 or more")

// ErrNilSink reports a nil sink.
var ErrNilSink = errors.New("replay: nil sink")

type options struct {
	speed  float64
	maxGap time.Duration
	sleep  func(ctx context.Context, d time.Duration) error
}

// Option configures Run.
type Option func(*options)

// Speed sets the pace: 1 keeps the original pauses between events, 2 halves
// them, 0.5 doubles them, and 0 (the default) replays as fast as the sink
// takes events.
func Speed(s float64) Option { return func(o *options) { o.speed = s } }

// MaxGap caps each pause (after scaling by the speed), so that an idle hour
// in a session does not stall a replay. Zero means no cap.
func MaxGap(d time.Duration) Option { return func(o *options) { o.maxGap = d } }

// WithSleep replaces the function that waits between events, for tests.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(o *options) { o.sleep = sleep }
}

// Run publishes every event of events to sink, in order, pausing between
// two events for the time between them divided by the speed. It stops at
// the first error of the iterator, of the sink, or of ctx, and returns it;
// events published before that stay published. The iterator's events are
// published as they are, with their IDs, times and sequence numbers.
func Run(ctx context.Context, events iter.Seq2[event.Event, error], sink sluice.Sink, opts ...Option) error {
	o := options{sleep: sleep}
	for _, opt := range opts {
		opt(&o)
	}
	if !(o.speed >= 0) || math.IsInf(o.speed, 1) {
		return fmt.Errorf("%w, got %v", ErrSpeed, o.speed)
	}
	if sink == nil {
		return ErrNilSink
	}
	var prev time.Time
	n := 0
	for ev, err := range events {
		if err != nil {
			return fmt.Errorf("replay: after %d events: %w", n, err)
		}
		if o.speed > 0 && !prev.IsZero() {
			if gap := ev.Time.Sub(prev); gap > 0 {
				d := time.Duration(math.MaxInt64)
				if f := float64(gap) / o.speed; f < float64(math.MaxInt64) {
					d = time.Duration(f)
				}
				if o.maxGap > 0 && d > o.maxGap {
					d = o.maxGap
				}
				if err := o.sleep(ctx, d); err != nil {
					return fmt.Errorf("replay: after %d events: %w", n, err)
				}
			}
		}
		prev = ev.Time
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("replay: after %d events: %w", n, err)
		}
		if sink.Enabled(ctx, ev.Type) {
			if err := sink.Publish(ctx, &ev); err != nil {
				return fmt.Errorf("replay: event %d (%s %s): %w", n+1, ev.Type, ev.ID, err)
			}
		}
		n++
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
