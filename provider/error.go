package provider

import (
	"errors"
	"strconv"

	"github.com/sluice-events/sluice/event"
)

// Sentinel errors, for errors.Is on what an adapter returns.
var (
	// ErrProtocol reports a stream the adapter cannot make sense of: an
	// event for an output item or content block that was never started, a
	// gap in the event numbering, a malformed event.
	ErrProtocol = errors.New("provider: malformed stream")
	// ErrIncomplete reports a stream that ended before the provider said
	// the response was complete: the connection was closed or dropped.
	ErrIncomplete = errors.New("provider: stream ended before the response was complete")
)

// Codes set by adapters in Error.Code for failures that are not the
// provider's own error codes.
const (
	CodeProtocol   = "protocol_error"    // see ErrProtocol
	CodeIncomplete = "incomplete_stream" // see ErrIncomplete
)

// KindProvider is the event.Error Kind of errors from a provider, or from
// its stream.
const KindProvider = "provider"

// Error is a failed provider call in a form common to all providers. The
// adapters return it, wrapping the SDK's own error (errors.As still finds
// an *anthropic.Error or *openai.Error in the chain), and emit it in
// stream.error and provider.call.failed events.
type Error struct {
	// Provider names the provider: "openai", "anthropic".
	Provider string
	// Code is the provider's error type or code ("overloaded_error",
	// "rate_limit_exceeded", "server_error", …), or CodeProtocol or
	// CodeIncomplete.
	Code string
	// Message is the provider's description of the error.
	Message string
	// StatusCode is the HTTP status of the response, if it was an error
	// status; an error reported inside a stream has 0.
	StatusCode int
	// Retryable says whether repeating the call may succeed: overloaded,
	// rate-limited, server errors, timeouts and dropped streams are.
	Retryable bool
	// MidStream is true when the error arrived inside the event stream,
	// after the response had begun.
	MidStream bool
	// Err is the underlying error, usually the SDK's.
	Err error
}

// Error implements the error interface: "anthropic: overloaded_error:
// Overloaded".
func (e *Error) Error() string {
	s := e.Provider
	if e.Code != "" {
		s += ": " + e.Code
	} else if e.StatusCode != 0 {
		s += ": HTTP " + strconv.Itoa(e.StatusCode)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// EventError returns e as it travels in events: Kind is "provider", and
// Code, Message and Retryable are e's.
func (e *Error) EventError() event.Error {
	code := e.Code
	if code == "" && e.StatusCode != 0 {
		code = strconv.Itoa(e.StatusCode)
	}
	return event.Error{Message: e.Provider + ": " + e.Message, Code: code, Kind: KindProvider, Retryable: e.Retryable}
}

// As lets errors.As, and so event.ErrorFrom, find an event.Error in an
// error chain that holds e.
func (e *Error) As(target any) bool {
	if t, ok := target.(*event.Error); ok {
		*t = e.EventError()
		return true
	}
	return false
}

// RetryableStatus reports whether an HTTP status is worth retrying: 408,
// 409, 429 and 5xx, as the official SDKs retry them.
func RetryableStatus(status int) bool {
	return status == 408 || status == 409 || status == 429 || status >= 500
}

// RetryableCode reports whether a provider's error code names a transient
// condition: overload, rate limiting, a server error or a timeout.
func RetryableCode(code string) bool {
	switch code {
	case "overloaded_error", "api_error", "rate_limit_error", "timeout_error", // Anthropic
		"server_error", "rate_limit_exceeded", "vector_store_timeout", "timeout", // OpenAI
		CodeIncomplete:
		return true
	}
	return false
}
