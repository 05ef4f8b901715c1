package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/server"
)

func TestFormatParam(t *testing.T) {
	e := newEnv(t, server.Config{})
	e.publish("", "s1", 1, 2)
	for _, c := range []struct {
		path, want string
		code       int
	}{
		{"/v1/sessions/s1/stream?format=bogus", "native, agui, aisdk, cloudevents", http.StatusBadRequest},
		{"/v1/stream?format=bogus", "native, agui, aisdk, cloudevents", http.StatusBadRequest},
		{"/v1/stream?format=agui", "one session", http.StatusBadRequest},
		{"/v1/stream?format=aisdk", "one session", http.StatusBadRequest},
	} {
		code, body := e.do("GET", c.path, "", nil)
		if code != c.code || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: %d %s; want %d naming %q", c.path, code, body, c.code, c.want)
		}
		if code >= 400 {
			decodeErr(t, body)
		}
	}
}

// firstFrames reads the data: lines of a stream until n.
func firstFrames(t *testing.T, url string, hdr http.Header, n int) (http.Header, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for len(out) < n && sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return resp.Header, out
}

// TestAGUICustomRawState: catalog events without an AG-UI counterpart are
// CUSTOM, unknown types RAW, shared state STATE_SNAPSHOT and STATE_DELTA;
// nothing is dropped.
func TestAGUICustomRawState(t *testing.T) {
	e := newEnv(t, server.Config{})
	m := event.Meta{SessionID: "s1", RunID: "r1"}
	evs := []event.Event{
		event.New(event.StateSnapshot{State: json.RawMessage(`{"n":1}`)}, m),
		event.New(event.StateDelta{Patch: json.RawMessage(`[{"op":"replace","path":"/n","value":2}]`)}, m),
		event.New(event.Info{Message: "hello"}, m),
		event.New(event.Raw{Name: "myapp.thing", Data: json.RawMessage(`{"x":1}`)}, m),
		event.New(event.RunCompleted{}, m),
	}
	if err := e.hub.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	_, frames := firstFrames(t, e.url+"/v1/sessions/s1/stream?format=agui", nil, 6)
	want := []string{"RUN_STARTED", "STATE_SNAPSHOT", "STATE_DELTA", "CUSTOM", "RAW", "RUN_FINISHED"}
	for i, f := range frames {
		var v struct {
			Type string
			Name string
		}
		json.Unmarshal([]byte(f), &v)
		if v.Type != want[i] {
			t.Fatalf("frame %d: %s, want %s", i, f, want[i])
		}
		if v.Type == "CUSTOM" && v.Name != "agent.info" {
			t.Fatalf("custom %s", f)
		}
	}
	// The AI SDK format: its header, and the end.
	h, frames := firstFrames(t, e.url+"/v1/sessions/s1/stream?format=aisdk", nil, 20)
	if h.Get("x-vercel-ai-ui-message-stream") != "v1" {
		t.Fatalf("headers %v", h)
	}
	if len(frames) < 3 || frames[0] != `{"messageId":"r1","type":"start"}` || frames[len(frames)-1] != "[DONE]" || !strings.Contains(frames[len(frames)-2], `"finish"`) {
		t.Fatalf("aisdk frames %q", frames)
	}
}

// TestHandlers: extra routes (the agent endpoints) sit behind the API's
// authentication and need the ingest and read scopes.
func TestHandlers(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("agent")) })
	e := newEnv(t, server.Config{
		Keys: []server.Key{
			{Name: "reader", Secret: "reader-secret-1", Scopes: []server.Scope{server.ScopeRead}},
			{Name: "app", Secret: "app-secret-1234", Scopes: []server.Scope{server.ScopeRead, server.ScopeIngest}},
		},
		Handlers: map[string]http.Handler{"POST /v1/agent": ok},
	})
	for _, c := range []struct {
		key  string
		code int
	}{{"", http.StatusUnauthorized}, {"reader-secret-1", http.StatusForbidden}, {"app-secret-1234", http.StatusOK}} {
		code, body := e.do("POST", "/v1/agent", c.key, []byte(`{}`))
		if code != c.code {
			t.Errorf("key %q: %d %s, want %d", c.key, code, body, c.code)
		}
	}
}
