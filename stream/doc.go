// Package stream holds per-session buffered streams and the Manager that
// keeps them by ID.
//
// A Stream is a bounded, ordered broadcast of events. Producers call Send or
// SendWithContext; every consumer holds its own Reader and receives every
// event, in the order the stream accepted them. The events live once, in a
// ring buffer shared by all readers; each Reader is just a cursor into it.
//
// # Delivery policy
//
// A stream's buffer holds the events that some attached reader has not
// received yet (or, while no reader is attached, the events no reader has
// received yet). When the buffer is full the stream's Policy (WithPolicy)
// decides; it is the vocabulary of package bus:
//
//   - Block (the default) makes the sender wait until the slowest reader
//     makes room, the sender's context ends, or the stream is closed.
//   - DropNewest makes the send fail at once with ErrFull.
//   - DropOldest discards the oldest buffered event to make room, and the
//     send succeeds; readers that had not received it skip it.
//
// Every drop is counted (see Stream.Dropped and Info.Dropped).
//
// # Options
//
// New, NewManager, Manager.Create and Manager.GetOrCreate take functional
// options (WithBufferSize, WithPolicy, WithClock) over an unexported
// configuration, the style of every Sluice package: a call site names only
// what it changes, options can be added without breaking callers, and each
// option checks its value, so that an invalid one (a buffer of 0, a nil
// clock, a nil option) is an error wrapping ErrInvalid when the stream is
// made, never silently ignored.
//
// # Readers
//
// Stream.Reader attaches a new reader. A new reader receives every event
// that no reader has received yet, then everything sent after it attached:
// events sent before the first reader attaches wait in the buffer for it,
// and a reader that joins late does not replay what others already got
// (replay is the durable log's job). Reader.Close detaches a reader, so that
// it no longer holds back Block senders. Stream.Receive is a shorthand that
// reads through one default reader shared by all its callers, which then
// compete for events as they would on a channel.
//
// # Contexts
//
// SendWithContext and Reader.Receive take a context that bounds only their
// wait: an operation that can complete at once does, even if the context is
// already done, and one that would wait returns the context's error when it
// ends.
//
// # Closing
//
// Close never panics a concurrent sender: a sender blocked in Send returns
// ErrClosed, and so does every later Send. Readers go on receiving what was
// buffered before Close and then get ErrClosed, which plays the role io.EOF
// plays for an io.Reader. Every event whose Send returned nil is received by
// every reader that was attached when it was sent and stays attached.
//
// # Errors
//
// Every error is a *Error that names the stream and the operation and wraps
// one of the sentinel errors ErrClosed, ErrNotFound, ErrFull, ErrInvalid or
// ErrExists (or the context's error), so errors.Is works on it. Bad input
// gives ErrInvalid, never a panic.
//
// A *Stream is also a Sink in the sense of the module root package: its
// Enabled and Publish methods let it sit at the end of a sink chain.
package stream
