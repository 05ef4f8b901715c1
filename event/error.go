package event

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Error is an error as it travels inside an event: a structured value that
// survives JSON, unlike a Go error value, which encoding/json writes as {}.
// It implements the error interface, so a decoded Error can be returned and
// matched like any other error.
type Error struct {
	Message   string `json:"message" doc:"human-readable description"`
	Code      string `json:"code,omitempty" doc:"machine-readable code, such as a provider's error type or an HTTP status"`
	Kind      string `json:"kind,omitempty" doc:"category: canceled, deadline, provider, tool, validation, internal, or a Go type name"`
	Retryable bool   `json:"retryable,omitempty" doc:"whether repeating the operation may succeed"`
}

// Error kinds set by ErrorFrom for well-known errors.
const (
	KindCanceled = "canceled" // the context was canceled
	KindDeadline = "deadline" // the context's deadline passed
)

// Error implements the error interface.
func (e Error) Error() string {
	if e.Code != "" {
		return e.Code + ": " + e.Message
	}
	return e.Message
}

// IsZero reports whether e carries no error.
func (e Error) IsZero() bool { return e == Error{} }

// ErrorFrom turns err into an Error. A nil err gives the zero Error. An
// Error (or *Error) anywhere in err's chain is kept as it is, with its
// message replaced by err's full text; otherwise Kind records a canceled or
// expired context or, failing that, err's Go type, and Code is taken from an
// error in the chain with a Code() string method, and Retryable from one
// with a Temporary() or Retryable() bool method.
func ErrorFrom(err error) Error {
	if err == nil {
		return Error{}
	}
	var e Error
	var pe *Error
	found := errors.As(err, &e)
	if !found && errors.As(err, &pe) && pe != nil {
		e, found = *pe, true
	}
	if found {
		// Keep the context that wrapping added, without repeating the code.
		if full := err.Error(); strings.HasSuffix(full, e.Error()) {
			e.Message = strings.TrimSuffix(full, e.Error()) + e.Message
		}
		return e
	}
	e = Error{Message: err.Error()}
	switch {
	case errors.Is(err, context.Canceled):
		e.Kind = KindCanceled
	case errors.Is(err, context.DeadlineExceeded):
		e.Kind, e.Retryable = KindDeadline, true
	default:
		// The Go type says something unless it is a plain or wrapping error.
		switch kind := fmt.Sprintf("%T", err); kind {
		case "*errors.errorString", "*fmt.wrapError", "*fmt.wrapErrors", "*errors.joinError":
		default:
			e.Kind = kind
		}
	}
	var coder interface{ Code() string }
	if errors.As(err, &coder) {
		e.Code = coder.Code()
	}
	var retry interface{ Retryable() bool }
	var temp interface{ Temporary() bool }
	switch {
	case errors.As(err, &retry):
		e.Retryable = retry.Retryable()
	case errors.As(err, &temp):
		e.Retryable = temp.Temporary()
	}
	return e
}
