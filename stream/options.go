package stream

import (
	"fmt"
	"time"

	"github.com/sluice-events/sluice/bus"
	"github.com/sluice-events/sluice/internal/option"
)

// DefaultBufferSize is the buffer size of a stream made without the
// WithBufferSize option.
const DefaultBufferSize = 100

// Policy says what Send does when a stream's buffer is full. It is the
// delivery-policy type of package bus, so that a bus subscription and a
// stream speak one vocabulary.
type Policy = bus.Policy

const (
	// Block makes the sender wait until the slowest reader makes room, its
	// context ends, or the stream is closed. Nothing is lost. It is the
	// default.
	Block = bus.Block
	// DropNewest makes Send fail at once with ErrFull, discarding the
	// arriving event, and counts the drop.
	DropNewest = bus.DropNewest
	// DropOldest discards the oldest buffered event to make room for the
	// arriving one, which Send accepts, and counts the drop. A reader that
	// had not received the discarded event skips it.
	DropOldest = bus.DropOldest
)

// Option configures a stream. Pass options to New, to Manager.Create and
// Manager.GetOrCreate, or to NewManager as defaults for every stream it
// creates.
type Option func(*config) error

type config struct {
	bufferSize int
	policy     Policy
	now        func() time.Time
}

func defaultConfig() config {
	return config{bufferSize: DefaultBufferSize, policy: Block} // now nil: time.Now
}

// apply applies opts to c; a nil option or a bad value gives ErrInvalid.
func (c *config) apply(opts []Option) error { return option.Apply(c, opts, ErrInvalid) }

// WithBufferSize sets how many events a stream buffers (default
// DefaultBufferSize). It must be positive.
func WithBufferSize(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: buffer size must be positive, got %d", ErrInvalid, n)
		}
		c.bufferSize = n
		return nil
	}
}

// WithPolicy sets what Send does when the buffer is full: Block (the
// default), DropNewest or DropOldest.
func WithPolicy(p Policy) Option {
	return func(c *config) error {
		if p != Block && p != DropNewest && p != DropOldest {
			return fmt.Errorf("%w: unknown policy %v", ErrInvalid, p)
		}
		c.policy = p
		return nil
	}
}

// WithClock sets the function a stream reads the time from to stamp its
// last activity (default time.Now); it must not be nil. Given to
// NewManager, it is also the clock Manager.CleanupInactive measures
// idleness with; tests pass a fake clock.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		c.now = now
		return nil
	}
}
