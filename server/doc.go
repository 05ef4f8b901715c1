// Package server is Sluice's HTTP API: ingest, queries, Server-Sent Events
// with resume, WebSocket and JSON-RPC 2.0, API keys with scopes and
// session-prefix tenants, CORS, limits, health checks and Prometheus
// metrics. docs/server.md is the reference of the endpoints, frames and
// errors.
//
// A Server serves a hub.Hub: publishing appends to the hub's log (which
// numbers each event in its session) and every stream is a hub.Feed from a
// cursor — a session's sequence number, or the store-wide
// position for streams over all sessions — so a client that reconnects with
// the last cursor it saw (SSE Last-Event-ID, or after=) receives every later
// event exactly once, history first, then live.
//
// # Live delivery at scale
//
// Streams do not each poll the store when something is appended: they are
// hub feeds, which read history from the store and then the hub's live
// window, where every new event is read and encoded once (see package hub).
// A slow client costs memory only in its TCP buffers and can never make
// another miss an event. Every stream — SSE, WebSocket, JSON-RPC — runs
// through one loop that takes a wire.Encoder, and an idle SSE stream over
// HTTP/1.x holds no goroutine but one blocked read.
//
// # Events without an id or a time
//
// The server stamps what a producer may leave out: an event published
// without an id gets a new UUIDv7, one without a time the server's clock.
// A seq sent by a producer is ignored; the log assigns it. The session
// (meta.session) is required, or given for a whole request with ?session=.
package server
