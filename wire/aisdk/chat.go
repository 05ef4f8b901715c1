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
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/internal/option"
	"github.com/sluice-events/sluice/runs"
	"github.com/sluice-events/sluice/store"
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
// the run is stopped (here or from another process sharing the log), when
// a new request to the chat replaces it, or when the Chat closes; not when
// the client disconnects: the run goes on in the log and a client resumes
// it.
type ChatAgent func(ctx context.Context, req ChatRequest, em *sluice.Emitter) error

// MaxChatBytes bounds a ChatRequest body.
const MaxChatBytes = 1 << 20

// ErrInvalid reports an invalid option given to NewChat.
var ErrInvalid = errors.New("aisdk: invalid argument")

// Chat is an AI SDK chat endpoint for useChat's default transport. Mount
// it with http.StripPrefix(base, chat):
//
//   - POST {base} runs the agent on a ChatRequest as a new run of the chat
//     (the chat's ID is the session) and streams the run;
//   - GET {base}/{chatId}/stream answers 204 when the chat has no run open
//     in the log, else the open run's stream from its start: every event
//     of the run replayed from the log through a new encoder, which makes
//     the same parts as the POST's response, and then live. It works in
//     any process that shares the log, also after a restart of the process
//     that produced the run;
//   - POST {base}/{chatId}/stop stops the chat's open run, which keeps its
//     partial message: a run of this process is cancelled (its agent's
//     context ends, and the run ends with run.stopped); a run of another
//     process gets its run.stopped in the log, which ends every stream of
//     it, and its producer, if alive, cancels its agent when it sees it.
//     404 when the chat has no open run.
//
// A run's producer can die (a crash, a kill) with its run open in the log.
// While a run of this process goes on, it logs a heartbeat whenever its
// session has been quiet for a third of the stale time (WithStaleAfter),
// so a run open in the log whose session has logged nothing for the stale
// time has lost its producer. A GET of such a run streams it and ends it
// with a run.failed (code runs.CodeLost), which the stream sends as an
// error and a finish part, keeping the partial message; a GET that waits
// on a run closes it so as soon as it goes stale. A POST to a chat whose
// open run is lost closes it the same way and starts the new run; a POST
// to a chat whose run goes on in another process is refused with 409 (stop
// it first). See package runs.
type Chat struct {
	h     *hub.Hub
	agent ChatAgent
	cfg   chatConfig

	mu   sync.Mutex
	runs map[string]*running // chat ID -> its run in this process
	wg   sync.WaitGroup
}

type running struct {
	run    string
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// Why a run of this process is cancelled (the reason of its run.stopped).
var (
	errStopped  = errors.New("stopped")
	errReplaced = errors.New("replaced by a new request")
	errShutdown = errors.New("the server shut down")
)

type chatConfig struct {
	now   func() time.Time
	stale time.Duration
}

// ChatOption configures a Chat.
type ChatOption func(*chatConfig) error

// WithClock sets the clock that tells how long a chat's session has been
// idle (default time.Now), against the times of its events.
func WithClock(now func() time.Time) ChatOption {
	return func(c *chatConfig) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		c.now = now
		return nil
	}
}

// WithStaleAfter sets how long a chat's session may log nothing before
// its open run is taken as lost (default runs.DefaultStaleAfter). Runs of
// this Chat log a heartbeat every third of it while they are quiet, so
// every process that shares the log must use the same value, longer than
// the difference between the processes' clocks.
func WithStaleAfter(d time.Duration) ChatOption {
	return func(c *chatConfig) error {
		if d <= 0 {
			return fmt.Errorf("%w: stale time %s", ErrInvalid, d)
		}
		c.stale = d
		return nil
	}
}

// NewChat returns a chat endpoint for agent, logging through h.
func NewChat(h *hub.Hub, agent ChatAgent, opts ...ChatOption) (*Chat, error) {
	cfg := chatConfig{now: time.Now, stale: runs.DefaultStaleAfter}
	if err := option.Apply(&cfg, opts, ErrInvalid); err != nil {
		return nil, err
	}
	if h == nil || agent == nil {
		return nil, fmt.Errorf("%w: NewChat needs a hub and an agent", ErrInvalid)
	}
	return &Chat{h: h, agent: agent, cfg: cfg, runs: map[string]*running{}}, nil
}

