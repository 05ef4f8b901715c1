package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/wire"
)

func rpc(t *testing.T, e *env, key, body string) []byte {
	t.Helper()
	code, resp := e.do("POST", "/v1/rpc", key, []byte(body))
	if code != 200 {
		t.Fatalf("rpc: %d %s", code, resp)
	}
	return resp
}

func TestRPCOverHTTP(t *testing.T) {
	e := newEnv(t, server.Config{MaxBatch: 10, MaxRPCBatch: 10})
	ev0 := string(eventJSON(t, mkEvent("s1", 0)))
	ev1 := string(eventJSON(t, mkEvent("s1", 1)))
	resp := rpc(t, e, "", `{"jsonrpc":"2.0","id":1,"method":"events.publish","params":{"events":[`+ev0+`,`+ev1+`]}}`)
	if !contains(resp, `"id":1,"result":{"count":2`) {
		t.Fatalf("publish: %s", resp)
	}
	resp = rpc(t, e, "", `[
		{"jsonrpc":"2.0","id":"a","method":"sessions.list"},
		{"jsonrpc":"2.0","id":"b","method":"events.query","params":{"session":"s1","after":1}},
		{"jsonrpc":"2.0","method":"sessions.list"},
		{"jsonrpc":"2.0","id":"c","method":"nope"},
		{"jsonrpc":"2.0","id":"d","method":"events.query","params":{"types":"a..b"}},
		{"jsonrpc":"2.0","id":"e","method":"events.query","params":{"session":"zz"}},
		{"jsonrpc":"2.0","id":"f","method":"events.query","params":[1]},
		{"foo":1},
		{"jsonrpc":"2.0","id":"g","method":"events.query"}
	]`)
	var out []wire.Response
	if err := json.Unmarshal(resp, &out); err != nil {
		t.Fatalf("%v: %s", err, resp)
	}
	if len(out) != 8 { // the notification gets no response
		t.Fatalf("%d responses: %s", len(out), resp)
	}
	want := map[string]int{`"a"`: 0, `"b"`: 0, `"c"`: wire.MethodNotFound, `"d"`: wire.InvalidParams, `"e"`: server.RPCNotFound, `"f"`: wire.InvalidParams, `null`: wire.InvalidRequest, `"g"`: 0}
	for _, r := range out {
		code := 0
		if r.Error != nil {
			code = r.Error.Code
		}
		if w, ok := want[string(r.ID)]; !ok || w != code {
			t.Errorf("response %s: code %d, want %d (%s)", r.ID, code, w, resp)
		}
		if string(r.ID) == `"b"` && (!strings.Contains(string(r.Result), `"seq":2`) || strings.Contains(string(r.Result), `"seq":1,`)) {
			t.Errorf("query after 1: %s", r.Result)
		}
	}
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"jsonrpc":"2.0",`, wire.ParseError},
		{`[]`, wire.InvalidRequest},
		{`[` + strings.Repeat(`{"jsonrpc":"2.0","id":1,"method":"sessions.list"},`, 10) + `1]`, wire.InvalidRequest},
		{`{"jsonrpc":"1.0","id":1,"method":"sessions.list"}`, wire.InvalidRequest},
		{`{"jsonrpc":"2.0","id":1,"method":"events.subscribe"}`, wire.InvalidRequest},
		{`{"jsonrpc":"2.0","id":1,"method":"events.publish","params":{"event":{"type":"Bad","meta":{"session":"s"},"payload":{}}}}`, wire.InvalidParams},
	} {
		var r wire.Response
		resp := rpc(t, e, "", tc.body)
		if err := json.Unmarshal(resp, &r); err != nil || r.Error == nil || r.Error.Code != tc.code {
			t.Errorf("%s: %s, want code %d", tc.body, resp, tc.code)
		}
	}
	// Only notifications: no body.
	code, _ := e.do("POST", "/v1/rpc", "", []byte(`{"jsonrpc":"2.0","method":"sessions.list"}`))
	if code != http.StatusNoContent {
		t.Fatalf("notification: %d", code)
	}
	// events.subscribe over HTTP as an SSE stream, resumable.
	c := &wire.Client{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.url+"/v1/rpc", strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"events.subscribe","params":{"session":"s1","after":1}}`))
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Content-Type", "application/json")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	r := wire.NewReader(resp2.Body)
	first, err := r.Next()
	if err != nil || !strings.Contains(string(first.Data), `"id":7,"result":{"subscription":"1"}`) {
		t.Fatalf("first frame %q %v", first.Data, err)
	}
	note, err := r.Next()
	if err != nil || note.ID != "2" || !strings.Contains(string(note.Data), `"method":"event"`) || !strings.Contains(string(note.Data), `"cursor":2`) {
		t.Fatalf("notification %+v %v", note, err)
	}
	_ = c
}

// wsClient is a minimal JSON-RPC client over the WebSocket.
type wsClient struct {
	t *testing.T
	c *websocket.Conn
}

func dialWS(t *testing.T, ctx context.Context, e *env, key string) *wsClient {
	t.Helper()
	opts := &websocket.DialOptions{}
	if key != "" {
		opts.HTTPHeader = http.Header{"Authorization": {"Bearer " + key}}
	}
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/v1/ws", opts)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &wsClient{t: t, c: c}
}

func (w *wsClient) send(ctx context.Context, msg string) {
	w.t.Helper()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		w.t.Fatal(err)
	}
}

