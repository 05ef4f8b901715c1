package agui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"mime"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/internal/option"
	"github.com/sluice-events/sluice/runs"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/timeline"
	"github.com/sluice-events/sluice/wire"
)

// RunAgentInput is the body of an AG-UI run request. Messages, tools and
// context are kept as JSON for the agent to read.
type RunAgentInput struct {
	ThreadID       string            `json:"threadId"`
	RunID          string            `json:"runId"`
	ParentRunID    string            `json:"parentRunId,omitempty"`
	State          json.RawMessage   `json:"state,omitempty"`
	Messages       []InputMessage    `json:"messages"`
	Tools          []json.RawMessage `json:"tools,omitempty"`
	Context        []json.RawMessage `json:"context,omitempty"`
	ForwardedProps json.RawMessage   `json:"forwardedProps,omitempty"`
	// Resume answers the open interrupts of the thread's last interrupted
	// run, one entry each. Handler checks them against the log before the
	// agent runs: an agent sees only a resume that answers every open
	// interrupt.
	Resume []ResumeEntry `json:"resume,omitempty"`
}

// ResumeEntry is AG-UI's answer to one interrupt.
type ResumeEntry struct {
	InterruptID string          `json:"interruptId"`
	Status      string          `json:"status"`            // Resolved or Cancelled
	Payload     json.RawMessage `json:"payload,omitempty"` // the answer, for Resolved
	Metadata    json.RawMessage `json:"metadata,omitempty"`
}

// The statuses of a ResumeEntry.
const (
	Resolved  = "resolved"  // the interrupt is answered
	Cancelled = "cancelled" // the interrupt is abandoned
)

// Answer returns the resume entry that answers the interrupt id, if any.
func (in RunAgentInput) Answer(id string) (ResumeEntry, bool) {
	for _, e := range in.Resume {
		if e.InterruptID == id {
			return e, true
		}
	}
	return ResumeEntry{}, false
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
// The handler ends the run when Agent returns: run.completed, run.failed
// with its error, or run.interrupted if the error is an Interrupt.
type Agent func(ctx context.Context, in RunAgentInput, em *sluice.Emitter) error

// Interrupt returns the error an Agent returns to end its run waiting for
// something only the outside world can give it, such as a person's
// approval: the handler logs the interrupts as run.interrupted and the
// AG-UI stream ends with RUN_FINISHED whose outcome is "interrupt". A
// later run on the thread continues once its input's resume answers every
// one of them (RunAgentInput.Answer). Each interrupt needs an ID, unique
// among them, and a Reason; else the run fails with ErrBadInterrupt.
func Interrupt(first event.Interrupt, more ...event.Interrupt) error {
	return &InterruptError{Interrupts: append([]event.Interrupt{first}, more...)}
}

// InterruptError is the error of Interrupt.
type InterruptError struct {
	Interrupts []event.Interrupt
}

func (e *InterruptError) Error() string {
	ids := make([]string, len(e.Interrupts))
	for i, in := range e.Interrupts {
		ids[i] = in.ID
	}
	return "agui: the run waits for " + strings.Join(ids, ", ")
}

// check reports an interrupt without ID or reason, or a repeated ID.
func (e *InterruptError) check() error {
	seen := map[string]bool{}
	for i, in := range e.Interrupts {
		switch {
		case in.ID == "" || in.Reason == "":
			return fmt.Errorf("%w: interrupt %d has no id or no reason", ErrBadInterrupt, i)
		case seen[in.ID]:
			return fmt.Errorf("%w: interrupt id %q is repeated", ErrBadInterrupt, in.ID)
		}
		seen[in.ID] = true
	}
	return nil
}

// Errors of the handler: a resume it refuses (a 409 whose message wraps
// one of the first four) and an agent's malformed interrupt.
var (
	// ErrOpenInterrupts: the thread waits for answers the input does not
	// give (an input without resume, or one that misses some).
	ErrOpenInterrupts = errors.New("open interrupts are not answered")
	// ErrUnknownInterrupt: the resume answers an interrupt that is not
	// open on the thread.
	ErrUnknownInterrupt = errors.New("no such open interrupt")
	// ErrExpiredInterrupt: the resume resolves an interrupt after its
	// expiry; it can only be cancelled.
	ErrExpiredInterrupt = errors.New("the interrupt has expired")
	// ErrRunConflict: the runId names a run of the thread that was started
	// with other answers.
	ErrRunConflict = errors.New("the run was started with other answers")
	// ErrBadInterrupt: an agent's Interrupt lacks an ID or a reason, or
	// repeats an ID; the run fails with it.
	ErrBadInterrupt = errors.New("agui: bad interrupt")
)

// MaxInputBytes bounds a RunAgentInput body.
const MaxInputBytes = 1 << 20

// ErrInvalid reports an invalid argument to Handler or one of its
// options.
var ErrInvalid = errors.New("agui: invalid argument")

// Option configures Handler.
type Option func(*handler) error

// WithClock sets the clock that tells whether an interrupt has expired
// and how long a thread has been idle (default time.Now), against the
// times of its events.
func WithClock(now func() time.Time) Option {
	return func(hd *handler) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrInvalid)
		}
		hd.now = now
		return nil
	}
}

