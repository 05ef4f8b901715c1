package store

import (
	"errors"
	"fmt"
	"iter"
	"strings"
	"unicode/utf8"

	"github.com/sluice-events/sluice/event"
)

// ErrNoSession is wrapped (with ErrInvalid) by the error for an event
// without a Meta.SessionID.
var ErrNoSession = errors.New("store: event has no session id")

// MaxSessionIDLen is the longest session ID, in bytes, that Append accepts
// (see CheckBatch and CheckNewSessionID). Reads do not check it, so
// sessions stored before the limit existed stay readable.
const MaxSessionIDLen = 256

// ErrSessionIDTooLong is wrapped (with ErrInvalid) by the error for a new
// event whose session ID is longer than MaxSessionIDLen.
var ErrSessionIDTooLong = errors.New("store: session id too long")

// CheckNewSessionID reports a session ID that no store accepts for new
// events: one that fails CheckSessionID, or is longer than
// MaxSessionIDLen bytes (wrapping ErrInvalid and ErrSessionIDTooLong; the
// message quotes only the start of the ID).
func CheckNewSessionID(id string) error {
	if len(id) > MaxSessionIDLen {
		return fmt.Errorf("%w: %w: %q… has %d bytes, more than %d", ErrInvalid, ErrSessionIDTooLong, id[:32], len(id), MaxSessionIDLen)
	}
	return CheckSessionID(id)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// CheckSessionID is a helper for implementations (see "Writing a Store").
// It reports a session ID (or session ID prefix) that no store
// accepts, wrapping ErrInvalid: one that is not valid UTF-8 (it would not
// read back byte for byte from the JSON encoding) or that holds a NUL byte
// (which SQL text types refuse or cut). The empty ID passes; callers that
// need a session check for it themselves.
func CheckSessionID(id string) error {
	if p := sessionIDProblem(id); p != "" {
		return invalidf("session id %q %s", id, p)
	}
	return nil
}

func sessionIDProblem(id string) string {
	switch {
	case !utf8.ValidString(id):
		return "is not valid UTF-8"
	case strings.IndexByte(id, 0) >= 0:
		return "contains a NUL byte"
	}
	return ""
}

// CheckBatch is a helper for implementations (see "Writing a Store"). It
// validates a batch for Append: every event must pass ev.Validate, carry a
// session ID that passes CheckNewSessionID and have a time in the years 1678
// to 2261 (stores index times as Unix nanoseconds). The error for the
// first bad event names its index and ID and wraps ErrInvalid and the
// event's own error (so errors.Is matches event.ErrInvalid too).
// Implementations call it before storing anything.
func CheckBatch(events []event.Event) error {
	for i := range events {
		ev := &events[i]
		if err := ev.Validate(); err != nil {
			return fmt.Errorf("%w: event %d (id %s, type %q): %w", ErrInvalid, i, ev.ID, ev.Type, err)
		}
		if ev.Meta.SessionID == "" {
			return fmt.Errorf("%w: event %d (id %s, type %q): %w", ErrInvalid, i, ev.ID, ev.Type, ErrNoSession)
		}
		if err := CheckNewSessionID(ev.Meta.SessionID); err != nil {
			return fmt.Errorf("event %d (id %s, type %q): %w", i, ev.ID, ev.Type, err)
		}
		if y := ev.Time.Year(); y < 1678 || y > 2261 {
			return fmt.Errorf("%w: event %d (id %s, type %q): time %s out of the storable range (years 1678 to 2261)", ErrInvalid, i, ev.ID, ev.Type, ev.Time)
		}
	}
	return nil
}

// Fail returns an iterator that yields only err. Implementations use it for
// a query that fails before it starts.
func Fail[T any](err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		yield(zero, err)
	}
}
