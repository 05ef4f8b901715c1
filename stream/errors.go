package stream

import (
	"errors"
	"fmt"
)

// Sentinel errors. Operations return them wrapped in an *Error; test for
// them with errors.Is.
var (
	// ErrClosed means the stream is closed: it accepts no more events, and
	// a reader has received everything that was buffered (like io.EOF).
	// A detached Reader also returns it.
	ErrClosed = errors.New("stream closed")
	// ErrNotFound means the Manager holds no stream with the given ID.
	ErrNotFound = errors.New("stream not found")
	// ErrFull means a stream with the DropNewest policy had no room for an event,
	// which was therefore dropped.
	ErrFull = errors.New("stream full")
	// ErrInvalid means an argument was invalid: an empty ID, a buffer size
	// that is not positive, an unknown policy, a nil context, event, clock
	// or option.
	ErrInvalid = errors.New("invalid argument")
	// ErrExists means the Manager already holds an open stream with the ID.
	ErrExists = errors.New("stream already exists")
)

// Error is the error type of the package. It names the stream and the
// operation that failed, and wraps the cause.
type Error struct {
	// Stream is the ID of the stream concerned.
	Stream string
	// Op is the operation that failed: "new", "send", "receive", "close",
	// "create", "get" or "info".
	Op string
	// Err is the cause: one of the sentinel errors (possibly wrapped with
	// details) or a context error.
	Err error
}

// Error returns a message such as `stream "sess-1": send: stream full`.
func (e *Error) Error() string {
	return fmt.Sprintf("stream %q: %s: %v", e.Stream, e.Op, e.Err)
}

// Unwrap returns the cause, so that errors.Is and errors.As see through an
// *Error.
func (e *Error) Unwrap() error { return e.Err }

func newError(id, op string, err error) error {
	return &Error{Stream: id, Op: op, Err: err}
}

func invalid(id, op, format string, args ...any) error {
	return &Error{Stream: id, Op: op, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)}
}
