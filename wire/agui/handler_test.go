package agui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/internal/nodeclient"
	"github.com/sluice-events/sluice/internal/servetest"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/wire/agui"
)

// weather is an agent that answers in three streamed pieces and calls a
// tool.
func weather(ctx context.Context, in agui.RunAgentInput, em *sluice.Emitter) error {
	msg := em.WithMeta(func(m *event.Meta) { m.MessageID = "a1" })
	for _, p := range []event.Payload{
		event.MessageStarted{ID: "a1", Role: "assistant"},
		event.TextDelta{Text: "It is "},
		event.TextDelta{Text: "18 °C in "},
		event.TextDelta{Text: "Paris."},
		event.ToolCallDelta{CallID: "c1", Name: "get_weather", Delta: `{"city":"Paris"}`},
		event.ToolCallRequested{CallID: "c1", Name: "get_weather", Arguments: json.RawMessage(`{"city":"Paris"}`)},
		event.MessageStopped{ID: "a1", StopReason: "end_turn"},
	} {
		if err := sluice.Emit(ctx, msg, p); err != nil {
			return err
		}
	}
	return sluice.Emit(ctx, em, event.ToolCallCompleted{CallID: "c1", Name: "get_weather", Result: json.RawMessage(`{"temp_c":18}`)})
}

func newHandler(t *testing.T, agent agui.Agent) (string, store.Store) {
	t.Helper()
	h, st := servetest.Hub(t)
	hd, err := agui.Handler(h, agent)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(hd)
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	return ts.URL, st
}

// TestHttpAgent runs the official HttpAgent against the handler: the
// client's pipeline verifies the stream and assembles the answer, and the
// run is in the log under the thread.
func TestHttpAgent(t *testing.T) {
	url, st := newHandler(t, weather)
	out := nodeclient.Run(t, "httpagent.mjs", url)
	var res struct {
		OK       bool
		Messages []struct {
			ID, Role, Content string
			ToolCallID        string
		}
	}
	if err := json.Unmarshal(out, &res); err != nil || !res.OK {
		t.Fatalf("%s: %v", out, err)
	}
	var got []string
	for _, m := range res.Messages {
		got = append(got, m.Role+":"+m.Content)
	}
	want := "user:Weather in Paris? assistant:It is 18 °C in Paris. tool:{\"temp_c\":18}"
	if strings.Join(got, " ") != want {
		t.Fatalf("messages %q\nwant %q", strings.Join(got, " "), want)
	}
	si, err := st.Session(context.Background(), "thread-1")
	if err != nil || si.LastSeq < 10 {
		t.Fatalf("the log holds %+v, %v", si, err)
	}
}

func TestHandlerBadInput(t *testing.T) {
	url, st := newHandler(t, weather)
	for _, c := range []struct {
		ct, body string
		code     int
	}{
		{"application/json", `not json`, http.StatusBadRequest},
		{"application/json", `{"runId":"r"}`, http.StatusBadRequest},
		{"application/json", `{"threadId":"t","runId":""}`, http.StatusBadRequest},
		{"text/plain", `{"threadId":"t","runId":"r"}`, http.StatusUnsupportedMediaType},
		{"application/json", `{"threadId":"t","runId":"r","messages":[{"id":"x","role":"user","content":"` + strings.Repeat("x", agui.MaxInputBytes) + `"}]}`, http.StatusRequestEntityTooLarge},
	} {
		resp, err := http.Post(url, c.ct, bytes.NewReader([]byte(c.body)))
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error struct{ Message string } }
		json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.code || body.Error.Message == "" {
			t.Errorf("%.40s: %d %q, want %d", c.body, resp.StatusCode, body.Error.Message, c.code)
		}
	}
	if ss, _ := st.Sessions(context.Background(), store.SessionQuery{}); len(ss) != 0 {
		t.Fatalf("bad input stored %+v", ss)
	}
}

// TestHandlerOptions: a nil hub or agent, a nil option, a nil clock or a
// stale time that is not positive is refused with ErrInvalid.
func TestHandlerOptions(t *testing.T) {
	h, _ := servetest.Hub(t)
	agent := func(context.Context, agui.RunAgentInput, *sluice.Emitter) error { return nil }
	for name, c := range map[string]struct {
		h     *hub.Hub
		agent agui.Agent
		opts  []agui.Option
	}{
		"nil hub":        {nil, agent, nil},
		"nil agent":      {h, nil, nil},
		"nil option":     {h, agent, []agui.Option{nil}},
		"nil clock":      {h, agent, []agui.Option{agui.WithClock(nil)}},
		"zero stale":     {h, agent, []agui.Option{agui.WithStaleAfter(0)}},
		"negative stale": {h, agent, []agui.Option{agui.WithStaleAfter(-time.Second)}},
	} {
		if hd, err := agui.Handler(c.h, c.agent, c.opts...); !errors.Is(err, agui.ErrInvalid) || hd != nil {
			t.Errorf("%s: Handler = %v, %v; want nil, ErrInvalid", name, hd, err)
		}
	}
	if hd, err := agui.Handler(h, agent, agui.WithClock(time.Now), agui.WithStaleAfter(time.Minute)); err != nil || hd == nil {
		t.Errorf("valid options: Handler = %v, %v", hd, err)
	}
}
