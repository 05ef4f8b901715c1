package aisdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/internal/nodeclient"
	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/internal/servetest"
	"github.com/sluice-events/sluice/runs"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/store/sqlite"
	"github.com/sluice-events/sluice/wire/aisdk"
)

// gated is a point where a demo agent waits: it tells at when it gets
// there and goes on when gate closes.
type gated struct {
	k        int // before the k-th event
	at, gate chan struct{}
	used     *atomic.Bool
}

// demoAgent logs the recorded demo run (reasoning, text, a tool call with
// streamed input and its output, a second model call) under the chat's
// session and run, each event with its recorded metadata otherwise; for a
// chat in gates it waits at the gate's event.
func demoAgent(t *testing.T, gates map[string]gated) aisdk.ChatAgent {
	var evs []event.Event
	for _, ev := range recorded.Demo(t).Events {
		if !strings.HasPrefix(string(ev.Type), "run.") {
			evs = append(evs, ev)
		}
	}
	return func(ctx context.Context, req aisdk.ChatRequest, em *sluice.Emitter) error {
		g, ok := gates[req.ID]
		for i, ev := range evs {
			if ok && i == g.k {
				if g.used.CompareAndSwap(false, true) { // the chat's first run only
					close(g.at)
					select {
					case <-g.gate:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
			}
			rec := ev.Meta
			e := em.WithMeta(func(m *event.Meta) {
				s, r, c := m.SessionID, m.RunID, m.ConversationID
				*m = rec.Clone()
				m.SessionID, m.RunID, m.ConversationID = s, r, c
			})
			if err := sluice.Emit(ctx, e, ev.Payload); err != nil {
				return err
			}
		}
		return nil
	}
}

func gate(k int) gated {
	return gated{k: k, at: make(chan struct{}), gate: make(chan struct{}), used: new(atomic.Bool)}
}

// post starts a chat request and returns the response body as it comes.
func post(t *testing.T, api, chat string) io.ReadCloser {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"messages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"Weather in Paris?"}]}]}`, chat)
	resp, err := http.Post(api, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", chat, resp.StatusCode, b)
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

// getStream GETs the chat's stream and returns the status and the body
// reader (once the headers, and so the replay's start, arrived).
func getStream(t *testing.T, api, chat string) (int, io.ReadCloser) {
	t.Helper()
	resp, err := http.Get(api + "/" + chat + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Body
}

// TestChatReplay: GET {chatId}/stream in the middle of a run, at random
// points of the recorded demo run, sends byte for byte what the POST's
// response sends (the run replayed from its start from the log, then
// live), and the official client assembles from it the same message as
// from an uncut run: reasoning, text, the tool call with its input and
// output.
func TestChatReplay(t *testing.T) {
	nodeclient.Run(t, "--version") // skips without node
	rng := rand.New(rand.NewPCG(11, 0))
	gates := map[string]gated{}
	n := len(recorded.Demo(t).Events)
	for i := range 4 {
		gates[fmt.Sprint("replay-", i)] = gate(1 + rng.IntN(n-2))
	}
	api, _ := newChat(t, demoAgent(t, gates))
	whole := run(t, api, "whole", "send")
	for _, want := range []string{"reasoning-start", "tool-input-delta", "tool-output-available", "text-delta"} {
		if !strings.Contains(strings.Join(whole.Types, " "), want) {
			t.Fatalf("the demo run has no %s: %v", want, whole.Types)
		}
	}
	for i := range 4 {
		chat := fmt.Sprint("replay-", i)
		g := gates[chat]
		posted := readAll(post(t, api, chat))
		<-g.at
		code, body := getStream(t, api, chat)
		if code != http.StatusOK {
			t.Fatalf("%s: GET %d", chat, code)
		}
		got := readAll(body)
		asked := make(chan struct{}, 1)
		gets.Store(&asked)
		official := make(chan []byte, 1)
		go func() { official <- nodeclient.Output("chat.mjs", api, chat, "reconnect") }()
		<-asked // the official client's stream started while the run waits
		gets.Store(nil)
		close(g.gate)
		p, r := <-posted, <-got
		if !bytes.Equal(p, r) || !bytes.Contains(p, []byte("data: [DONE]")) {
			t.Fatalf("%s (gate at event %d): the GET sent\n%s\nthe POST\n%s", chat, g.k, r, p)
		}
		res := decode(t, <-official)
		if !res.Active || res.parts() != whole.parts() || res.FinishReason != whole.FinishReason || len(res.Errors) != 0 {
			t.Fatalf("%s (gate at event %d): reconnected to\n%+v\nuncut\n%+v", chat, g.k, res, whole)
		}
	}
}

// openSQLite opens the SQLite log at path and a hub over it.
func openSQLite(t *testing.T, path string) (*hub.Hub, store.Store) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return servetest.HubOver(t, st), st
}

// TestChatRestart: the process that produced two chat runs dies in their
// middle (its hub and SQLite log closed under it: nothing more reaches
// the log); a new process opens the same log. Reconnecting to the first
// chat replays the run's partial message, byte for byte what the dead
// process had streamed, and ends it with an error and a finish once the
// run is stale (the official client keeps the partial message); then the
// chat has no active stream, and a new message to it is answered. A stop of
// the second chat's run ends it as stopped.
func TestChatRestart(t *testing.T) {
	nodeclient.Run(t, "--version") // skips without node
	path := filepath.Join(t.TempDir(), "chat.db")
	n := len(recorded.Demo(t).Events)
	gates := map[string]gated{"chat-r": gate(n * 2 / 3), "chat-s": gate(n / 3)}
	agent := demoAgent(t, gates)

	hA, stA := openSQLite(t, path)
	a := serveChat(t, hA, agent)
	postedR, postedS := readAll(post(t, a.api, "chat-r")), readAll(post(t, a.api, "chat-s"))
	<-gates["chat-r"].at
	<-gates["chat-s"].at
	// The process dies: nothing it does from now on is logged.
	hA.Close(context.Background())
	before := <-postedR // what the dead process streamed
	<-postedS
	stA.Close()
	t.Cleanup(func() {
		close(gates["chat-r"].gate)
		close(gates["chat-s"].gate)
	})

	hB, stB := openSQLite(t, path)
	// The new process takes a run for lost after an hour of quiet, so the
	// official client and a Go client both wait on the run; then a clock
	// two hours ahead (the same as waiting) makes a third GET close it.
	b := serveChat(t, hB, agent, aisdk.WithStaleAfter(time.Hour))
	later := serveChat(t, hB, agent, aisdk.WithStaleAfter(time.Hour), aisdk.WithClock(func() time.Time { return time.Now().Add(2 * time.Hour) }))
	asked := make(chan struct{}, 1)
	gets.Store(&asked)
	official := make(chan []byte, 1)
	go func() { official <- nodeclient.Output("chat.mjs", b.api, "chat-r", "reconnect") }()
	<-asked
	gets.Store(nil)
	code, body := getStream(t, b.api, "chat-r")
	if code != http.StatusOK {
		t.Fatalf("GET chat-r after the restart: %d", code)
	}
	got := readAll(body)
	code, body = getStream(t, later.api, "chat-r")
	if code != http.StatusOK {
		t.Fatalf("GET chat-r two hours later: %d", code)
	}
	closed := readAll(body)
	res := decode(t, <-official)
	replayed := <-got
	if c := <-closed; !bytes.Equal(c, replayed) {
		t.Fatalf("two replays differ:\n%s\n%s", c, replayed)
	}
	if !bytes.HasPrefix(replayed, before) || !bytes.Contains(before, []byte(`"type":"reasoning-delta"`)) {
		t.Fatalf("the replay\n%s\ndoes not start with what the dead process streamed\n%s", replayed, before)
	}
	if rest := string(replayed[len(before):]); !strings.Contains(rest, `"type":"error"`) || !strings.Contains(rest, `"finishReason":"error"`) || !strings.HasSuffix(rest, "data: [DONE]\n\n") {
		t.Fatalf("after the replay: %s", rest)
	}
	if !res.Active || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "producer is gone") || res.FinishReason != "error" {
		t.Fatalf("the official client reconnected to %+v", res)
	}
	if len(res.Message.Parts) < 3 || !strings.Contains(res.parts(), `"type":"reasoning"`) {
		t.Fatalf("the partial message is lost: %s", res.parts())
	}
	if e := servetest.RunEnds(t, stB, "chat-r"); len(e) != 1 || e[0] != "run.failed "+runs.CodeLost {
		t.Fatalf("chat-r's run ends %v", e)
	}
	if r := run(t, b.api, "chat-r", "reconnect"); r.Active {
		t.Fatalf("the closed run still streams: %+v", r)
	}
	whole := run(t, b.api, "chat-r", "send")
	if whole.FinishReason != "stop" || !strings.Contains(whole.text(), "18") {
		t.Fatalf("a new message after the restart: %+v", whole)
	}

	// Stop the dead process's other run.
	resp, err := http.Post(b.api+"/chat-s/stop", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("stop: %d", resp.StatusCode)
	}
	if e := servetest.RunEnds(t, stB, "chat-s"); len(e) != 1 || e[0] != "run.stopped stopped" {
		t.Fatalf("chat-s's run ends %v", e)
	}
	if r := run(t, b.api, "chat-s", "reconnect"); r.Active {
		t.Fatalf("the stopped run still streams: %+v", r)
	}
	resp, err = http.Post(b.api+"/chat-s/stop", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a second stop: %d, want 404", resp.StatusCode)
	}
}

// TestChatLostRunPost: a POST to a chat whose run another process left
// open is refused (409) while the run may be alive, and closes the run as
// lost and runs once the run is stale.
func TestChatLostRunPost(t *testing.T) {
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hA, err := hub.New(st)
	if err != nil {
		t.Fatal(err)
	}
	g := gate(3)
	agent := demoAgent(t, map[string]gated{"c": g})
	a := serveChat(t, hA, agent)
	posted := readAll(post(t, a.api, "c"))
	<-g.at
	hA.Close(context.Background()) // the process dies
	<-posted
	defer close(g.gate)

	hB, err := hub.New(st)
	if err != nil {
		t.Fatal(err)
	}
	defer hB.Close(context.Background())
	b := serveChat(t, hB, agent)
	resp, err := http.Post(b.api, "application/json", strings.NewReader(`{"id":"c","messages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !bytes.Contains(msg, []byte("in progress")) {
		t.Fatalf("POST to a chat with a fresh run elsewhere: %d %s", resp.StatusCode, msg)
	}
	later := serveChat(t, hB, agent, aisdk.WithClock(func() time.Time { return time.Now().Add(time.Hour) }))
	out, _ := io.ReadAll(post(t, later.api, "c"))
	if !bytes.Contains(out, []byte(`"finishReason":"stop"`)) || bytes.Contains(out, []byte(`"type":"error"`)) {
		t.Fatalf("the new run's stream: %s", out)
	}
	if e := servetest.RunEnds(t, st, "c"); len(e) != 2 || e[0] != "run.failed "+runs.CodeLost || e[1] != "run.completed success" {
		t.Fatalf("ends %v", e)
	}
}

// TestChatStopElsewhere: two nodes share one log. A run on node A that
// waits (on a slow tool, say) logs heartbeats, so a client waiting on it at
// node B does not take it for lost; a stop asked at node B cancels the
// agent on node A, and the run has one end.
func TestChatStopElsewhere(t *testing.T) {
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	newHub := func() *hub.Hub { return servetest.HubOver(t, st, hub.WithPoll(10*time.Millisecond)) }
	g := gate(5)
	defer close(g.gate)
	agent := demoAgent(t, map[string]gated{"c": g})
	stale := aisdk.WithStaleAfter(2 * time.Second)
	hA, hB := newHub(), newHub()
	a := serveChat(t, hA, agent, stale)
	b := serveChat(t, hB, agent, stale)
	posted := readAll(post(t, a.api, "c"))
	<-g.at
	code, body := getStream(t, b.api, "c")
	if code != http.StatusOK {
		t.Fatalf("GET at node B: %d", code)
	}
	got := readAll(body)
	// Wait for three heartbeats: two seconds of quiet, a stale time.
	f, err := hB.Subscribe(hub.Selector{Session: "c", Types: event.MustPattern("run.heartbeat")}, 0)
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
		if p, ok := it.Event.Payload.(event.RunHeartbeat); !ok || p.Owner != runs.Owner() {
			t.Fatalf("heartbeat %+v", it.Event)
		}
	}
	f.Close()
	if e := servetest.RunEnds(t, st, "c"); len(e) != 0 {
		t.Fatalf("a quiet run with heartbeats was ended: %v", e)
	}
	resp, err := http.Post(b.api+"/c/stop", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("stop at node B: %d", resp.StatusCode)
	}
	p, r := <-posted, <-got
	if !bytes.Equal(p, r) || !bytes.Contains(p, []byte(`"type":"abort"`)) {
		t.Fatalf("node A streamed\n%s\nnode B\n%s", p, r)
	}
	a.chat.Close() // returns once the agent on node A was cancelled and its run is over
	if e := servetest.RunEnds(t, st, "c"); len(e) != 1 || e[0] != "run.stopped stopped" {
		t.Fatalf("ends %v", e)
	}
}

func TestNewChatOptions(t *testing.T) {
	h, _ := servetest.Hub(t)
	agent := func(context.Context, aisdk.ChatRequest, *sluice.Emitter) error { return nil }
	for _, opts := range [][]aisdk.ChatOption{{aisdk.WithStaleAfter(0)}, {aisdk.WithClock(nil)}, {nil}} {
		if _, err := aisdk.NewChat(h, agent, opts...); !errors.Is(err, aisdk.ErrInvalid) {
			t.Errorf("NewChat with a bad option: %v", err)
		}
	}
	if _, err := aisdk.NewChat(h, nil); !errors.Is(err, aisdk.ErrInvalid) {
		t.Error("NewChat without an agent")
	}
}

// useChat is what testdata/node/usechat.mjs prints.
type useChat struct {
	OK       bool
	Status   string
	Error    string
	Messages []struct {
		ID, Role string
		Parts    []json.RawMessage
	}
	Partial []struct{ Parts []json.RawMessage }
}

func (u useChat) parts(i int) string {
	if i >= len(u.Messages) {
		return ""
	}
	b, _ := json.Marshal(u.Messages[i].Parts)
	return string(b)
}

func runUseChat(t *testing.T, out []byte) useChat {
	t.Helper()
	var u useChat
	if err := json.Unmarshal(out, &u); err != nil || !u.OK {
		t.Fatalf("usechat.mjs: %s %v", out, err)
	}
	return u
}

// TestUseChatResume runs the AI SDK's chat (the state machine of useChat)
// against the endpoint. A chat that stopped reading in the middle of the
// answer, holding a partial message, and then resumes the stream ends with
// the user's message and one assistant message equal to an uncut answer:
// the transport says its resumed streams are replays
// (resumeStreamIsReplay), so the chat starts the message again at the
// replay's start part. A new chat (a page reloaded) that resumes gets the
// same message.
func TestUseChatResume(t *testing.T) {
	nodeclient.Run(t, "--version") // skips without node
	n := len(recorded.Demo(t).Events)
	rng := rand.New(rand.NewPCG(5, 0))
	gates := map[string]gated{"cut": gate(12 + rng.IntN(n-14)), "reload": gate(12 + rng.IntN(n-14))}
	api, _ := newChat(t, demoAgent(t, gates))
	whole := runUseChat(t, nodeclient.Run(t, "usechat.mjs", api, "whole", "send"))
	if len(whole.Messages) != 2 || whole.Status != "ready" || !strings.Contains(whole.parts(1), `"type":"tool-get_weather"`) {
		t.Fatalf("uncut: %+v", whole)
	}
	for _, mode := range []string{"cut", "reload"} {
		g := gates[mode]
		var posted <-chan []byte
		if mode == "reload" { // the page that sent the message is gone
			posted = readAll(post(t, api, mode))
		}
		asked := make(chan struct{}, 1)
		gets.Store(&asked)
		out := make(chan []byte, 1)
		go func() { out <- nodeclient.Output("usechat.mjs", api, mode, mode) }()
		<-g.at
		<-asked // the chat resumes while the run waits
		gets.Store(nil)
		close(g.gate)
		u := runUseChat(t, <-out)
		if posted != nil {
			<-posted
		}
		if len(u.Messages) != 2 || u.Messages[0].Role != "user" || u.parts(1) != whole.parts(1) || u.Status != "ready" || u.Error != "" {
			t.Fatalf("%s (gate at %d): %+v\nwant the assistant's parts %s", mode, g.k, u, whole.parts(1))
		}
		if mode == "cut" && (len(u.Partial) != 2 || len(u.Partial[1].Parts) == 0) {
			t.Fatalf("cut: the chat held no partial message before resuming: %+v", u.Partial)
		}
	}
}
