package agui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/internal/nodeclient"
	"github.com/sluice-events/sluice/internal/servetest"
	"github.com/sluice-events/sluice/runs"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/wire"
	"github.com/sluice-events/sluice/wire/agui"
)

// TestEncodeDropsHeartbeat: run.heartbeat events, in a run and after its
// end, add nothing to the AG-UI stream (no CUSTOM event, no new
// RUN_STARTED): the stream is the one of the run without them.
func TestEncodeDropsHeartbeat(t *testing.T) {
	m := event.Meta{SessionID: "t", RunID: "r", MessageID: "a1"}
	beat := event.RunHeartbeat{Owner: "node-a/1"}
	with := []event.Payload{
		event.RunStarted{}, beat,
		event.MessageStarted{ID: "a1", Role: "assistant"},
		event.TextDelta{Text: "Hello"}, beat, beat,
		event.MessageStopped{ID: "a1", StopReason: "end_turn"},
		event.RunCompleted{Status: "success"}, beat,
	}
	encode := func(ps []event.Payload) string {
		e := agui.New()
		var out []wire.Message
		for i, p := range ps {
			ev := event.New(p, m)
			ev.Seq = uint64(i + 1)
			ev.Time = time.Unix(1700000000, 0)
			var err error
			if out, err = e.Encode(out, &ev, nil); err != nil {
				t.Fatal(err)
			}
		}
		var b strings.Builder
		for _, msg := range out {
			b.Write(msg.Data)
			b.WriteByte('\n')
		}
		return b.String()
	}
	var without []event.Payload
	for _, p := range with {
		if p != beat {
			without = append(without, p)
		}
	}
	got, want := encode(with), encode(without)
	if got != want || strings.Count(got, "RUN_STARTED") != 1 || !strings.Contains(got, "RUN_FINISHED") {
		t.Fatalf("with heartbeats:\n%s\nwithout:\n%s", got, want)
	}
}

// blocker is an agent that says "It is " in message a1 of the thread
// "thread-1" (what testdata/node/httpagent.mjs posts) and then waits: it
// tells at and goes on when gate closes or its context ends.
type blocker struct{ at, gate chan struct{} }

func newBlocker() *blocker { return &blocker{at: make(chan struct{}), gate: make(chan struct{})} }

func (b *blocker) agent(ctx context.Context, in agui.RunAgentInput, em *sluice.Emitter) error {
	msg := em.WithMeta(func(m *event.Meta) { m.MessageID = "a1" })
	for _, p := range []event.Payload{event.MessageStarted{ID: "a1", Role: "assistant"}, event.TextDelta{Text: "It is "}} {
		if err := sluice.Emit(ctx, msg, p); err != nil {
			return err
		}
	}
	close(b.at)
	select {
	case <-b.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	for _, p := range []event.Payload{event.TextDelta{Text: "18 °C."}, event.MessageStopped{ID: "a1", StopReason: "end_turn"}} {
		if err := sluice.Emit(ctx, msg, p); err != nil {
			return err
		}
	}
	return nil
}

// postRun posts httpagent.mjs's input (thread-1, run-1) and returns the
// response body once the stream has started.
func postRun(t *testing.T, url string) io.ReadCloser {
	t.Helper()
	body := `{"threadId":"thread-1","runId":"run-1","messages":[{"id":"u1","role":"user","content":"Weather in Paris?"}]}`
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("POST run-1: %d %s", resp.StatusCode, b)
	}
	return resp.Body
}

// readAll reads body to its end in the background.
func readAll(body io.ReadCloser) <-chan []byte {
	c := make(chan []byte, 1)
	go func() {
		defer body.Close()
		b, _ := io.ReadAll(body)
		c <- b
	}()
	return c
}

