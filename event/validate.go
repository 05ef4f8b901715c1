package event

import (
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// Validation errors, for errors.Is. Every error returned by Validate wraps
// ErrInvalid and one of the more specific errors below.
var (
	ErrInvalid         = errors.New("invalid event")
	ErrMissingID       = errors.New("missing id")
	ErrMissingType     = errors.New("missing type")
	ErrMissingTime     = errors.New("missing time")
	ErrMissingPayload  = errors.New("missing payload")
	ErrTypeMismatch    = errors.New("type does not match payload")
	ErrInvalidPayload  = errors.New("invalid payload")
	ErrInvalidMetadata = errors.New("invalid metadata")
)

// Validator is implemented by payloads that can check their own fields.
// Validate calls it.
type Validator interface {
	Validate() error
}

// Validate checks that e is complete and consistent: it has an ID, a
// well-formed type that matches its payload, a time and a payload, and the
// payload's own checks pass.
func (e *Event) Validate() error {
	switch {
	case e.ID == uuid.UUID{}:
		return invalid(ErrMissingID, "")
	case e.Type == "":
		return invalid(ErrMissingType, "")
	case e.Time.IsZero():
		return invalid(ErrMissingTime, "")
	case e.Payload == nil:
		return invalid(ErrMissingPayload, "")
	}
	if err := checkName(e.Type); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if pt := e.Payload.EventType(); pt != e.Type {
		return invalid(ErrTypeMismatch, fmt.Sprintf("type %q, payload %q", e.Type, pt))
	}
	for k := range e.Meta.Labels {
		if k == "" {
			return invalid(ErrInvalidMetadata, "empty label key")
		}
	}
	if v, ok := e.Payload.(Validator); ok {
		if err := v.Validate(); err != nil {
			return fmt.Errorf("%w: %w: %q: %w", ErrInvalid, ErrInvalidPayload, e.Type, err)
		}
	}
	return nil
}

func invalid(kind error, detail string) error {
	if detail == "" {
		return fmt.Errorf("%w: %w", ErrInvalid, kind)
	}
	return fmt.Errorf("%w: %w: %s", ErrInvalid, kind, detail)
}
