package agui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/wire"
)

// RunAgentInput is the body of an AG-UI run request. Messages, tools,
// context and resume entries are kept as JSON for the agent to read.
type RunAgentInput struct {
	ThreadID       string            `json:"threadId"`
	RunID          string            `json:"runId"`
	ParentRunID    string            `json:"parentRunId,omitempty"`
	State          json.RawMessage   `json:"state,omitempty"`
	Messages       []InputMessage    `json:"messages"`
	Tools          []json.RawMessage `json:"tools,omitempty"`
	Context        []json.RawMessage `json:"context,omitempty"`
	ForwardedProps json.RawMessage   `json:"forwardedProps,omitempty"`
	Resume         []json.RawMessage `json:"resume,omitempty"`
}

// InputMessage is a message of a RunAgentInput. Content is a string for
// text messages; other content (parts) stays as JSON.
type InputMessage struct {
	ID      string          `json:"id"`
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content,omitempty"`
}

// Text returns the message's content if it is a string.
func (m InputMessage) Text() string {
	var s string
	json.Unmarshal(m.Content, &s)
	return s
}

// Agent runs one AG-UI run: it reads the input and emits its events
// through em (which stamps them with the thread as session and the run).
// The handler ends the run when Agent returns: run.completed, or
// run.failed with its error.
type Agent func(ctx context.Context, in RunAgentInput, em *sluice.Emitter) error

// MaxInputBytes bounds a RunAgentInput body.
const MaxInputBytes = 1 << 20

// Handler returns an http.Handler that makes agent an AG-UI endpoint:
// POST a RunAgentInput, and the handler logs the run's events through h
// (the thread is the session, so the run survives a restart in the log)
// and streams them back as AG-UI events until the run ends. The run's
// run.started and the input's last message, if it is the user's (as
// message.created), are logged first and not streamed back: the client
// has them.
// Bad input (not JSON, no threadId or runId, too large) gets a 4xx JSON
// error and stores nothing.
//
// Not yet: AG-UI 1.0 interrupts and resume entries are passed to the agent
// as they come but not checked or stored by the handler.
func Handler(h *hub.Hub, agent Agent) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, code, err := readInput(w, r)
		if err != nil {
			wire.WriteError(w, code, err)
			return
		}
		ctx := r.Context()
		em := sluice.NewEmitter(h, event.Meta{SessionID: in.ThreadID, RunID: in.RunID, ConversationID: in.ThreadID})
		// The run's start and the user's message go to the log first; the
		// client has the message already, so the stream starts after them.
		if err := sluice.Emit(ctx, em, event.RunStarted{Prompt: lastUser(in).Text()}); err != nil {
			wire.WriteError(w, http.StatusServiceUnavailable, err)
			return
		}
		if m := lastUser(in); m.Role == "user" {
			um := em.WithMeta(func(mm *event.Meta) { mm.MessageID = m.ID })
			sluice.Emit(ctx, um, event.MessageCreated{Role: "user", Content: m.Text(), Index: len(in.Messages) - 1})
		}
		si, err := h.Store().Session(ctx, in.ThreadID)
		if err != nil {
			wire.WriteError(w, http.StatusServiceUnavailable, err)
			return
		}
		feed, err := h.Subscribe(hub.Selector{Session: in.ThreadID}, si.LastSeq)
		if err != nil {
			wire.WriteError(w, http.StatusServiceUnavailable, err)
			return
		}
		defer feed.Close()
		runCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			err := agent(sluice.WithEmitter(runCtx, em), in, em)
			end := context.WithoutCancel(runCtx)
			switch {
			case err == nil:
				sluice.Emit(end, em, event.RunCompleted{Status: "success"})
			case runCtx.Err() != nil:
				sluice.Emit(end, em, event.RunStopped{Reason: "the client went away"})
			default:
				sluice.Emit(end, em, event.RunFailed{Error: event.ErrorFrom(err)})
			}
		}()
		defer func() { cancel(); <-done }()
		stream(ctx, w, feed, in.RunID)
	})
}

func lastUser(in RunAgentInput) InputMessage {
	if n := len(in.Messages); n > 0 && in.Messages[n-1].Role == "user" {
		return in.Messages[n-1]
	}
	return InputMessage{}
}

// stream writes the AG-UI events of the feed until the run ends or the
// client leaves.
func stream(ctx context.Context, w http.ResponseWriter, feed *hub.Feed, run string) {
	w.Header().Set("Content-Type", wire.ContentTypeSSE)
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	wire.WriteFeed(ctx, w, feed, New(), nil, func(ev *event.Event) bool {
		switch ev.Type {
		case event.TypeRunCompleted, event.TypeRunFailed, event.TypeRunStopped:
			return ev.Meta.RunID == run
		}
		return false
	})
}

func readInput(w http.ResponseWriter, r *http.Request) (RunAgentInput, int, error) {
	var in RunAgentInput
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		return in, http.StatusMethodNotAllowed, fmt.Errorf("%s is not allowed: POST a RunAgentInput", r.Method)
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return in, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Type %q: send application/json", r.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxInputBytes))
	if err := dec.Decode(&in); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return in, http.StatusRequestEntityTooLarge, fmt.Errorf("the body is larger than %d bytes", MaxInputBytes)
		}
		return in, http.StatusBadRequest, fmt.Errorf("the body is not a RunAgentInput: %v", err)
	}
	switch {
	case in.ThreadID == "" || in.RunID == "":
		return in, http.StatusBadRequest, errors.New("threadId and runId are required")
	case store.CheckSessionID(in.ThreadID) != nil:
		return in, http.StatusBadRequest, fmt.Errorf("threadId: %v", store.CheckSessionID(in.ThreadID))
	case store.CheckNewSessionID(in.ThreadID) != nil:
		return in, http.StatusBadRequest, fmt.Errorf("threadId: %v", store.CheckNewSessionID(in.ThreadID))
	}
	return in, 0, nil
}
