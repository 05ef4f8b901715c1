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
	ErrInvalidTime     = errors.New("invalid time")
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
	if y := e.Time.UTC().Year(); y < 0 || y > 9999 {
		return invalid(ErrInvalidTime, fmt.Sprintf("year %d is outside 0 to 9999", y))
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
	if raw, ok := e.Payload.(Raw); ok {
		// A raw payload under a registered name must fit that type, or
		// readers that know the type could not decode it.
		if def, known := reg.Load().byName[e.Type]; known {
			r := reader{s: string(raw.Data)}
			if _, err := def.decode(&r, raw.Data); err != nil {
				return fmt.Errorf("%w: %w: %q: raw payload does not fit the registered type: %w", ErrInvalid, ErrInvalidPayload, e.Type, err)
			}
		}
		return nil
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
