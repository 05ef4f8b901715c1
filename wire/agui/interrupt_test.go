package agui_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/internal/nodeclient"
	"github.com/sluice-events/sluice/internal/servetest"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/sqlite"
	"github.com/sluice-events/sluice/wire/agui"
)

var deadline = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// booking is an agent that asks for approval (which expires at expires)
// and a seat before it books, and books (or not) once they are answered.
// It counts its runs.
type booking struct {
	expires time.Time
	runs    atomic.Int32
}

func (b *booking) agent(ctx context.Context, in agui.RunAgentInput, em *sluice.Emitter) error {
	b.runs.Add(1)
	say := func(id, text string) error {
		m := em.WithMeta(func(m *event.Meta) { m.MessageID = id })
		for _, p := range []event.Payload{
			event.MessageStarted{ID: id, Role: "assistant"},
			event.TextDelta{Text: text},
			event.MessageStopped{ID: id, StopReason: "end_turn"},
		} {
			if err := sluice.Emit(ctx, m, p); err != nil {
				return err
			}
		}
		return nil
	}
	a, ok := in.Answer("approve")
	if !ok {
		if err := say("ask-"+in.RunID, "I need your approval."); err != nil {
			return err
		}
		return agui.Interrupt(
			event.Interrupt{ID: "approve", Reason: "approval", Message: "Book the flight to Paris?", ExpiresAt: b.expires},
			event.Interrupt{ID: "seat", Reason: "input", Message: "Which seat?", ResponseSchema: json.RawMessage(`{"type":"string"}`)},
		)
	}
	text := "Not booked."
	if a.Status == agui.Resolved {
		seat, _ := in.Answer("seat")
		text = "Booked " + string(a.Payload) + ", seat " + string(seat.Payload) + "."
	}
	return say("done-"+in.RunID, text)
}

// clock is a settable clock for the handler.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.now = t; c.mu.Unlock() }

// serve serves the handler over h until the test ends or stop is called.
func serve(t testing.TB, h *hub.Hub, agent agui.Agent, opts ...agui.Option) (url string, stop func()) {
	t.Helper()
	hd, err := agui.Handler(h, agent, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(hd)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ts.CloseClientConnections()
			ts.Close()
		})
	}
	t.Cleanup(stop)
	return ts.URL, stop
}

type reply struct {
	code   int
	error  string
	events []map[string]any
}

// types lists the reply's AG-UI event types.
func (r reply) types() string {
	var out []string
	for _, e := range r.events {
		out = append(out, e["type"].(string))
	}
	return strings.Join(out, " ")
}

// text joins the reply's TEXT_MESSAGE_CONTENT deltas.
func (r reply) text() string {
	var b strings.Builder
	for _, e := range r.events {
		if e["type"] == "TEXT_MESSAGE_CONTENT" {
			b.WriteString(e["delta"].(string))
		}
	}
	return b.String()
}

// last returns the reply's last event.
func (r reply) last() map[string]any {
	if len(r.events) == 0 {
		return nil
	}
	return r.events[len(r.events)-1]
}

// run posts a RunAgentInput and reads the whole answer. It reports
// failures with t.Errorf, so it may run on any goroutine.
func run(t *testing.T, url, thread, runID string, resume ...agui.ResumeEntry) reply {
	t.Helper()
	in := agui.RunAgentInput{
		ThreadID: thread, RunID: runID, Resume: resume,
		Messages: []agui.InputMessage{{ID: "u1", Role: "user", Content: json.RawMessage(`"Book a flight to Paris"`)}},
	}
	body, _ := json.Marshal(in)
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Errorf("POST %s: %v", runID, err)
		return reply{}
	}
	defer resp.Body.Close()
	r := reply{code: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error struct{ Message string } }
		json.NewDecoder(resp.Body).Decode(&e)
		r.error = e.Error.Message
		return r
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var ev map[string]any
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Errorf("%s: %v", data, err)
				return r
			}
			delete(ev, "timestamp")
			r.events = append(r.events, ev)
		}
	}
	return r
}

