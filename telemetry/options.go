package telemetry

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ErrInvalid is wrapped by the error New returns for an invalid option.
var ErrInvalid = errors.New("invalid argument")

// ErrClosed is wrapped by the error Publish returns once the Sink is
// closed.
var ErrClosed = errors.New("telemetry: sink closed")

// Option configures a Sink.
type Option func(*config) error

// Redactor rewrites message content before it becomes a span attribute:
// key is the attribute (such as gen_ai.output.messages or
// gen_ai.tool.call.arguments) and value its JSON text. It returns the text
// to record, or "" to leave the attribute out. It is called with the
// Sink's lock held, from any goroutine, and must not publish to the Sink.
type Redactor func(key attribute.Key, value string) string

type config struct {
	tp         trace.TracerProvider
	mp         metric.MeterProvider
	content    bool
	redact     Redactor
	agent      string
	spanEvents bool
	maxOpen    int
}

// DefaultMaxOpen is how many spans a Sink keeps open at most without
// WithMaxOpen.
const DefaultMaxOpen = 100_000

// WithMaxOpen bounds the spans kept open, waiting for the event that ends
// them (default DefaultMaxOpen): past it, the oldest open span is ended as
// unfinished (error type ErrorTypeUnfinished), so runs that never end — or
// a client that starts calls it never finishes — cannot grow memory
// without bound.
func WithMaxOpen(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("%w: WithMaxOpen(%d): want at least 1", ErrInvalid, n)
		}
		c.maxOpen = n
		return nil
	}
}

// WithTracerProvider sets where spans go. The default is the global
// provider (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) error {
		if tp == nil {
			return fmt.Errorf("%w: nil tracer provider", ErrInvalid)
		}
		c.tp = tp
		return nil
	}
}

// WithMeterProvider sets where metrics go. The default is the global
// provider (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) error {
		if mp == nil {
			return fmt.Errorf("%w: nil meter provider", ErrInvalid)
		}
		c.mp = mp
		return nil
	}
}

// WithContent records message content on spans: the run's prompt
// (gen_ai.input.messages), the model's text (gen_ai.output.messages), tool
// arguments and results. Each value passes through redact first; a nil
// redact records content as it is. Content is off by default.
func WithContent(redact Redactor) Option {
	return func(c *config) error {
		c.content, c.redact = true, redact
		return nil
	}
}

// WithAgentName names the agent in invoke_agent spans (gen_ai.agent.name)
// for runs whose events carry no "agent" label.
func WithAgentName(name string) Option {
	return func(c *config) error {
		c.agent = name
		return nil
	}
}

// WithSpanEvents also records every event the Sink takes as a span event
// on the innermost open span it belongs to (named by the event type, with
// the attribute sluice.event.id), streamed chunks included. An event with
// a run ID and no open span opens its run's span. It is meant for
// debugging: a streamed answer makes hundreds of span events.
func WithSpanEvents() Option {
	return func(c *config) error {
		c.spanEvents = true
		return nil
	}
}
