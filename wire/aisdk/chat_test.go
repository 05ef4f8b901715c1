package aisdk_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/internal/nodeclient"
	"github.com/sluice-events/sluice/internal/servetest"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/wire/aisdk"
)

// answer streams "It is 18 °C in Paris." in three deltas; it waits on
// gate (if not nil) after the first.
func answer(gate chan struct{}) aisdk.ChatAgent {
	return func(ctx context.Context, req aisdk.ChatRequest, em *sluice.Emitter) error {
		msg := em.WithMeta(func(m *event.Meta) { m.MessageID = "a1" })
		steps := []event.Payload{
			event.ProviderCallStarted{Provider: "openai", Model: "gpt-4.1"},
			event.MessageStarted{ID: "a1", Role: "assistant"},
			event.TextDelta{Text: "It is "},
			nil,
			event.TextDelta{Text: "18 °C in "},
			event.TextDelta{Text: "Paris."},
			event.MessageStopped{ID: "a1", StopReason: "stop"},
			event.ProviderCallCompleted{Provider: "openai", Model: "gpt-4.1", FinishReason: "stop"},
		}
		for _, p := range steps {
			if p == nil {
				if gate != nil {
					select {
					case <-gate:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				continue
			}
			if err := sluice.Emit(ctx, msg, p); err != nil {
				return err
			}
		}
		return nil
	}
}

// gets, if set, is told when serveChat's servers start the response to a
// GET: a stream's feed is subscribed by then, so what the log gets from
// then on reaches it live.
var gets atomic.Pointer[chan struct{}]

// told tells gets when the response's status is written.
type told struct {
	http.ResponseWriter
	c    chan struct{}
	once sync.Once
}

func (t *told) WriteHeader(code int) {
	t.ResponseWriter.WriteHeader(code)
	t.once.Do(func() { t.c <- struct{}{} })
}

func (t *told) Unwrap() http.ResponseWriter { return t.ResponseWriter }

func newChat(t *testing.T, agent aisdk.ChatAgent, opts ...aisdk.ChatOption) (string, store.Store) {
	t.Helper()
	h, st := servetest.Hub(t)
	return serveChat(t, h, agent, opts...).api, st
}

// node is one Chat endpoint over a hub, as one process would serve it.
type node struct {
	api  string
	h    *hub.Hub
	chat *aisdk.Chat
	ts   *httptest.Server
}

// serveChat serves a Chat over h until the test ends.
func serveChat(t testing.TB, h *hub.Hub, agent aisdk.ChatAgent, opts ...aisdk.ChatOption) *node {
	t.Helper()
	chat, err := aisdk.NewChat(h, agent, opts...)
	if err != nil {
		t.Fatal(err)
	}
	inner := http.StripPrefix("/api/chat", chat)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := gets.Load(); c != nil && r.Method == http.MethodGet {
			w = &told{ResponseWriter: w, c: *c}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
		chat.Close()
	})
	return &node{api: ts.URL + "/api/chat", h: h, chat: chat, ts: ts}
}

type result struct {
	OK, Active bool
	Message    struct {
		ID    string
		Parts []json.RawMessage
	}
	Types        []string
	Errors       []string
	FinishReason string
}

func (r result) text() string {
	var b strings.Builder
	for _, raw := range r.Message.Parts {
		var p struct{ Type, Text string }
		if json.Unmarshal(raw, &p) == nil && p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// parts returns the message's parts as JSON.
func (r result) parts() string {
	b, _ := json.Marshal(r.Message.Parts)
	return string(b)
}

func decode(t *testing.T, out []byte) result {
	t.Helper()
	var r result
	if err := json.Unmarshal(out, &r); err != nil || !r.OK {
		t.Fatalf("%s: %v", out, err)
	}
	return r
}

func run(t *testing.T, api, chat, mode string) result {
	t.Helper()
	return decode(t, nodeclient.Run(t, "chat.mjs", api, chat, mode))
}

// TestChatTransport: the AI SDK's default chat transport sends a message
// and reads the answer; reconnecting finds no active stream (204).
func TestChatTransport(t *testing.T) {
	api, _ := newChat(t, answer(nil))
	if r := run(t, api, "chat-1", "send"); r.text() != "It is 18 °C in Paris." {
		t.Fatalf("answer %+v", r)
	}
	if r := run(t, api, "chat-1", "reconnect"); r.Active {
		t.Fatalf("a finished chat still streams: %+v", r)
	}
}

// TestChatResume: a client that lost the stream in the middle of the run
// reconnects and gets the whole message, rebuilt from the log and then
// live.
func TestChatResume(t *testing.T) {
	nodeclient.Run(t, "--version") // skips without node
	gate := make(chan struct{})
	got := make(chan struct{}, 1)
	gets.Store(&got)
	defer gets.Store(nil)
	api, _ := newChat(t, answer(gate))
	body := `{"id":"chat-2","messages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"Weather?"}]}]}`
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", api, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && !strings.Contains(sc.Text(), "It is ") {
	}
	cancel() // the connection drops mid-message
	resp.Body.Close()
	done := make(chan []byte)
	go func() { done <- nodeclient.Output("chat.mjs", api, "chat-2", "reconnect") }()
	<-got       // the client's stream started while the run waits
	close(gate) // the run goes on
	r := decode(t, <-done)
	if !r.Active || r.text() != "It is 18 °C in Paris." {
		t.Fatalf("resumed %+v", r)
	}
}

// TestChatStop: stopping a run ends its stream with the partial message.
func TestChatStop(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	api, _ := newChat(t, answer(gate))
	body := `{"id":"chat-3","messages":[]}`
	req, _ := http.NewRequest("POST", api, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.Contains(sc.Text(), "It is ") {
			sresp, err := http.Post(api+"/chat-3/stop", "application/json", nil)
			if err != nil || sresp.StatusCode != http.StatusNoContent {
				t.Fatalf("stop: %v %v", err, sresp)
			}
			sresp.Body.Close()
		}
	}
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, `"type":"abort"`) || !strings.Contains(all, "data: [DONE]") {
		t.Fatalf("stream after stop:\n%s", all)
	}
}

func TestChatBadInput(t *testing.T) {
	api, st := newChat(t, answer(nil))
	for _, c := range []struct {
		method, path, ct, body string
		code                   int
	}{
		{"POST", "", "application/json", `nope`, http.StatusBadRequest},
		{"POST", "", "application/json", `{"messages":[]}`, http.StatusBadRequest},
		{"POST", "", "text/plain", `{"id":"x"}`, http.StatusUnsupportedMediaType},
		{"POST", "", "application/json", `{"id":"x","messages":[{"id":"m","role":"user","parts":[{"type":"text","text":"` + strings.Repeat("x", aisdk.MaxChatBytes) + `"}]}]}`, http.StatusRequestEntityTooLarge},
		{"GET", "/nope/stream", "", ``, http.StatusNoContent},
		{"POST", "/nope/stop", "application/json", ``, http.StatusNotFound},
		{"DELETE", "", "", ``, http.StatusNotFound},
	} {
		req, _ := http.NewRequest(c.method, api+c.path, bytes.NewReader([]byte(c.body)))
		if c.ct != "" {
			req.Header.Set("Content-Type", c.ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s %s %.30s: %d, want %d", c.method, c.path, c.body, resp.StatusCode, c.code)
		}
	}
	if ss, _ := st.Sessions(context.Background(), store.SessionQuery{}); len(ss) != 0 {
		t.Fatalf("bad input stored %+v", ss)
	}
}