// message is any message from the server.
type message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  *wire.Error     `json:"error"`
	Params struct {
		Subscription string          `json:"subscription"`
		Cursor       uint64          `json:"cursor"`
		Event        json.RawMessage `json:"event"`
	} `json:"params"`
}

func (w *wsClient) read(ctx context.Context) (message, error) {
	_, data, err := w.c.Read(ctx)
	if err != nil {
		return message{}, err
	}
	var m message
	if err := json.Unmarshal(data, &m); err != nil {
		w.t.Fatalf("%v: %s", err, data)
	}
	return m, nil
}

func TestWebSocket(t *testing.T) {
	e := newEnv(t, server.Config{MaxSubscriptions: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e.publish("", "s1", 0, 3)
	w := dialWS(t, ctx, e, "")
	w.send(ctx, `{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"session":"s1","after":1}}`)
	m, err := w.read(ctx)
	if err != nil || string(m.ID) != "1" || !strings.Contains(string(m.Result), `"subscription":"1"`) {
		t.Fatalf("subscribe: %+v %v", m, err)
	}
	// Publish over the same connection.
	w.send(ctx, `{"jsonrpc":"2.0","id":2,"method":"events.publish","params":{"event":`+string(eventJSON(t, mkEvent("s1", 3)))+`}}`)
	var cursors []uint64
	gotPublish := false
	for len(cursors) < 3 || !gotPublish {
		m, err := w.read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case m.Method == "event":
			cursors = append(cursors, m.Params.Cursor)
		case string(m.ID) == "2":
			gotPublish = m.Error == nil
		}
	}
	if fmt.Sprint(cursors) != "[2 3 4]" {
		t.Fatalf("cursors %v", cursors)
	}
	// The subscription limit.
	w.send(ctx, `{"jsonrpc":"2.0","id":3,"method":"events.subscribe","params":{"types":"message.>"}}`)
	w.send(ctx, `{"jsonrpc":"2.0","id":4,"method":"events.subscribe","params":{}}`)
	for seen := 0; seen < 2; {
		m, err := w.read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch string(m.ID) {
		case "3":
			seen++
			if m.Error != nil {
				t.Fatalf("second subscription: %+v", m.Error)
			}
		case "4":
			seen++
			if m.Error == nil || m.Error.Code != server.RPCTooMany {
				t.Fatalf("third subscription: %+v", m)
			}
		}
	}
	w.send(ctx, `{"jsonrpc":"2.0","id":5,"method":"events.unsubscribe","params":{"subscription":"1"}}`)
	w.send(ctx, `{"jsonrpc":"2.0","id":6,"method":"events.unsubscribe","params":{"subscription":"1"}}`)
	w.send(ctx, `not json`)
	for seen := 0; seen < 3; {
		m, err := w.read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case string(m.ID) == "5":
			seen++
			if m.Error != nil {
				t.Fatalf("unsubscribe: %+v", m.Error)
			}
		case string(m.ID) == "6":
			seen++
			if m.Error == nil || m.Error.Code != server.RPCNotFound {
				t.Fatalf("second unsubscribe: %+v", m)
			}
		case m.Error != nil && m.Error.Code == wire.ParseError:
			seen++
		}
	}
	w.c.Close(websocket.StatusNormalClosure, "")
}

// TestWebSocketSlowClient: a client that does not read is closed with a
// reason once its queue stays full, and resumes from its last cursor with
// no gap and no duplicate.
func TestWebSocketSlowClient(t *testing.T) {
	e := newEnv(t, server.Config{WSQueue: 4, SlowTimeout: 50 * time.Millisecond})
	// Generous: on a loaded machine under -race a client that reads as
	// fast as it can is still closed as too slow several times.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const n = 1500
	big := strings.Repeat("x", 8000)
	for i := 0; i < n; i += 250 {
		var b strings.Builder
		b.WriteString("[")
		for j := i; j < i+250; j++ {
			if j > i {
				b.WriteString(",")
			}
			ev := event.New(event.TextDelta{Text: big}, event.Meta{SessionID: "s1"})
			b.Write(eventJSON(t, ev))
		}
		b.WriteString("]")
		code, resp := e.do("POST", "/v1/events", "", []byte(b.String()))
		if code != 200 {
			t.Fatalf("%d %s", code, resp)
		}
	}
	var last uint64
	var closed bool
	for attempt := 0; last < n && attempt < 200; attempt++ {
		w := dialWS(t, ctx, e, "")
		w.c.SetReadLimit(1 << 20)
		w.send(ctx, fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"session":"s1","after":%d}}`, last))
		if attempt == 0 {
			time.Sleep(500 * time.Millisecond) // do not read: fall behind
		}
		for last < n {
			m, err := w.read(ctx)
			if err != nil {
				t.Logf("attempt %d: read error after %d: %v", attempt, last, err)
				if websocket.CloseStatus(err) == server.CloseTooSlow {
					closed = true
					var ce websocket.CloseError
					if errorsAs(err, &ce) && !strings.Contains(ce.Reason, "too slow") {
						t.Fatalf("reason %q", ce.Reason)
					}
				}
				break
			}
			if m.Method != "event" {
				continue
			}
			if m.Params.Cursor != last+1 {
				t.Fatalf("cursor %d after %d", m.Params.Cursor, last)
			}
			last = m.Params.Cursor
		}
		w.c.CloseNow()
	}
	if !closed {
		t.Fatal("the slow client was never closed as too slow")
	}
	if last != n {
		t.Fatalf("resumed to %d of %d", last, n)
	}
}
