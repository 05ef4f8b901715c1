package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/wire"
)

// TestCursorBeyondInt64IsRefused: a cursor above 2^63-1 is a client error
// on every stream, like on queries — not a stream that fails and asks to
// be retried forever.
func TestCursorBeyondInt64IsRefused(t *testing.T) {
	e := newEnv(t, server.Config{})
	e.publish("", "s1", 0, 3)
	const huge = "9223372036854775808"
	for _, tc := range []struct {
		path string
		hdr  []string
	}{
		{"/v1/sessions/s1/stream", []string{"Last-Event-ID", huge}},
		{"/v1/stream", []string{"Last-Event-ID", huge}},
		{"/v1/stream?after=" + huge, nil},
		{"/v1/sessions/s1/events?after=" + huge, nil},
		{"/v1/events?after=" + huge, nil},
	} {
		code, body := e.do("GET", tc.path, "", nil, tc.hdr...)
		if code != http.StatusBadRequest || decodeErr(t, body).Error.Code != server.CodeBadRequest {
			t.Errorf("GET %s %v: %d %s, want 400 bad_request", tc.path, tc.hdr, code, body)
		}
	}
	// The resuming client gives up at once on a 400 rather than retrying.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := &wire.Client{Retry: time.Millisecond}
	err := c.Stream(ctx, e.url+"/v1/sessions/s1/stream", huge, func(wire.Event) error { return nil })
	var se *wire.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusBadRequest {
		t.Errorf("client Stream = %v, want a 400 StatusError", err)
	}
}

// TestWebSocketBadSubscriptionLeavesOthers: in one batch, a subscription
// with a bad cursor gets an error response and the valid ones go on, on
// the same connection.
func TestWebSocketBadSubscriptionLeavesOthers(t *testing.T) {
	e := newEnv(t, server.Config{})
	e.publish("", "s1", 0, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws := dialWS(t, ctx, e, "")
	ws.send(ctx, `[{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"session":"s1","after":9223372036854775808}},
		{"jsonrpc":"2.0","id":2,"method":"events.subscribe","params":{"session":"s1","after":99}},
		{"jsonrpc":"2.0","id":3,"method":"events.subscribe","params":{"session":"s1"}}]`)
	_, data, err := ws.c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id":1,"error":{"code":-32602`, `"id":2,"error":{"code":`, `stale_cursor`, `"id":3,"result":{"subscription":`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("batch response lacks %s: %s", want, data)
		}
	}
	for want := uint64(1); want <= 3; want++ {
		if want == 3 {
			e.publish("", "s1", 2, 1)
		}
		m, err := ws.read(ctx)
		if err != nil || m.Method != server.MethodEvent || m.Params.Cursor != want {
			t.Fatalf("notification %d: %+v, %v", want, m, err)
		}
	}
}

// TestStaleCursor: a cursor past the end of the log, or from another
// log's epoch, is refused with 409 stale_cursor instead of silently
// skipping the events numbered up to it.
func TestStaleCursor(t *testing.T) {
	e := newEnv(t, server.Config{})
	e.publish("", "s1", 0, 3)
	code, body := e.do("GET", "/v1/sessions/s1/events", "", nil)
	if code != 200 {
		t.Fatal(code, string(body))
	}
	resp, err := http.Get(e.url + "/v1/sessions")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	epoch := resp.Header.Get(server.EpochHeader)
	if len(epoch) != 16 {
		t.Fatalf("%s = %q, want 16 hex digits", server.EpochHeader, epoch)
	}
	for _, tc := range []struct {
		path string
		hdr  []string
		want int
	}{
		{"/v1/sessions/s1/stream", []string{"Last-Event-ID", "4"}, 409},
		{"/v1/stream", []string{"Last-Event-ID", "4"}, 409},
		{"/v1/sessions/s1/events?after=4", nil, 409},
		{"/v1/events?after=4", nil, 409},
		{"/v1/sessions/new/stream?wait=true&after=1", nil, 409},
		{"/v1/sessions/s1/events?after=3&epoch=00000000000000ff", nil, 409},
		{"/v1/sessions/s1/stream", []string{"Last-Event-ID", "3", server.EpochHeader, "00000000000000ff"}, 409},
		{"/v1/sessions/s1/events?after=3&epoch=" + epoch, nil, 200},
		{"/v1/events?after=3", nil, 200},
	} {
		code, body := e.do("GET", tc.path, "", nil, tc.hdr...)
		if code != tc.want || (tc.want == 409 && decodeErr(t, body).Error.Code != server.CodeStaleCursor) {
			t.Errorf("GET %s %v: %d %s, want %d", tc.path, tc.hdr, code, body, tc.want)
		}
	}
	// JSON-RPC takes the same parameters through the same check.
	out := rpc(t, e, "", `{"jsonrpc":"2.0","id":1,"method":"events.query","params":{"session":"s1","after":4}}`)
	if !strings.Contains(string(out), "stale_cursor") {
		t.Errorf("events.query past the end: %s", out)
	}
}

// TestResumeAcrossAReplacedLog: a client follows a server, the server is
// replaced by one over a new log that already holds more events than the
// client's cursor, and the resuming client is told (409) instead of
// silently skipping the new log's first events.
func TestResumeAcrossAReplacedLog(t *testing.T) {
	first := newEnv(t, server.Config{})
	second := newEnv(t, server.Config{})
	first.publish("", "s1", 0, 2)
	second.publish("", "s1", 0, 5)
	var current atomic.Pointer[server.Server]
	current.Store(first.srv)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { current.Load().ServeHTTP(w, r) }))
	defer front.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &wire.Client{Retry: time.Millisecond}
	seen := 0
	err := c.Stream(ctx, front.URL+"/v1/sessions/s1/stream", "", func(ev wire.Event) error {
		if ev.Type == server.SSEReconnect {
			return nil // the first server's goodbye
		}
		seen++
		if seen == 2 {
			// The first server goes away (its streams end, asking
			// clients to reconnect) and a new one takes its place.
			current.Store(second.srv)
			first.srv.Drain()
		}
		return nil
	})
	var se *wire.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusConflict || !strings.Contains(se.Body, server.CodeStaleCursor) {
		t.Fatalf("Stream after the log was replaced = %v (saw %d events), want 409 stale_cursor", err, seen)
	}
	if seen != 2 {
		t.Errorf("saw %d events, want the first log's 2", seen)
	}
}