// Close stops the runs in progress (each ends with run.stopped, reason
// "the server shut down") and waits for them to end.
func (c *Chat) Close() {
	c.mu.Lock()
	for _, r := range c.runs {
		r.cancel(errShutdown)
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
		c.stop(w, r, strings.TrimSuffix(path, "/stop"))
	default:
		wire.WriteError(w, http.StatusNotFound, fmt.Errorf("no such endpoint: %s /%s (POST /, GET /{chatId}/stream, POST /{chatId}/stop)", r.Method, path))
	}
}

// local returns the chat's run in this process, or nil.
func (c *Chat) local(chat string) *running {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs[chat]
}

// claim makes me the chat's run in this process: a run of the chat still
// going on here is cancelled and waited for, so that its end is logged
// before the new run starts.
func (c *Chat) claim(ctx context.Context, chat string, me *running) error {
	for {
		c.mu.Lock()
		old := c.runs[chat]
		if old == nil {
			c.runs[chat] = me
			c.wg.Add(1)
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		old.cancel(errReplaced)
		select {
		case <-old.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *Chat) release(chat string, me *running) {
	c.mu.Lock()
	if c.runs[chat] == me {
		delete(c.runs, chat)
	}
	c.mu.Unlock()
	close(me.done)
	c.wg.Done()
}

// open returns the chat's last run that is open in the log (started and
// not ended), and the cursor just before its first event; "" when none is.
func (c *Chat) open(ctx context.Context, chat string) (string, uint64, error) {
	started := map[string]uint64{}
	for ev, err := range c.h.Store().Read(ctx, store.Query{Session: chat, Types: event.MustPattern("run.*")}) {
		if err != nil {
			return "", 0, err
		}
		switch id := ev.Meta.RunID; {
		case id == "":
		case ev.Type == event.TypeRunStarted:
			started[id] = ev.Seq
		case runs.IsEnd(ev.Type):
			delete(started, id)
		}
	}
	run, first := "", uint64(0)
	for id, seq := range started {
		if seq > first {
			run, first = id, seq
		}
	}
	return run, first - min(first, 1), nil
}

func (c *Chat) post(w http.ResponseWriter, r *http.Request) {
	req, code, err := readChat(w, r)
	if err != nil {
		wire.WriteError(w, code, err)
		return
	}
	ctx := r.Context()
	meta := event.Meta{SessionID: req.ID, RunID: "run-" + event.NewID().String(), ConversationID: req.ID}
	base, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	me := &running{run: meta.RunID, cancel: cancel, done: make(chan struct{})}
	if err := c.claim(ctx, req.ID, me); err != nil {
		cancel(err)
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
	started := false
	defer func() {
		if !started {
			cancel(nil)
			c.release(req.ID, me)
		}
	}()
	// A run of another process still open in the log: closed if lost,
	// else the chat is busy.
	if open, _, err := c.open(ctx, req.ID); err != nil {
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	} else if open != "" {
		idle, err := runs.Idle(ctx, c.h.Store(), req.ID, c.cfg.now())
		if err == nil && idle < c.cfg.stale {
			wire.WriteError(w, http.StatusConflict, fmt.Errorf("chat %q has a run in progress in another process (%s): stop it first (POST /%s/stop)", req.ID, open, req.ID))
			return
		}
		if err == nil {
			err = runs.Close(ctx, c.h, event.Meta{SessionID: req.ID, RunID: open, ConversationID: req.ID}, idle)
		}
		if err != nil {
			wire.WriteError(w, http.StatusServiceUnavailable, err)
			return
		}
	}
	start := [1]event.Event{event.New(event.RunStarted{}, meta)}
	if err := c.h.Append(ctx, start[:]); err != nil {
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
	after := start[0].Seq - 1 // the stream starts with the run
	em := sluice.NewEmitter(c.h, meta)
	if n := len(req.Messages); n > 0 && req.Messages[n-1].Role == "user" {
		m := req.Messages[n-1]
		um := em.WithMeta(func(mm *event.Meta) { mm.MessageID = m.ID })
		sluice.Emit(ctx, um, event.MessageCreated{Role: "user", Content: m.Text(), Index: n - 1})
	}
	runCtx, stopKeep, err := runs.Keep(base, c.h, meta, after, c.cfg.stale/3)
	if err == nil {
		var feed *hub.Feed
		if feed, err = c.h.Subscribe(hub.Selector{Session: req.ID}, after); err == nil {
			defer feed.Close()
			started = true
			go c.work(runCtx, stopKeep, req, em, me)
			setHeaders(w)
			wire.WriteFeed(ctx, w, feed, New(), nil, nil)
			return
		}
		stopKeep()
	}
	// The run started in the log but cannot go on: it ends at once.
	runs.End(context.WithoutCancel(ctx), c.h, meta, event.RunFailed{Error: event.ErrorFrom(err)})
	wire.WriteError(w, http.StatusServiceUnavailable, err)
}

// work runs the agent for one request and logs the run's end.
func (c *Chat) work(ctx context.Context, stopKeep func(), req ChatRequest, em *sluice.Emitter, me *running) {
	defer c.release(req.ID, me)
	defer stopKeep()
	err := c.agent(sluice.WithEmitter(ctx, em), req, em)
	var end event.Payload
	switch {
	case err == nil:
		end = event.RunCompleted{Status: "success"}
	case ctx.Err() != nil:
		reason := errStopped.Error()
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			reason = cause.Error()
		}
		end = event.RunStopped{Reason: reason}
	default:
		end = event.RunFailed{Error: event.ErrorFrom(err)}
	}
	// If the run was stopped or closed elsewhere, its end is logged
	// already and this one is a duplicate.
	runs.End(context.WithoutCancel(ctx), c.h, em.Meta(), end)
}

// resume answers GET {chatId}/stream.
func (c *Chat) resume(w http.ResponseWriter, r *http.Request, chat string) {
	if err := store.CheckSessionID(chat); err != nil || chat == "" {
		wire.WriteError(w, http.StatusBadRequest, fmt.Errorf("chat ID %q: %v", chat, err))
		return
	}
	ctx := r.Context()
	run, after, err := c.open(ctx, chat)
	if err != nil {
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
	if run == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	feed, err := c.h.Subscribe(hub.Selector{Session: chat}, after)
	if err != nil {
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
	defer feed.Close()
	if l := c.local(chat); l == nil || l.run != run {
		// No producer here: close the run if it is or goes stale while
		// this stream waits on it.
		wctx, stop := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			runs.Watch(wctx, c.h, event.Meta{SessionID: chat, RunID: run, ConversationID: chat}, c.cfg.stale, c.cfg.now)
		}()
		defer func() { stop(); <-watched }()
	}
	setHeaders(w)
	wire.WriteFeed(ctx, w, feed, New(), nil, nil)
}

// stop answers POST {chatId}/stop.
func (c *Chat) stop(w http.ResponseWriter, r *http.Request, chat string) {
	if err := store.CheckSessionID(chat); err != nil || chat == "" {
		wire.WriteError(w, http.StatusBadRequest, fmt.Errorf("chat ID %q: %v", chat, err))
		return
	}
	ctx := r.Context()
	if l := c.local(chat); l != nil {
		l.cancel(errStopped)
		select { // its run.stopped is logged when this answers
		case <-l.done:
		case <-ctx.Done():
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	run, _, err := c.open(ctx, chat)
	if err != nil {
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
	if run == "" {
		wire.WriteError(w, http.StatusNotFound, fmt.Errorf("chat %q has no run in progress", chat))
		return
	}
	if err := runs.End(ctx, c.h, event.Meta{SessionID: chat, RunID: run, ConversationID: chat}, event.RunStopped{Reason: errStopped.Error()}); err != nil {
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
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
