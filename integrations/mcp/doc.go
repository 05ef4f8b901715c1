// Package sluicemcp connects the MCP Go SDK
// (github.com/modelcontextprotocol/go-sdk) to Sluice, both ways:
//
//   - Instrument makes an mcp.Client emit tool.mcp.* events for the tool
//     calls and tool listings it sends (with their durations and errors)
//     and for the progress notifications the server sends back;
//   - EventStore is an mcp.EventStore over a Sluice durable log
//     (store.Store, such as store/sqlite), so the messages of a
//     streamable-HTTP server's streams survive the process;
//   - Handler serves an mcp.Server over streamable HTTP with sessions kept
//     in that log, so that after a restart a client resumes its session and
//     its interrupted streams (Last-Event-ID) where it left them.
package sluicemcp