// TestLostRun: the process running a run dies in its middle (its hub and
// SQLite log closed under it: nothing more reaches the log, no end); a
// new process opens the same log. A repeat of the run's input there gets
// the run so far, byte for byte what the dead process had streamed, and
// waits; once the thread has been quiet for the stale time (a clock two
// hours ahead of a stale time of one hour), a repeat closes the run as
// lost: both streams end with RUN_ERROR, the log holds one end
// (run.failed, producer_lost), and the official client, verifying the
// replayed stream, gets the run's error.
func TestLostRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agui.db")
	hA, _, dieA := openSQLite(t, path)
	b := newBlocker()
	urlA, _ := serve(t, hA, b.agent)
	bodyA := postRun(t, urlA)
	<-b.at
	// What the process streams before it dies: up to "It is ".
	var before []byte
	for buf := make([]byte, 4096); !bytes.Contains(before, []byte(`"delta":"It is "`)) || !bytes.HasSuffix(before, []byte("\n\n")); {
		n, err := bodyA.Read(buf)
		before = append(before, buf[:n]...)
		if err != nil {
			t.Fatalf("the stream of node A: %v after\n%s", err, before)
		}
	}
	dieA() // the process dies: nothing it does from now on is logged
	if rest := <-readAll(bodyA); len(rest) != 0 {
		t.Fatalf("the process streamed after it died: %s", rest)
	}
	defer close(b.gate)
	if !bytes.Contains(before, []byte(`"delta":"It is "`)) || bytes.Contains(before, []byte("RUN_ERROR")) || bytes.Contains(before, []byte("RUN_FINISHED")) {
		t.Fatalf("the dead process streamed\n%s", before)
	}

	hB, stB, _ := openSQLite(t, path)
	stale := agui.WithStaleAfter(time.Hour)
	urlB, _ := serve(t, hB, newBlocker().agent, stale)
	later := &clock{now: time.Now().Add(2 * time.Hour)}
	urlLater, _ := serve(t, hB, newBlocker().agent, stale, agui.WithClock(later.Now))
	waiting := readAll(postRun(t, urlB))
	if e := servetest.RunEnds(t, stB, "thread-1"); len(e) != 0 {
		t.Fatalf("the run was closed before it was stale: %v", e)
	}
	closing := readAll(postRun(t, urlLater))
	for name, got := range map[string][]byte{"the waiting repeat": <-waiting, "the late repeat": <-closing} {
		rest, ok := bytes.CutPrefix(got, before)
		if !ok {
			t.Fatalf("%s sent\n%s\nnot starting with what the dead process streamed\n%s", name, got, before)
		}
		// The open text message ends, then the run with its error.
		if bytes.Count(rest, []byte("data: ")) != 2 || !bytes.Contains(rest, []byte(`"messageId":"a1","timestamp"`)) ||
			!bytes.Contains(rest, []byte(`"type":"TEXT_MESSAGE_END"}`)) || !bytes.HasSuffix(rest, []byte(`"type":"RUN_ERROR"}`+"\n\n")) ||
			!bytes.Contains(rest, []byte(`"code":"`+runs.CodeLost+`"`)) || !bytes.Contains(rest, []byte("producer is gone")) {
			t.Fatalf("%s ends with\n%s", name, rest)
		}
	}
	if e := servetest.RunEnds(t, stB, "thread-1"); len(e) != 1 || e[0] != "run.failed "+runs.CodeLost {
		t.Fatalf("the run's ends: %v", e)
	}
	// The official client posts the run again: its pipeline verifies the
	// replayed stream, keeps the partial message and gets the run's error.
	out := nodeclient.Run(t, "httpagent.mjs", urlLater)
	var res struct {
		OK        bool
		Messages  []struct{ ID, Role, Content string }
		RunErrors []string
	}
	if err := json.Unmarshal(out, &res); err != nil || !res.OK || len(res.RunErrors) != 1 || !strings.Contains(res.RunErrors[0], "producer is gone") ||
		len(res.Messages) != 2 || res.Messages[1].ID != "a1" || res.Messages[1].Content != "It is " {
		t.Fatalf("the official client: %s (%v)", out, err)
	}
	if e := servetest.RunEnds(t, stB, "thread-1"); len(e) != 1 {
		t.Fatalf("a repeat after the close logged another end: %v", e)
	}
}