func resolved(id, payload string) agui.ResumeEntry {
	return agui.ResumeEntry{InterruptID: id, Status: agui.Resolved, Payload: json.RawMessage(payload)}
}

func cancelled(id string) agui.ResumeEntry {
	return agui.ResumeEntry{InterruptID: id, Status: agui.Cancelled}
}

func lastSeq(t *testing.T, st store.Store, thread string) uint64 {
	t.Helper()
	si, err := st.Session(context.Background(), thread)
	if err != nil {
		t.Fatal(err)
	}
	return si.LastSeq
}

// logged returns the payloads of the thread's events of type typ.
func logged(t *testing.T, st store.Store, thread string, typ event.Type) []event.Event {
	t.Helper()
	var out []event.Event
	for ev, err := range st.Read(context.Background(), store.Query{Session: thread, Types: event.MustPattern(string(typ))}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

func openSQLite(t *testing.T, path string) (*hub.Hub, store.Store, func()) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(st)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	closeAll := func() {
		once.Do(func() {
			h.Close(context.Background())
			st.Close()
		})
	}
	t.Cleanup(closeAll)
	return h, st, closeAll
}

// TestInterruptRestartResume interrupts a run, restarts the process (a
// new store over the same SQLite file, a new hub and handler), and resumes
// it: the open interrupts come from the log alone. The resume is
// idempotent: posting it again replays the run, stores nothing and does
// not run the agent again.
func TestInterruptRestartResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sluice.db")
	clk := &clock{now: deadline.Add(-time.Hour)}
	b := &booking{expires: deadline}

	h, st, closeStore := openSQLite(t, path)
	url, stop := serve(t, h, b.agent, agui.WithClock(clk.Now))
	first := run(t, url, "trip", "run-1")
	if first.code != http.StatusOK || first.types() != "RUN_STARTED TEXT_MESSAGE_START TEXT_MESSAGE_CONTENT TEXT_MESSAGE_END RUN_FINISHED" {
		t.Fatalf("first run: %d %q %s", first.code, first.error, first.types())
	}
	outcome, _ := json.Marshal(first.last()["outcome"])
	want := `{"interrupts":[{"expiresAt":"2026-12-01T12:00:00Z","id":"approve","message":"Book the flight to Paris?","reason":"approval"},{"id":"seat","message":"Which seat?","reason":"input","responseSchema":{"type":"string"}}],"type":"interrupt"}`
	if string(outcome) != want {
		t.Fatalf("outcome %s\nwant %s", outcome, want)
	}
	if got := logged(t, st, "trip", event.TypeRunInterrupted); len(got) != 1 || got[0].Meta.RunID != "run-1" {
		t.Fatalf("run.interrupted in the log: %+v", got)
	}
	stop()
	closeStore()

	// The restart: nothing survives but the file.
	h, st, _ = openSQLite(t, path)
	url, _ = serve(t, h, b.agent, agui.WithClock(clk.Now))
	before := lastSeq(t, st, "trip")
	if r := run(t, url, "trip", "run-2"); r.code != http.StatusConflict || !strings.Contains(r.error, `"approve", "seat"`) {
		t.Fatalf("a run that answers nothing: %d %q", r.code, r.error)
	}
	if lastSeq(t, st, "trip") != before {
		t.Fatal("a refused run stored events")
	}

	answers := []agui.ResumeEntry{resolved("seat", `"12A"`), resolved("approve", `{"flight": "AF1"}`)}
	second := run(t, url, "trip", "run-2", answers...)
	if second.code != http.StatusOK || second.types() != "RUN_STARTED TEXT_MESSAGE_START TEXT_MESSAGE_CONTENT TEXT_MESSAGE_END RUN_FINISHED" {
		t.Fatalf("resume: %d %q %s", second.code, second.error, second.types())
	}
	if second.events[0]["runId"] != "run-2" || second.text() != `Booked {"flight":"AF1"}, seat "12A".` {
		t.Fatalf("resumed run %v says %q", second.events[0], second.text())
	}
	if o, _ := json.Marshal(second.last()["outcome"]); string(o) != `{"type":"success"}` {
		t.Fatalf("outcome %s", o)
	}
	res := logged(t, st, "trip", event.TypeRunResumed)
	if len(res) != 1 || res[0].Meta.RunID != "run-2" {
		t.Fatalf("run.resumed in the log: %+v", res)
	}
	if p := res[0].Payload.(event.RunResumed); p.Interrupted != "run-1" || len(p.Answers) != 2 || string(p.Answers[1].Payload) != `{"flight":"AF1"}` {
		t.Fatalf("run.resumed %+v", p)
	}
	if n := b.runs.Load(); n != 2 {
		t.Fatalf("the agent ran %d times, want 2", n)
	}
	if got := logged(t, st, "trip", event.TypeMessageCreated); len(got) != 1 || got[0].Meta.RunID != "run-1" {
		t.Fatalf("the user's message is logged %d times, want once, by run-1", len(got))
	}

	// The same resume again (answers in another order): the same stream,
	// no new events, no new run of the agent.
	after := lastSeq(t, st, "trip")
	again := run(t, url, "trip", "run-2", answers[1], answers[0])
	a1, _ := json.Marshal(again.events)
	a2, _ := json.Marshal(second.events)
	if again.code != http.StatusOK || !bytes.Equal(a1, a2) {
		t.Fatalf("repeat: %d %q\n%s\nwant\n%s", again.code, again.error, a1, a2)
	}
	if lastSeq(t, st, "trip") != after || b.runs.Load() != 2 {
		t.Fatalf("the repeat stored events (%d, was %d) or ran the agent (%d runs)", lastSeq(t, st, "trip"), after, b.runs.Load())
	}
	// The same run with other answers, or the answers under a new run.
	for _, c := range []struct {
		run    string
		resume []agui.ResumeEntry
		want   string
	}{
		{"run-2", []agui.ResumeEntry{cancelled("approve"), resolved("seat", `"12A"`)}, "other resume entries"},
		{"run-3", answers, "waits for no answer"},
	} {
		if r := run(t, url, "trip", c.run, c.resume...); r.code != http.StatusConflict || !strings.Contains(r.error, c.want) {
			t.Errorf("%s: %d %q, want 409 %q", c.run, r.code, r.error, c.want)
		}
	}
	if lastSeq(t, st, "trip") != after {
		t.Fatal("a refused resume stored events")
	}
}

