package sluicemcp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/google/uuid"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Handler serves an mcp.Server over streamable HTTP, like the SDK's
// mcp.StreamableHTTPHandler, with sessions that outlive the process: the
// messages of every stream are kept in an EventStore, and each session's
// initialization is logged there too. A request for a session this process
// does not know (because it was restarted, or another process of the same
// deployment created it) takes the session up again from the log, so the
// client goes on with the same session ID and resumes an interrupted stream
// with Last-Event-ID, getting every message it missed exactly once.
//
// A session ends for good when the client deletes it (HTTP DELETE); then
// the log records its end and the session is not taken up again. Close,
// for a shutdown, stops the sessions of this process without ending them.
//
// Request bodies are limited to mcp.DefaultMaxRequestBodyBytes. The
// Handler's own errors (unknown session, wrong method) are JSON bodies in
// the Sluice server's shape; the transport's are the SDK's.
//
// Handler does not do what the SDK's handler does around sessions:
// session timeouts, JSON responses, stateless mode, the localhost
// protection against DNS rebinding, or checks that a session belongs to the
// authenticated user; put it behind the authentication and Host checks
// your deployment needs.
type Handler struct {
	server *mcp.Server
	events *EventStore

	mu      sync.Mutex
	live    map[string]*session
	closing bool
	wg      sync.WaitGroup
}

// session is a session this process serves.
type session struct {
	t     *mcp.StreamableServerTransport
	ss    *mcp.ServerSession
	saved bool
}

// codes are the error codes of the statuses lookup returns, as the
// Sluice server names them.
var codes = map[int]string{
	http.StatusNotFound:            "not_found",
	http.StatusServiceUnavailable:  "unavailable",
	http.StatusInternalServerError: "internal",
}

// writeError answers with a JSON error body, the Sluice server's shape:
// {"error": {"status": …, "code": …, "message": …}}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"status": status, "code": code, "message": msg}})
	_, _ = w.Write(b)
}

// NewHandler returns a Handler that serves server with the sessions and
// streams of events. A nil argument is an error wrapping ErrInvalid.
func NewHandler(server *mcp.Server, events *EventStore) (*Handler, error) {
	if server == nil || events == nil {
		return nil, fmt.Errorf("sluicemcp: new handler: %w: nil server or event store", ErrInvalid)
	}
	return &Handler{server: server, events: events, live: make(map[string]*session)}, nil
}

const (
	sessionHeader  = "Mcp-Session-Id"
	protocolHeader = "Mcp-Protocol-Version"
)

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodDelete:
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method not allowed")
		return
	}
	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, mcp.DefaultMaxRequestBodyBytes)
	}
	id := r.Header.Get(sessionHeader)
	if id == "" {
		if r.Method != http.MethodPost {
			writeError(w, http.StatusBadRequest, "bad_request", r.Method+" requires an "+sessionHeader+" header")
			return
		}
		h.create(w, r)
		return
	}
	s, status, err := h.lookup(r.Context(), id)
	if err != nil {
		writeError(w, status, codes[status], err.Error())
		return
	}
	if r.Method == http.MethodDelete {
		_ = s.ss.Close()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.t.ServeHTTP(w, r)
	h.save(r, s)
}

// create starts a new session with the request (an initialize request).
func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	s, err := h.connect(r.Context(), uuid.NewString(), nil)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		return
	}
	s.t.ServeHTTP(w, r)
	if s.ss.InitializeParams() == nil {
		// The first request of a session must initialize it.
		_ = s.ss.Close()
		return
	}
	h.save(r, s)
}

// lookup returns the session id, taking it up from the log if this process
// does not serve it; it returns an HTTP status with its error.
func (h *Handler) lookup(ctx context.Context, id string) (*session, int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.live[id]; s != nil {
		return s, 0, nil
	}
	if h.closing {
		return nil, http.StatusServiceUnavailable, fmt.Errorf("server is shutting down")
	}
	if check(id) != nil {
		return nil, http.StatusNotFound, fmt.Errorf("session not found")
	}
	saved, ended, err := h.events.session(ctx, id)
	switch {
	case err != nil:
		return nil, http.StatusInternalServerError, fmt.Errorf("reading the session: %w", err)
	case saved == nil || ended:
		return nil, http.StatusNotFound, fmt.Errorf("session not found")
	}
	var params mcp.InitializeParams
	if err := json.Unmarshal(saved.Initialize, &params); err != nil {
		return nil, http.StatusInternalServerError, fmt.Errorf("reading the session: %w", err)
	}
	state := &mcp.ServerSessionState{InitializeParams: &params, InitializedParams: &mcp.InitializedParams{},
		NegotiatedProtocolVersion: saved.ProtocolVersion}
	s, err := h.connectLocked(context.WithoutCancel(ctx), id, state)
	if err != nil {
		return nil, http.StatusInternalServerError, err
	}
	return s, 0, nil
}

func (h *Handler) connect(ctx context.Context, id string, state *mcp.ServerSessionState) (*session, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return nil, fmt.Errorf("server is shutting down")
	}
	return h.connectLocked(ctx, id, state)
}

// connectLocked connects a transport for session id; h.mu is held.
func (h *Handler) connectLocked(ctx context.Context, id string, state *mcp.ServerSessionState) (*session, error) {
	t := &mcp.StreamableServerTransport{SessionID: id, EventStore: handlerEvents{h.events, h}}
	ss, err := h.server.Connect(ctx, t, &mcp.ServerSessionOptions{State: state})
	if err != nil {
		return nil, fmt.Errorf("connecting the session: %w", err)
	}
	s := &session{t: t, ss: ss, saved: state != nil}
	h.live[id] = s
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		_ = ss.Wait()
		h.mu.Lock()
		if h.live[id] == s {
			delete(h.live, id)
		}
		h.mu.Unlock()
	}()
	return s, nil
}

// save logs the session's initialization once it is complete: the client
// sends the negotiated protocol version with every request after it.
func (h *Handler) save(r *http.Request, s *session) {
	version := r.Header.Get(protocolHeader)
	h.mu.Lock()
	if s.saved || version == "" {
		h.mu.Unlock()
		return
	}
	params := s.ss.InitializeParams()
	if params == nil {
		h.mu.Unlock()
		return
	}
	s.saved = true
	h.mu.Unlock()
	b, err := json.Marshal(params)
	if err == nil {
		err = h.events.record(context.WithoutCancel(r.Context()), s.ss.ID(), SessionSaved{Initialize: b, ProtocolVersion: version})
	}
	if err != nil {
		h.mu.Lock()
		s.saved = false // try again with the next request
		h.mu.Unlock()
	}
}

// Close stops serving: it closes the sessions of this process without
// ending them in the log, so that a Handler started later takes them up,
// and waits for them to stop. Later requests get 503.
func (h *Handler) Close() error {
	h.mu.Lock()
	h.closing = true
	live := make([]*session, 0, len(h.live))
	for _, s := range h.live {
		live = append(live, s)
	}
	h.mu.Unlock()
	for _, s := range live {
		_ = s.ss.Close()
	}
	h.wg.Wait()
	return nil
}

// handlerEvents is the EventStore as a Handler's transports see it: the
// end of a session is not logged when the Handler closes it for a
// shutdown.
type handlerEvents struct {
	*EventStore
	h *Handler
}

func (e handlerEvents) SessionClosed(ctx context.Context, sessionID string) error {
	e.h.mu.Lock()
	closing := e.h.closing
	e.h.mu.Unlock()
	if closing {
		return nil
	}
	return e.EventStore.SessionClosed(ctx, sessionID)
}
