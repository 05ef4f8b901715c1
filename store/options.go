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

// Option configures a store. The options of this package apply to every
// implementation; implementations add their own, which they read back with
// Options.Value. A constructor that can fail refuses an option of another
// implementation with an error wrapping ErrInvalid.
type Option func(*Options)

// Options is the configuration that Option functions fill in.
// Implementations build it with NewOptions.
type Options struct {
	// Retention is the retention policy.
	Retention Retention
	// Now is the clock used for retention by age.
	Now func() time.Time
	// Logger receives background errors (retention) and notices.
	Logger *slog.Logger

	values map[any]any
}

// NewOptions applies opts over the defaults: no retention, the wall clock
// and slog.Default.
func NewOptions(opts ...Option) Options {
	o := Options{Now: time.Now, Logger: slog.Default()}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.Retention.Interval <= 0 {
		o.Retention.Interval = DefaultPruneInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// SetValue stores an implementation-specific setting under key (a
// comparable value of an unexported type, as with context keys).
func (o *Options) SetValue(key, value any) {
	if o.values == nil {
		o.values = make(map[any]any)
	}
	o.values[key] = value
}

// Value returns the implementation-specific setting stored under key, or
// nil.
func (o *Options) Value(key any) any { return o.values[key] }

// CheckValues returns an error wrapping ErrInvalid if a setting is stored
// under a key that owns refuses: an option of another implementation, such
// as postgres.WithSchema given to sqlite.Open. Implementations call it in
// their constructor with their name and a func that accepts their own key
// type. Keys print with %v in the error, so a key type should have a
// String method that names its option.
func (o *Options) CheckValues(name string, owns func(key any) bool) error {
	for k := range o.values {
		if !owns(k) {
			return invalidf("option %v does not apply to a %s store", k, name)
		}
	}
	return nil
}

// WithRetention sets the retention policy.
func WithRetention(r Retention) Option { return func(o *Options) { o.Retention = r } }

// WithClock sets the clock that retention by age measures against; tests
// inject a fake one instead of sleeping.
func WithClock(now func() time.Time) Option { return func(o *Options) { o.Now = now } }

// WithLogger sets the logger for background errors.
func WithLogger(l *slog.Logger) Option { return func(o *Options) { o.Logger = l } }
