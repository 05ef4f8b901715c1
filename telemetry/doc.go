// Package telemetry turns Sluice events into OpenTelemetry traces and
// metrics that follow the GenAI semantic conventions.
//
// One Sink, attached like any other, makes a trace of each run:
//
//	invoke_agent {agent}           a run (run.started … run.completed) or a pipeline
//	├── chat {model}               a provider call (provider.call.started … completed/failed)
//	└── execute_tool {tool}        a tool call (tool.call.started … completed/failed)
//
// Spans nest by Sluice's correlation IDs: a provider call or tool call is
// the child of the span named by its Meta.ParentID (an open provider call,
// tool call or run), or else of its run's span. Spans carry the gen_ai.*
// attributes of the conventions (operation and provider names, request and
// response models, response ID, finish reasons, conversation ID, token
// counts by type, time to first chunk, error.type), with the attribute keys
// of go.opentelemetry.io/otel/semconv/v1.41.0. Times are the events' times,
// so a replayed run gives the trace of the original.
//
// Message content (prompts, completions, tool arguments and results) is
// left out unless WithContent asks for it, and then passes through its
// redaction function first.
//
// The same Sink records the GenAI client metrics (gen_ai.client.token.usage,
// gen_ai.client.operation.duration, time to first chunk and per output
// chunk, tool durations and failures) for every event it is given, before
// and whatever the trace sampler decides, so sampling never changes totals.
// Prometheus aggregates live in the sub-package telemetry/prom, guards that
// act on a run in telemetry/guard, and OTLP trace ingest in telemetry/otlp.
package telemetry