// WithStaleAfter sets how long a thread with an open run may log nothing
// before the run is taken as lost (default runs.DefaultStaleAfter; it
// must be positive). Runs of the handler log a heartbeat
// every third of it while they are quiet, so every process that shares
// the log must use the same value, longer than the difference between the
// processes' clocks.
func WithStaleAfter(d time.Duration) Option {
	return func(hd *handler) error {
		if d <= 0 {
			return fmt.Errorf("%w: stale time %s", ErrInvalid, d)
		}
		hd.stale = d
		return nil
	}
}

// Handler returns an http.Handler that makes agent an AG-UI endpoint:
// POST a RunAgentInput, and the handler logs the run's events through h
// (the thread is the session, so the run survives a restart in the log)
// and streams them back as AG-UI events until the run ends. The run's
// run.started, its run.resumed and the input's last message, if it is the
// user's (as message.created; not for a run that answers interrupts: the
// message belongs to the interrupted run), are logged first, in one
// append, and not streamed back: the client has them.
//
// Interrupts live in the log, so a run waiting for a person survives a
// restart: an agent ends its run with Interrupt, the handler logs
// run.interrupted, and the next input on the thread must answer every open
// interrupt in its resume (the handler reads the thread's run.* events to
// know them). An input that leaves one unanswered, answers one that is not
// open, or resolves one past its expiry is refused with 409 and a JSON
// error naming the reason, and stores nothing. Accepted answers are logged
// as run.resumed before the agent runs.
//
// A runId names one run of its thread: an input whose runId is already in
// the thread's log does not run the agent again and stores nothing; it
// gets that run's stream, replayed from the log and then live (409 if its
// resume differs from the answers that run was started with). A client
// that retries a run, a resume in particular, sends the same runId.
//
// Bad input (not JSON, no threadId or runId, a malformed resume entry, too
// large) gets a 4xx JSON error and stores nothing.
//
// A run's end is logged once (package runs): every end of a run carries
// the same event ID, so a run stopped or closed elsewhere keeps its first
// end. While the agent runs, the handler logs a run.heartbeat whenever the
// thread has been quiet for a third of the stale time (WithStaleAfter;
// the AG-UI stream leaves heartbeats out), and cancels the agent's context
// when the run's end appears in the log from elsewhere. A run's producer
// can die (a crash, a kill) with its run open in the log: an input that
// repeats such a run, in a process that does not run it, gets the run so
// far and, once the thread has logged nothing for the stale time, the
// run's end as lost (run.failed with the code runs.CodeLost, RUN_ERROR on
// the stream), which it logs.
//
// Starts are serialized per thread within the handler; two processes that
// serve one thread over a shared store are not coordinated.
//
// A nil hub or agent, or an invalid option, is an error wrapping
// ErrInvalid.
func Handler(h *hub.Hub, agent Agent, opts ...Option) (http.Handler, error) {
	hd := &handler{h: h, agent: agent, now: time.Now, stale: runs.DefaultStaleAfter, seed: maphash.MakeSeed(), held: map[string]bool{}}
	if err := option.Apply(hd, opts, ErrInvalid); err != nil {
		return nil, err
	}
	if h == nil || agent == nil {
		return nil, fmt.Errorf("%w: Handler needs a hub and an agent", ErrInvalid)
	}
	return hd, nil
}

