package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/wire"
)

// publishBig stores n events of about size bytes each in session.
func publishBig(t *testing.T, e *env, session string, n, size int) {
	t.Helper()
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		ev := event.New(event.TextDelta{Text: strings.Repeat("x", size)}, event.Meta{SessionID: session})
		b.Write(eventJSON(t, ev))
	}
	b.WriteByte(']')
	if code, body := e.do("POST", "/v1/events", "", []byte(b.String())); code != 200 {
		t.Fatalf("publish: %d %s", code, body)
	}
}

// queryBatch is a batch of n events.query calls for every event of session.
func queryBatch(session string, n int) string {
	calls := make([]string, n)
	for i := range calls {
		calls[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"events.query","params":{"session":%q,"limit":1000}}`, i, session)
	}
	return "[" + strings.Join(calls, ",") + "]"
}

// checkBudgeted checks a batch response that ran out of its byte budget:
// every call is answered in order, the first with events, and those past
// the budget with -32013.
func checkBudgeted(t *testing.T, resp []byte, n, budget int) {
	t.Helper()
	if len(resp) > budget+64<<10 {
		t.Fatalf("a batch response of %d bytes, over the budget of %d", len(resp), budget)
	}
	var out []wire.Response
	if err := json.Unmarshal(resp, &out); err != nil {
		t.Fatalf("%v: %.300s", err, resp)
	}
	if len(out) != n {
		t.Fatalf("%d responses to %d calls", len(out), n)
	}
	if out[0].Error != nil || !strings.Contains(string(out[0].Result), `"seq":1,`) {
		t.Fatalf("first call: %+v %.200s", out[0].Error, out[0].Result)
	}
	last := out[n-1]
	if last.Error == nil || last.Error.Code != server.RPCTooLarge || !strings.Contains(last.Error.Message, "budget") || string(last.ID) != fmt.Sprint(n-1) {
		t.Fatalf("last call: %s %+v", last.ID, last.Error)
	}
}

// A batch of queries whose answers together are far larger than the
// response budget is answered within the budget: the calls past it get
// -32013 (and are not run), over HTTP and over the WebSocket.
func TestRPCBatchResponseIsBounded(t *testing.T) {
	e := newEnv(t, server.Config{})
	publishBig(t, e, "big", 300, 1000) // 300 KB per full page
	const n = 100                      // 30 MB if every call were answered in full
	start := time.Now()
	resp := rpc(t, e, "", queryBatch("big", n))
	checkBudgeted(t, resp, n, server.DefaultMaxResponseBytes)
	t.Logf("HTTP: %d calls answered in %d bytes, %v", n, len(resp), time.Since(start))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	c.SetReadLimit(-1)
	if err := c.Write(ctx, websocket.MessageText, []byte(queryBatch("big", n))); err != nil {
		t.Fatal(err)
	}
	_, msg, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkBudgeted(t, msg, n, server.DefaultMaxResponseBytes)
	c.Close(websocket.StatusNormalClosure, "")
}

// One query whose page would be over the budget is cut short: it says
// more and where to continue, and the client reads everything page by
// page. The same holds for GET pages.
func TestQueryPageIsBoundedInBytes(t *testing.T) {
	const budget = 64 << 10
	e := newEnv(t, server.Config{MaxResponseBytes: budget})
	publishBig(t, e, "big", 300, 1000)
	seen := 0
	var after uint64
	for pages := 0; ; pages++ {
		if pages > 20 {
			t.Fatal("too many pages")
		}
		resp := rpc(t, e, "", fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"events.query","params":{"session":"big","after":%d,"limit":1000}}`, after))
		if len(resp) > budget {
			t.Fatalf("a response of %d bytes, over %d", len(resp), budget)
		}
		var r struct {
			Result struct {
				Events    []json.RawMessage `json:"events"`
				NextAfter uint64            `json:"next_after"`
				More      bool              `json:"more"`
			} `json:"result"`
		}
		if err := json.Unmarshal(resp, &r); err != nil || len(r.Result.Events) == 0 && r.Result.More {
			t.Fatalf("%v: %.300s", err, resp)
		}
		seen += len(r.Result.Events)
		after = r.Result.NextAfter
		if !r.Result.More {
			break
		}
	}
	if seen != 300 {
		t.Fatalf("read %d events, want 300", seen)
	}
	code, body := e.do("GET", "/v1/sessions/big/events?limit=1000", "", nil)
	if code != 200 || len(body) > budget || !contains(body, `"more":true`) {
		t.Fatalf("GET page: %d, %d bytes, %.100s", code, len(body), body[max(0, len(body)-100):])
	}
	code, body = e.do("GET", "/v1/events?limit=1000", "", nil)
	if code != 200 || len(body) > budget || !contains(body, `"more":true`) {
		t.Fatalf("GET all page: %d, %d bytes", code, len(body))
	}
}

// Batches are limited to MaxRPCBatch calls, a limit apart from (and far
// below) the events of one publish: 10,000 notifications are refused
// instead of run.
func TestRPCBatchSizeLimit(t *testing.T) {
	e := newEnv(t, server.Config{})
	calls := strings.TrimSuffix(strings.Repeat(`{"jsonrpc":"2.0","method":"sessions.list"},`, 10_000), ",")
	start := time.Now()
	code, resp := e.do("POST", "/v1/rpc", "", []byte("["+calls+"]"))
	var r wire.Response
	if code != 200 || json.Unmarshal(resp, &r) != nil || r.Error == nil || r.Error.Code != wire.InvalidRequest || !strings.Contains(r.Error.Message, fmt.Sprint(server.DefaultMaxRPCBatch)) {
		t.Fatalf("%d %s", code, resp)
	}
	t.Logf("10,000 notifications refused in %v", time.Since(start))
	// Within the limit, notifications of reads are not run at all: no
	// response, no work.
	calls = strings.TrimSuffix(strings.Repeat(`{"jsonrpc":"2.0","method":"events.query","params":{"session":"nope"}},`, server.DefaultMaxRPCBatch), ",")
	if code, resp := e.do("POST", "/v1/rpc", "", []byte("["+calls+"]")); code != 204 {
		t.Fatalf("%d %s", code, resp)
	}
}
