package stream

import (
	"fmt"
	"time"
)

// DefaultBufferSize is the buffer size of a stream made without the
// BufferSize option.
const DefaultBufferSize = 100

// Backpressure says what Send does when a stream's buffer is full.
type Backpressure int

const (
	// Block makes the sender wait until the slowest reader makes room, its
	// context ends, or the stream is closed. Nothing is lost. It is the
	// default.
	Block Backpressure = iota
	// Drop makes Send fail at once with ErrFull and counts the drop.
	Drop
)

// String returns "block" or "drop".
func (p Backpressure) String() string {
	switch p {
	case Block:
		return "block"
	case Drop:
		return "drop"
	default:
		return fmt.Sprintf("Backpressure(%d)", int(p))
	}
}

// Option configures a stream. Pass options to New, to Manager.Create and
// Manager.GetOrCreate, or to NewManager as defaults for every stream it
// creates.
type Option func(*config) error

type config struct {
	bufferSize int
	policy     Backpressure
	now        func() time.Time
}

func defaultConfig() config {
	return config{bufferSize: DefaultBufferSize, policy: Block} // now nil: time.Now
}

// apply applies opts to c; a nil option or a bad value gives ErrInvalid.
func (c *config) apply(opts []Option) error {
	for _, o := range opts {
		if o == nil {
			return fmt.Errorf("%w: nil option", ErrInvalid)
		}
		if err := o(c); err != nil {
			return err
		}
	}
	return nil
}

// BufferSize sets how many events a stream buffers (default
// DefaultBufferSize). It must be positive.
func BufferSize(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: buffer size must be positive, got %d", ErrInvalid, n)
		}
		c.bufferSize = n
		return nil
	}
}

// Policy sets what Send does when the buffer is full: Block (the default) or
// Drop.
func Policy(p Backpressure) Option {
	return func(c *config) error {
		if p != Block && p != Drop {
			return fmt.Errorf("%w: unknown policy %v", ErrInvalid, p)
		}
		c.policy = p
		return nil
	}
}

// Clock sets the function a stream reads the time from to stamp its last
// activity (default time.Now). Given to NewManager, it is also the clock
// Manager.CleanupInactive measures idleness with; tests pass a fake clock.
func Clock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		c.now = now
		return nil
	}
}