type handler struct {
	h     *hub.Hub
	agent Agent
	now   func() time.Time
	stale time.Duration
	seed  maphash.Seed
	locks [64]sync.Mutex // starts, by thread hash

	mu   sync.Mutex
	held map[string]bool // the runs whose agents run here, by runKey
}

func runKey(m event.Meta) string { return m.SessionID + "\x00" + m.RunID }

// holding reports whether the run's agent runs in this handler.
func (hd *handler) holding(m event.Meta) bool {
	hd.mu.Lock()
	defer hd.mu.Unlock()
	return hd.held[runKey(m)]
}

func (hd *handler) hold(m event.Meta, on bool) {
	hd.mu.Lock()
	defer hd.mu.Unlock()
	if on {
		hd.held[runKey(m)] = true
	} else {
		delete(hd.held, runKey(m))
	}
}

func (hd *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	in, code, err := readInput(w, r)
	if err != nil {
		wire.WriteError(w, code, err)
		return
	}
	ctx := r.Context()
	em := sluice.NewEmitter(hd.h, event.Meta{SessionID: in.ThreadID, RunID: in.RunID, ConversationID: in.ThreadID})
	start, state, code, err := hd.start(ctx, in, em)
	if err != nil {
		wire.WriteError(w, code, err)
		return
	}
	fresh := state == runNew
	if fresh {
		hd.hold(em.Meta(), true)
	}
	after, err := prefixEnd(ctx, hd.h.Store(), in, start)
	var feed *hub.Feed
	if err == nil {
		feed, err = hd.h.Subscribe(hub.Selector{Session: in.ThreadID}, after)
	}
	var runCtx context.Context
	var stopKeep func()
	if err == nil && fresh {
		if runCtx, stopKeep, err = runs.Keep(ctx, hd.h, em.Meta(), start-1, hd.stale/3); err != nil {
			feed.Close()
		}
	}
	if err != nil {
		if fresh { // the run is in the log: end it there
			end(ctx, hd.h, em.Meta(), err)
			hd.hold(em.Meta(), false)
		}
		wire.WriteError(w, http.StatusServiceUnavailable, err)
		return
	}
	defer feed.Close()
	switch {
	case fresh:
		runCtx, cancel := context.WithCancel(runCtx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer hd.hold(em.Meta(), false)
			defer stopKeep()
			end(runCtx, hd.h, em.Meta(), hd.agent(sluice.WithEmitter(runCtx, em), in, em))
		}()
		defer func() { cancel(); <-done }()
	case state == runOpen && !hd.holding(em.Meta()):
		// No producer here: close the run if it is or goes stale while
		// this stream waits on it.
		wctx, stop := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			runs.Watch(wctx, hd.h, em.Meta(), hd.stale, hd.now)
		}()
		defer func() { stop(); <-watched }()
	}
	stream(ctx, w, feed, in.RunID)
}

// end logs how the agent's run ended, as the run's one end (see package
// runs): if the run was ended elsewhere already (stopped, closed as lost),
// the log keeps that end.
func end(runCtx context.Context, h *hub.Hub, meta event.Meta, err error) {
	ctx := context.WithoutCancel(runCtx)
	var ie *InterruptError
	var p event.Payload
	switch {
	case err == nil:
		p = event.RunCompleted{Status: "success"}
	case errors.As(err, &ie):
		if bad := ie.check(); bad != nil {
			p = event.RunFailed{Error: event.ErrorFrom(bad)}
			break
		}
		// An interrupt ends the run too (until a new run resumes it),
		// so it carries the run's end ID like run.completed does.
		ev := event.New(event.RunInterrupted{Interrupts: ie.Interrupts}, meta)
		ev.ID = runs.EndID(meta.SessionID, meta.RunID)
		h.Publish(ctx, &ev)
		return
	case runCtx.Err() != nil:
		p = event.RunStopped{Reason: "the client went away"}
	default:
		p = event.RunFailed{Error: event.ErrorFrom(err)}
	}
	runs.End(ctx, h, meta, p)
}

