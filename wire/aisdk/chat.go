package aisdk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/timeline"
	"github.com/sluice-events/sluice/wire"
)

// ChatRequest is what the AI SDK's chat transport (useChat) posts.
type ChatRequest struct {
	ID        string      `json:"id"`
	Messages  []UIMessage `json:"messages"`
	Trigger   string      `json:"trigger,omitempty"`
	MessageID string      `json:"messageId,omitempty"`
}

// UIMessage is a message of a ChatRequest; parts other than text stay
// JSON.
type UIMessage struct {
	ID    string            `json:"id"`
	Role  string            `json:"role"`
	Parts []json.RawMessage `json:"parts"`
}

// Text returns the message's text parts joined.
func (m UIMessage) Text() string {
	var b strings.Builder
	for _, p := range m.Parts {
		var t struct{ Type, Text string }
		if json.Unmarshal(p, &t) == nil && t.Type == "text" {
			b.WriteString(t.Text)
		}
	}
	return b.String()
}

// ChatAgent answers one chat request, emitting its events through em
// (stamped with the chat as session and a new run). Its context ends when
// the run is stopped, not when the client disconnects: the run goes on in
// the log and a client resumes it.
type ChatAgent func(ctx context.Context, req ChatRequest, em *sluice.Emitter) error

// MaxChatBytes bounds a ChatRequest body.
const MaxChatBytes = 1 << 20

// Chat is an AI SDK chat endpoint for useChat's default transport: POST
// {base} runs the agent and streams the run; GET {base}/{chatId}/stream
// answers 204 when the chat has no run in progress, else the run's stream
// rebuilt from the log and then live (so it survives a restart of the
// process that produced it); POST {base}/{chatId}/stop stops the run, which
// keeps its partial message. Mount it with http.StripPrefix(base, chat).
type Chat struct {
	h     *hub.Hub
	agent ChatAgent

	mu   sync.Mutex
	runs map[string]*running // chat ID -> its run in this process
	wg   sync.WaitGroup
}

type running struct{ cancel context.CancelFunc }

// NewChat returns a chat endpoint for agent, logging through h.
func NewChat(h *hub.Hub, agent ChatAgent) *Chat {
	return &Chat{h: h, agent: agent, runs: map[string]*running{}}
}

// Close stops the runs in progress and waits for them to end.
func (c *Chat) Close() {
	c.mu.Lock()
	for _, r := range c.runs {
		r.cancel()
	}
	c.mu.Unlock()
	c.wg.Wait()
}

// ServeHTTP implements http.Handler.
func (c *Chat) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.Path, "/")
	switch {
	case path == "" && r.Method == http.MethodPost:
		c.post(w, r)
	case strings.HasSuffix(path, "/stream") && r.Method == http.MethodGet:
		c.resume(w, r, strings.TrimSuffix(path, "/stream"))
	case strings.HasSuffix(path, "/stop") && r.Method == http.MethodPost:
		c.stop(w, strings.TrimSuffix(path, "/stop"))
	default:
		wire.WriteError(w, http.StatusNotFound, fmt.Errorf("no such endpoint: %s /%s (POST /, GET /{chatId}/stream, POST /{chatId}/stop)", r.Method, path))
	}
}

func (c *Chat) post(w http.ResponseWriter, r *http.Request) {
	req, code, err := readChat(w, r)
	if err != nil {
		wire.WriteError(w, code, err)
		return
	}
	run := "run-" + event.NewID().String()
	em := sluice.NewEmitter(c.h, event.Meta{SessionID: req.ID, RunID: run, ConversationID: req.ID})
	ctx := r.Context()
	var after uint64 // the stream starts with the run
	if si, err := c.h.Store().Session(ctx, req.ID); err == nil {
		after = si.LastSeq
	} else if !errors.Is(err, store.ErrNotFound) {
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
	if err := sluice.Emit(ctx, em, event.RunStarted{}); err != nil {
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
	if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == "user" {
		m := req.Messages[n-1]
		um := em.WithMeta(func(mm *event.Meta) { mm.MessageID = m.ID })
		sluice.Emit(ctx, um, event.MessageCreated{Role: "user", Content: m.Text(), Index: n - 1})
	}
	feed, err := c.h.Subscribe(hub.Selector{Session: req.ID}, after)
	if err != nil {
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
	defer feed.Close()
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	me := &running{cancel: cancel}
	c.mu.Lock()
	if old := c.runs[req.ID]; old != nil {
		old.cancel() // a new request replaces the chat's run
	}
	c.runs[req.ID] = me
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		defer func() {
			c.mu.Lock()
			if c.runs[req.ID] == me {
				delete(c.runs, req.ID)
			}
			c.mu.Unlock()
			cancel()
		}()
		err := c.agent(sluice.WithEmitter(runCtx, em), req, em)
		end := context.WithoutCancel(runCtx)
		switch {
		case err == nil:
			sluice.Emit(end, em, event.RunCompleted{Status: "success"})
		case runCtx.Err() != nil:
			sluice.Emit(end, em, event.RunStopped{Reason: "stopped"})
		default:
			sluice.Emit(end, em, event.RunFailed{Error: event.ErrorFrom(err)})
		}
	}()
	setHeaders(w)
	wire.WriteFeed(ctx, w, feed, New(), nil, nil)
}

// resume answers GET {chatId}/stream.
func (c *Chat) resume(w http.ResponseWriter, r *http.Request, chat string) {
	if err := store.CheckSessionID(chat); err != nil || chat == "" {
		wire.WriteError(w, http.StatusBadRequest, fmt.Errorf("chat ID %q: %v", chat, err))
		return
	}
	tl, err := timeline.Read(r.Context(), c.h.Store(), chat, 0)
	if err != nil {
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
	if tl.OpenRun() == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	feed, err := c.h.Subscribe(hub.Selector{Session: chat}, tl.Seq)
	if err != nil {
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
	defer feed.Close()
	enc := New()
	prelude, err := enc.Resume(nil, tl)
	if err != nil {
		wire.WriteError(w, http.StatusInternalServerError, err)
		return
	}
	setHeaders(w)
	wire.WriteFeed(r.Context(), w, feed, enc, prelude, nil)
}

func (c *Chat) stop(w http.ResponseWriter, chat string) {
	c.mu.Lock()
	r := c.runs[chat]
	c.mu.Unlock()
	if r == nil {
		wire.WriteError(w, http.StatusNotFound, fmt.Errorf("chat %q has no run in progress here", chat))
		return
	}
	r.cancel()
	w.WriteHeader(http.StatusNoContent)
}

func setHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", wire.ContentTypeSSE)
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set(Header, HeaderVersion)
	w.WriteHeader(http.StatusOK)
}

func readChat(w http.ResponseWriter, r *http.Request) (ChatRequest, int, error) {
	var req ChatRequest
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return req, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Type %q: send application/json", r.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxChatBytes)).Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return req, http.StatusRequestEntityTooLarge, fmt.Errorf("the body is larger than %d bytes", MaxChatBytes)
		}
		return req, http.StatusBadRequest, fmt.Errorf("the body is not a chat request: %v", err)
	}
	if req.ID == "" {
		return req, http.StatusBadRequest, errors.New("id (the chat ID) is required")
	}
	if err := store.CheckNewSessionID(req.ID); err != nil {
		return req, http.StatusBadRequest, fmt.Errorf("id: %v", err)
	}
	return req, 0, nil
}
