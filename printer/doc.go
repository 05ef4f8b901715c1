// Package printer renders events for people and programs. Each printer is a
// sluice.Sink that writes to an io.Writer:
//
//   - Text writes a readable terminal transcript of a run. Streamed text
//     appears token by token on one line, thinking is shown as its own
//     section, tool calls and results are printed with indented JSON, and
//     every other event is one compact "type key=value …" line, so nothing
//     is hidden.
//   - JSON writes JSON lines, one event per line, in the exact wire format
//     of the event package (what "sluice validate -" accepts).
//   - YAML writes one YAML document per event, each started by "---", with
//     the keys in wire order and integers kept as integers.
//
// Printers are safe for concurrent use: each event is written with a single
// Write call while the printer holds its lock. A write error is returned
// from Publish, wrapped, so errors.Is and errors.As see the writer's error.
// Printers do not look at the context: an event published with a canceled
// context (a run reporting its own cancellation) is still printed.
//
// Text, JSON and YAML take functional options (WithMeta, WithColor,
// WithThinking), the configuration style of every Sluice package, and
// return an error wrapping ErrInvalid for a nil writer or a nil option.
package printer