// What an input's runId names, in the thread's log.
type runState int

const (
	runNew   runState = iota // a run the input starts
	runOpen                  // a run of the log, not ended
	runEnded                 // a run of the log that ended (or waits on interrupts)
)

// start decides, from the thread's run.* events in the log, whether the
// input starts a new run (and then logs its start) or repeats one. It
// returns the sequence number of the run's run.started and the run's
// state; a refusal has its status code.
func (hd *handler) start(ctx context.Context, in RunAgentInput, em *sluice.Emitter) (seq uint64, state runState, code int, err error) {
	mu := &hd.locks[maphash.String(hd.seed, in.ThreadID)%uint64(len(hd.locks))]
	mu.Lock()
	defer mu.Unlock()
	tl, started, err := threadRuns(ctx, hd.h.Store(), in.ThreadID)
	if err != nil {
		return 0, runNew, http.StatusServiceUnavailable, err
	}
	answers := make([]event.InterruptAnswer, len(in.Resume))
	for i, e := range in.Resume {
		answers[i] = event.InterruptAnswer{InterruptID: e.InterruptID, Status: e.Status, Payload: e.Payload, Metadata: e.Metadata}
	}
	if s, ok := started[in.RunID]; ok {
		run := tl.Run(in.RunID)
		if !sameAnswers(run.Answers, answers) {
			return 0, runEnded, http.StatusConflict, fmt.Errorf("%w: run %q of thread %q is in the log with other resume entries; a new run needs a new runId", ErrRunConflict, in.RunID, in.ThreadID)
		}
		if run.Status == timeline.StatusRunning {
			return s, runOpen, 0, nil
		}
		return s, runEnded, 0, nil
	}
	if err := hd.checkResume(tl, in); err != nil {
		return 0, runNew, http.StatusConflict, err
	}
	evs := []event.Event{event.New(event.RunStarted{Prompt: lastUser(in).Text()}, em.Meta())}
	w := tl.Waiting()
	if w != nil {
		evs = append(evs, event.New(event.RunResumed{Interrupted: w.ID, Answers: answers}, em.Meta()))
	}
	if m := lastUser(in); m.Role == "user" && w == nil {
		um := em.Meta()
		um.MessageID = m.ID
		evs = append(evs, event.New(event.MessageCreated{Role: "user", Content: m.Text(), Index: len(in.Messages) - 1}, um))
	}
	if err := hd.h.Append(ctx, evs); err != nil && !errors.Is(err, hub.ErrNotDelivered) {
		return 0, runNew, http.StatusServiceUnavailable, err
	}
	return evs[0].Seq, runNew, 0, nil
}

// checkResume checks in.Resume against the thread's open interrupts.
func (hd *handler) checkResume(tl *timeline.Timeline, in RunAgentInput) error {
	w := tl.Waiting()
	if w == nil {
		if len(in.Resume) > 0 {
			return fmt.Errorf("%w: thread %q waits for no answer, but the resume answers %q", ErrUnknownInterrupt, in.ThreadID, in.Resume[0].InterruptID)
		}
		return nil
	}
	open := map[string]*event.Interrupt{}
	for i := range w.Interrupts {
		open[w.Interrupts[i].ID] = &w.Interrupts[i]
	}
	now := hd.now()
	for _, e := range in.Resume {
		it := open[e.InterruptID]
		switch {
		case it == nil:
			return fmt.Errorf("%w: run %q of thread %q waits for %s, not %q", ErrUnknownInterrupt, w.ID, in.ThreadID, ids(w.Interrupts), e.InterruptID)
		case e.Status == Resolved && !it.ExpiresAt.IsZero() && !now.Before(it.ExpiresAt):
			return fmt.Errorf("%w: interrupt %q of run %q expired at %s; it can only be cancelled", ErrExpiredInterrupt, it.ID, w.ID, it.ExpiresAt.UTC().Format(time.RFC3339))
		}
		delete(open, e.InterruptID)
	}
	if len(open) > 0 {
		var missing []event.Interrupt
		for _, it := range w.Interrupts {
			if open[it.ID] != nil {
				missing = append(missing, it)
			}
		}
		return fmt.Errorf("%w: run %q of thread %q waits for answers to %s; resume must answer (resolve or cancel) each", ErrOpenInterrupts, w.ID, in.ThreadID, ids(missing))
	}
	return nil
}

