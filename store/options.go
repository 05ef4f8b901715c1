package store

import (
	"log/slog"
	"time"
)

// DefaultPruneInterval is how often a store applies its retention policy
// when Retention.Interval is zero.
const DefaultPruneInterval = time.Minute

// Retention says which events a store removes in the background. The zero
// Retention keeps everything. Removing events never frees their sequence
// numbers or positions: the next event of a session still gets LastSeq+1.
type Retention struct {
	// MaxAge removes events whose Time is older than MaxAge before now;
	// 0 keeps events of any age.
	MaxAge time.Duration
	// MaxEvents keeps at most this many of the newest events of each
	// session; 0 keeps any number.
	MaxEvents int
	// Interval is how often the policy runs; 0 means DefaultPruneInterval.
	Interval time.Duration
}

// Enabled reports whether r removes anything.
func (r Retention) Enabled() bool { return r.MaxAge > 0 || r.MaxEvents > 0 }

// Config is the part of a store's configuration that every backend shares:
// retention, clock and logger. It is a helper for implementations (see
// "Writing a Store"): a backend embeds it in its own, unexported
// configuration and offers WithRetention, WithClock and WithLogger options
// of its own Option type that call the Set methods, which check the values.
// Users of a store set it through those options only.
type Config struct {
	// Retention is the retention policy; its Interval is never zero.
	Retention Retention
	// Clock is the clock retention by age measures against.
	Clock func() time.Time
	// Logger receives background errors (retention) and notices.
	Logger *slog.Logger
}

// DefaultConfig returns the defaults: no retention, the wall clock and
// slog.Default().
func DefaultConfig() Config {
	return Config{Retention: Retention{Interval: DefaultPruneInterval}, Clock: time.Now, Logger: slog.Default()}
}

// SetRetention sets the retention policy; a zero Interval becomes
// DefaultPruneInterval. A negative MaxAge, MaxEvents or Interval gives an
// error wrapping ErrInvalid.
func (c *Config) SetRetention(r Retention) error {
	if r.MaxAge < 0 || r.MaxEvents < 0 || r.Interval < 0 {
		return invalidf("retention %+v: negative value", r)
	}
	if r.Interval == 0 {
		r.Interval = DefaultPruneInterval
	}
	c.Retention = r
	return nil
}

// SetClock sets the clock retention by age measures against; tests inject
// a fake one instead of sleeping. A nil clock gives an error wrapping
// ErrInvalid.
func (c *Config) SetClock(now func() time.Time) error {
	if now == nil {
		return invalidf("nil clock")
	}
	c.Clock = now
	return nil
}

// SetLogger sets the logger for background errors. A nil logger gives an
// error wrapping ErrInvalid.
func (c *Config) SetLogger(l *slog.Logger) error {
	if l == nil {
		return invalidf("nil logger")
	}
	c.Logger = l
	return nil
}
