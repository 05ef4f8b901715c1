package agui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
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
	ts := httptest.NewServer(agui.Handler(h, agent))
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