func ids(ins []event.Interrupt) string {
	q := make([]string, len(ins))
	for i, in := range ins {
		q[i] = fmt.Sprintf("%q", in.ID)
	}
	return strings.Join(q, ", ")
}

// sameAnswers reports whether a and b answer the same interrupts alike,
// in any order.
func sameAnswers(a, b []event.InterruptAnswer) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		i := slices.IndexFunc(b, func(y event.InterruptAnswer) bool { return y.InterruptID == x.InterruptID })
		if i < 0 || b[i].Status != x.Status || !bytes.Equal(b[i].Payload, x.Payload) || !bytes.Equal(b[i].Metadata, x.Metadata) {
			return false
		}
	}
	return true
}

var runTypes = event.MustPattern("run.*")

// threadRuns folds the thread's run.* events from the log, and returns the
// sequence number of each run's run.started.
func threadRuns(ctx context.Context, st store.Store, thread string) (*timeline.Timeline, map[string]uint64, error) {
	tl := timeline.New(thread)
	started := map[string]uint64{}
	for ev, err := range st.Read(ctx, store.Query{Session: thread, Types: runTypes}) {
		if err != nil {
			return nil, nil, fmt.Errorf("agui: read thread %q: %w", thread, err)
		}
		if _, ok := ev.Payload.(event.RunStarted); ok && ev.Meta.RunID != "" {
			if _, seen := started[ev.Meta.RunID]; !seen {
				started[ev.Meta.RunID] = ev.Seq
			}
		}
		tl.Apply(&ev)
	}
	return tl, started, nil
}

// prefixEnd returns the sequence number of the last event the handler
// logged with the run's start (run.started at seq, then run.resumed and
// the input's user message if any): the stream starts after it.
func prefixEnd(ctx context.Context, st store.Store, in RunAgentInput, seq uint64) (uint64, error) {
	last, user := seq, lastUser(in)
	for ev, err := range st.Read(ctx, store.Query{Session: in.ThreadID, After: seq, Limit: 2}) {
		if err != nil {
			return 0, fmt.Errorf("agui: read thread %q: %w", in.ThreadID, err)
		}
		if ev.Seq != last+1 || ev.Meta.RunID != in.RunID {
			break
		}
		switch p := ev.Payload.(type) {
		case event.RunResumed:
		case event.MessageCreated:
			if p.Role != "user" || user.Role != "user" || ev.Meta.MessageID != user.ID {
				return last, nil
			}
		default:
			return last, nil
		}
		last = ev.Seq
	}
	return last, nil
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
		case event.TypeRunCompleted, event.TypeRunFailed, event.TypeRunStopped, event.TypeRunInterrupted:
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
	if err := checkEntries(in.Resume); err != nil {
		return in, http.StatusBadRequest, err
	}
	return in, 0, nil
}

// checkEntries checks the resume entries' shape and compacts their JSON,
// as the log keeps it.
func checkEntries(es []ResumeEntry) error {
	seen := map[string]bool{}
	for i := range es {
		e := &es[i]
		for _, raw := range []*json.RawMessage{&e.Payload, &e.Metadata} {
			if string(*raw) == "null" {
				*raw = nil
			}
			if len(*raw) > 0 {
				var b bytes.Buffer
				json.Compact(&b, *raw)
				*raw = b.Bytes()
			}
		}
		switch {
		case e.InterruptID == "":
			return fmt.Errorf("resume[%d]: interruptId is required", i)
		case seen[e.InterruptID]:
			return fmt.Errorf("resume[%d]: interrupt %q is answered twice", i, e.InterruptID)
		case e.Status != Resolved && e.Status != Cancelled:
			return fmt.Errorf("resume[%d]: status %q: want %q or %q", i, e.Status, Resolved, Cancelled)
		case len(e.Metadata) > 0 && e.Metadata[0] != '{':
			return fmt.Errorf("resume[%d]: metadata must be a JSON object", i)
		}
		seen[e.InterruptID] = true
	}
	return nil
}
