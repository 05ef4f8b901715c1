package server

import (
	"net/http"
	"strings"

	"github.com/sluice-events/sluice/ui"
)

// DocsURL is where the API reference lives; the home page links it.
const DocsURL = "https://github.com/sluice-events/sluice/blob/main/docs/server.md"

// homeText is what GET / answers: what the server is, its endpoints, and
// where the reference is.
const homeText = `Sluice event server

This is a Sluice server (open it in a browser for the web page): it stores the typed events of LLM and agent runs,
numbered 1, 2, 3, ... within each session, and streams them to browsers
and programs, live or from any point in the past.

  POST /v1/events                  publish events (JSON or NDJSON)
  GET  /v1/sessions                list sessions
  GET  /v1/sessions/{id}/events    a page of a session's events
  GET  /v1/sessions/{id}/stream    follow a session (Server-Sent Events)
  GET  /v1/stream                  follow every session
  GET  /v1/ws, POST /v1/rpc        WebSocket and JSON-RPC 2.0
  GET  /healthz, /readyz, /metrics health and Prometheus metrics

From a terminal:  sluice tail URL --session ID
API reference:    docs/server.md in the repository,
                  ` + DocsURL + `
`

// home answers GET / with the web page (package ui) for a browser (a
// request whose Accept names text/html), and with homeText, plain, for
// any other client.
func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		ui.ServePage(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(homeText))
}
