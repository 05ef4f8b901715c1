// Package wire holds Sluice's encoders and decoders for what travels between
// processes: Server-Sent Events framing (an encoder, a spec-compliant parser
// and a resuming client) and the JSON-RPC 2.0 message types with a parser
// for requests and batches.
//
// # Server-Sent Events
//
// AppendFrame writes one SSE frame with an id: line (the cursor to resume
// after), an event: line (the event type) and data: lines (the event's JSON).
// Reader parses a stream as the WHATWG HTML specification says (section
// 9.2.6, "Interpreting an event stream"): any of CRLF, LF or CR ends a line, a
// leading byte-order mark is skipped, comments are ignored, data: lines are
// joined with newlines, and an id is remembered across events until the
// stream sets another. Frames may arrive split across network reads at any
// byte; the Reader waits for the blank line that ends a frame.
//
// Client follows a stream over HTTP and, when the connection drops,
// reconnects with the Last-Event-ID header set to the last id it saw (after
// the server's retry: hint), so a Sluice server resumes it with no gap and
// no duplicate.
//
// # JSON-RPC 2.0
//
// Request, Response, Notification and Error are the messages of JSON-RPC 2.0;
// ParseRequests reads a single request or a batch and reports malformed
// input with the standard error codes (ParseError, InvalidRequest, …).
package wire
