// Package replay plays stored events back into any sink: as fast as
// possible, in real time, or at a chosen speed, keeping the original pauses
// between events.
//
//	events := st.Read(ctx, store.Query{Session: "sess-1"})
//	p, _ := printer.Text(os.Stdout)
//	err := replay.Run(ctx, events, p, replay.WithSpeed(2))
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
	"github.com/sluice-events/sluice/internal/option"
)

// ErrInvalid is wrapped by the error Run returns for an invalid option: a
// bad speed (which also wraps ErrSpeed), a negative maximum gap, a nil
// sleep function or a nil option.
var ErrInvalid = errors.New("replay: invalid option")

// ErrSpeed reports a speed that is negative, infinite or not a number.
var ErrSpeed = errors.New("replay: speed must be a finite number, 0 or more")

// ErrNilSink reports a nil sink.
var ErrNilSink = errors.New("replay: nil sink")

type config struct {
	speed  float64
	maxGap time.Duration
	sleep  func(ctx context.Context, d time.Duration) error
}

// Option configures Run. Options are functions over an unexported
// configuration, the style of every Sluice package: each checks its value,
// and Run reports an invalid one as an error wrapping ErrInvalid.
type Option func(*config) error

// WithSpeed sets the pace: 1 keeps the original pauses between events, 2
// halves them, 0.5 doubles them, and 0 (the default) replays as fast as the
// sink takes events. A negative, infinite or NaN speed is invalid.
func WithSpeed(s float64) Option {
	return func(c *config) error {
		if !(s >= 0) || math.IsInf(s, 1) {
			return fmt.Errorf("%w: %w, got %v", ErrInvalid, ErrSpeed, s)
		}
		c.speed = s
		return nil
	}
}

// WithMaxGap caps each pause (after scaling by the speed), so that an idle
// hour in a session does not stall a replay. Zero (the default) means no
// cap; a negative d is invalid.
func WithMaxGap(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("%w: negative max gap %v", ErrInvalid, d)
		}
		c.maxGap = d
		return nil
	}
}

// WithSleep replaces the function that waits between events, for tests. It
// must not be nil.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *config) error {
		if sleep == nil {
			return fmt.Errorf("%w: nil sleep function", ErrInvalid)
		}
		c.sleep = sleep
		return nil
	}
}

// Run publishes every event of events to sink, in order, pausing between
// two events for the time between them divided by the speed. It stops at
// the first error of the iterator, of the sink, or of ctx, and returns it;
// events published before that stay published. The iterator's events are
// published as they are, with their IDs, times and sequence numbers.
func Run(ctx context.Context, events iter.Seq2[event.Event, error], sink sluice.Sink, opts ...Option) error {
	o := config{sleep: sleep}
	if err := option.Apply(&o, opts, ErrInvalid); err != nil {
		return err
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