// TestLiveRunElsewhere: two nodes share one log. A run on node A that
// waits (on a slow tool, say) logs heartbeats, so a repeat of its input
// at node B waits on it over more than the stale time without closing
// it; when the run goes on, node B streams it to its end, the same bytes
// as node A (the heartbeats left out), and the run has one end.
func TestLiveRunElsewhere(t *testing.T) {
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	newHub := func() *hub.Hub { return servetest.HubOver(t, st, hub.WithPoll(10*time.Millisecond)) }
	stale := agui.WithStaleAfter(2 * time.Second)
	hA, hB := newHub(), newHub()
	b := newBlocker()
	urlA, _ := serve(t, hA, b.agent, stale)
	urlB, _ := serve(t, hB, newBlocker().agent, stale)
	postedA := readAll(postRun(t, urlA))
	<-b.at
	gotB := readAll(postRun(t, urlB))
	// Wait for three heartbeats: two seconds of quiet, a stale time.
	f, err := hB.Subscribe(hub.Selector{Session: "thread-1", Types: event.MustPattern("run.heartbeat")}, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 3 {
		it, err := f.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p, ok := it.Event.Payload.(event.RunHeartbeat); !ok || p.Owner != runs.Owner() || it.Event.Meta.RunID != "run-1" {
			t.Fatalf("heartbeat %+v", it.Event)
		}
	}
	f.Close()
	if e := servetest.RunEnds(t, st, "thread-1"); len(e) != 0 {
		t.Fatalf("a quiet run with heartbeats was ended: %v", e)
	}
	close(b.gate)
	a, got := <-postedA, <-gotB
	if !bytes.Equal(a, got) || !bytes.Contains(a, []byte(`"delta":"18 °C."`)) || !bytes.Contains(a, []byte(`"type":"RUN_FINISHED"`)) || bytes.Contains(a, []byte("heartbeat")) {
		t.Fatalf("node A streamed\n%s\nnode B\n%s", a, got)
	}
	if e := servetest.RunEnds(t, st, "thread-1"); len(e) != 1 || e[0] != "run.completed success" {
		t.Fatalf("the run's ends: %v", e)
	}
}

// TestInterruptIsTheRunsEnd: a run that ends waiting on interrupts has its
// one end: closing it as lost afterwards (as a reader that took it for
// open would) logs nothing, and its resume runs as before.
func TestInterruptIsTheRunsEnd(t *testing.T) {
	h, st := servetest.Hub(t)
	b := &booking{expires: time.Now().Add(time.Hour)}
	url, _ := serve(t, h, b.agent)
	if r := run(t, url, "trip", "run-1"); r.code != http.StatusOK || !strings.HasSuffix(r.types(), "RUN_FINISHED") {
		t.Fatalf("run-1: %+v", r)
	}
	if err := runs.Close(context.Background(), h, event.Meta{SessionID: "trip", RunID: "run-1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if e := servetest.RunEnds(t, st, "trip"); len(e) != 1 || e[0] != "run.interrupted" {
		t.Fatalf("ends after a close: %v", e)
	}
	r := run(t, url, "trip", "run-2",
		agui.ResumeEntry{InterruptID: "approve", Status: agui.Resolved, Payload: json.RawMessage(`"AF1"`)},
		agui.ResumeEntry{InterruptID: "seat", Status: agui.Resolved, Payload: json.RawMessage(`"12A"`)})
	if r.code != http.StatusOK || r.text() != `Booked "AF1", seat "12A".` {
		t.Fatalf("the resume: %+v", r)
	}
	if e := servetest.RunEnds(t, st, "trip"); len(e) != 2 || e[1] != "run.completed success" {
		t.Fatalf("ends after the resume: %v", e)
	}
}