// TestResumeRefused checks each reason a resume is refused: it stores
// nothing and names the reason. An expired interrupt can still be
// cancelled.
func TestResumeRefused(t *testing.T) {
	h, st := servetest.Hub(t)
	clk := &clock{now: deadline.Add(-time.Hour)}
	b := &booking{expires: deadline}
	url, _ := serve(t, h, b.agent, agui.WithClock(clk.Now))
	if r := run(t, url, "trip", "run-1"); r.code != http.StatusOK {
		t.Fatalf("first run: %d %q", r.code, r.error)
	}
	before := lastSeq(t, st, "trip")
	for _, c := range []struct {
		name   string
		late   bool
		resume []agui.ResumeEntry
		code   int
		want   string
	}{
		{"no resume", false, nil, http.StatusConflict, `open interrupts are not answered: run "run-1" of thread "trip" waits for answers to "approve", "seat"`},
		{"one missing", false, []agui.ResumeEntry{resolved("approve", `true`)}, http.StatusConflict, `waits for answers to "seat"`},
		{"unknown", false, []agui.ResumeEntry{resolved("approve", `true`), resolved("seat", `"1A"`), resolved("meal", `"veg"`)}, http.StatusConflict, `no such open interrupt: run "run-1" of thread "trip" waits for "approve", "seat", not "meal"`},
		{"expired", true, []agui.ResumeEntry{resolved("approve", `true`), resolved("seat", `"1A"`)}, http.StatusConflict, `the interrupt has expired: interrupt "approve" of run "run-1" expired at 2026-12-01T12:00:00Z`},
		{"bad status", false, []agui.ResumeEntry{{InterruptID: "approve", Status: "maybe"}, cancelled("seat")}, http.StatusBadRequest, `status "maybe"`},
		{"no id", false, []agui.ResumeEntry{{Status: agui.Cancelled}}, http.StatusBadRequest, "interruptId is required"},
		{"twice", false, []agui.ResumeEntry{cancelled("approve"), resolved("approve", `true`)}, http.StatusBadRequest, "answered twice"},
	} {
		clk.Set(deadline.Add(-time.Second))
		if c.late {
			clk.Set(deadline)
		}
		r := run(t, url, "trip", "run-2", c.resume...)
		if r.code != c.code || !strings.Contains(r.error, c.want) {
			t.Errorf("%s: %d %q\nwant %d %q", c.name, r.code, r.error, c.code, c.want)
		}
	}
	if lastSeq(t, st, "trip") != before || b.runs.Load() != 1 {
		t.Fatalf("refused resumes stored events (seq %d, was %d) or ran the agent (%d runs)", lastSeq(t, st, "trip"), before, b.runs.Load())
	}
	// Past the expiry, cancelling the expired interrupt is accepted.
	clk.Set(deadline.Add(time.Minute))
	r := run(t, url, "trip", "run-2", cancelled("approve"), resolved("seat", `"1A"`))
	if r.code != http.StatusOK || r.text() != "Not booked." {
		t.Fatalf("cancel after the expiry: %d %q %q", r.code, r.error, r.text())
	}
}

// TestConcurrentRepeat posts one run twice at once: the agent runs once
// and both get its stream.
func TestConcurrentRepeat(t *testing.T) {
	h, st := servetest.Hub(t)
	b := &booking{expires: deadline}
	url, _ := serve(t, h, b.agent)
	var wg sync.WaitGroup
	replies := make([]reply, 2)
	for i := range replies {
		wg.Go(func() { replies[i] = run(t, url, "trip", "run-1") })
	}
	wg.Wait()
	j0, _ := json.Marshal(replies[0].events)
	j1, _ := json.Marshal(replies[1].events)
	if replies[0].code != http.StatusOK || !bytes.Equal(j0, j1) || replies[0].last()["type"] != "RUN_FINISHED" {
		t.Fatalf("replies differ:\n%s\n%s", j0, j1)
	}
	if b.runs.Load() != 1 || len(logged(t, st, "trip", event.TypeRunStarted)) != 1 {
		t.Fatalf("the agent ran %d times, %d run.started logged", b.runs.Load(), len(logged(t, st, "trip", event.TypeRunStarted)))
	}
}

// TestBadInterrupt: an interrupt without a reason fails the run.
func TestBadInterrupt(t *testing.T) {
	h, st := servetest.Hub(t)
	url, _ := serve(t, h, func(ctx context.Context, in agui.RunAgentInput, em *sluice.Emitter) error {
		return agui.Interrupt(event.Interrupt{ID: "x"})
	})
	r := run(t, url, "t", "r")
	if r.code != http.StatusOK || r.types() != "RUN_STARTED RUN_ERROR" || !strings.Contains(r.last()["message"].(string), "bad interrupt") {
		t.Fatalf("%d %q %s %v", r.code, r.error, r.types(), r.last())
	}
	if got := logged(t, st, "t", event.TypeRunFailed); len(got) != 1 {
		t.Fatalf("run.failed logged %d times", len(got))
	}
}

// TestHttpAgentInterrupt runs the official HttpAgent through an interrupt
// and its resume (testdata/node/interrupt.mjs), then checks the thread's
// stream endpoint (format=agui) with the official client, cut at random
// bytes and resumed.
func TestHttpAgentInterrupt(t *testing.T) {
	h, st := servetest.Hub(t)
	b := &booking{expires: time.Now().Add(time.Hour)}
	url, _ := serve(t, h, b.agent)
	outb := nodeclient.Run(t, "interrupt.mjs", url)
	var res struct {
		OK            bool
		First, Second struct {
			Types   []string
			Outcome struct {
				Type       string
				Interrupts []struct{ ID, Reason, ExpiresAt string }
			}
		}
		Pending, PendingAfter []struct{ ID string }
		Messages              []struct{ ID, Role, Content string }
		Repeat                struct {
			Types []string
			Same  bool
		}
	}
	if err := json.Unmarshal(outb, &res); err != nil || !res.OK {
		t.Fatalf("%s: %v", outb, err)
	}
	if res.First.Outcome.Type != "interrupt" || len(res.Pending) != 2 || res.Pending[0].ID != "approve" || res.First.Outcome.Interrupts[0].ExpiresAt == "" {
		t.Fatalf("first run: %+v, pending %+v", res.First, res.Pending)
	}
	if res.Second.Outcome.Type != "success" || len(res.PendingAfter) != 0 {
		t.Fatalf("resumed run: %+v, pending after %+v", res.Second, res.PendingAfter)
	}
	var got []string
	for _, m := range res.Messages {
		got = append(got, m.Role+":"+m.Content)
	}
	want := `user:Book a flight to Paris assistant:I need your approval. assistant:Booked {"flight":"AF1"}, seat .`
	if strings.Join(got, " ") != want {
		t.Fatalf("messages %q\nwant %q", strings.Join(got, " "), want)
	}
	if !res.Repeat.Same || strings.Join(res.Repeat.Types, " ") != strings.Join(res.Second.Types, " ") || b.runs.Load() != 2 {
		t.Fatalf("repeat %+v (second %v), %d agent runs", res.Repeat, res.Second.Types, b.runs.Load())
	}

	var evs []event.Event
	for ev, err := range st.Read(context.Background(), store.Query{Session: "trip-node"}) {
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	stream := servetest.Serve(t, evs) + "/v1/sessions/trip-node/stream?format=agui"
	t.Logf("%s", nodeclient.Run(t, "agui.mjs", "4", "7", stream, stream, stream, stream))
}

// TestEncodeInterrupt checks the stream endpoint's mapping: run.interrupted
// finishes the run with the interrupt outcome, and run.resumed is a CUSTOM
// event of the run that answers it.
func TestEncodeInterrupt(t *testing.T) {
	r1, r2 := event.Meta{SessionID: "s", RunID: "r1"}, event.Meta{SessionID: "s", RunID: "r2"}
	enc := agui.New()
	var got []string
	for i, ev := range []event.Event{
		event.New(event.RunStarted{}, r1),
		event.New(event.RunInterrupted{Interrupts: []event.Interrupt{{ID: "i1", Reason: "approval", Metadata: json.RawMessage(`[1]`)}}}, r1),
		event.New(event.RunStarted{}, r2),
		event.New(event.RunResumed{Interrupted: "r1", Answers: []event.InterruptAnswer{{InterruptID: "i1", Status: "resolved"}}}, r2),
		event.New(event.RunCompleted{}, r2),
		event.New(event.RunInterrupted{}, event.Meta{SessionID: "s", RunID: "r3"}),
	} {
		ev.Seq = uint64(i + 1)
		native, _ := ev.AppendJSON(nil)
		msgs, err := enc.Encode(nil, &ev, native)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			var v struct {
				Type, RunID, Name, Message string
				Outcome                    json.RawMessage
			}
			json.Unmarshal(m.Data, &v)
			got = append(got, strings.TrimSpace(strings.Join([]string{v.Type, v.RunID, v.Name, string(v.Outcome), v.Message}, " ")))
		}
	}
	want := []string{
		"RUN_STARTED r1",
		`RUN_FINISHED r1  {"interrupts":[{"id":"i1","reason":"approval"}],"type":"interrupt"}`,
		"RUN_STARTED r2",
		"CUSTOM  run.resumed",
		`RUN_FINISHED r2  {"type":"success"}`,
		"RUN_STARTED r3",
		"RUN_ERROR    the run was interrupted without saying what it waits for",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
