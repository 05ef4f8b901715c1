package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/wire"
)

// TestShutdownWithClientsAttached: on shutdown the server stops accepting,
// finishes an append whose body is still arriving, tells SSE clients to
// reconnect (with a retry: hint) and closes WebSocket clients with 1012,
// and Serve returns within its deadline.
func TestShutdownWithClientsAttached(t *testing.T) {
	st := memStore(t)
	defer st.Close()
	h, err := hub.New(st)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	srv, err := server.New(context.Background(), server.Config{Hub: h, Logger: quietLogger(), ShutdownTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()

	e := &env{t: t, url: base}
	e.publish("", "s1", 0, 3)

	// SSE clients.
	var wg sync.WaitGroup
	sseDone := make(chan string, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(base + "/v1/sessions/s1/stream")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			r := wire.NewReader(resp.Body)
			for {
				ev, err := r.Next()
				if err != nil {
					sseDone <- "eof"
					return
				}
				if ev.Type == server.SSEReconnect {
					if r.Retry() != time.Second || ev.ID != "3" {
						t.Errorf("reconnect frame: retry %v, last id %q", r.Retry(), ev.ID)
					}
					sseDone <- ev.Type
					return
				}
			}
		}()
	}
	// A WebSocket client.
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	wsc, _, err := websocket.Dial(wctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer wsc.CloseNow()
	wsc.Write(wctx, websocket.MessageText, []byte(`{"jsonrpc":"2.0","id":1,"method":"events.subscribe","params":{"session":"s1"}}`))
	wsClosed := make(chan websocket.StatusCode, 1)
	go func() {
		for {
			if _, _, err := wsc.Read(wctx); err != nil {
				wsClosed <- websocket.CloseStatus(err)
				return
			}
		}
	}()
	// An append whose body is still arriving when the shutdown starts.
	pr, pw := io.Pipe()
	appendDone := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/v1/events", pr)
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			appendDone <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		appendDone <- resp.StatusCode
	}()
	fmt.Fprintf(pw, "%s\n", eventJSON(t, mkEvent("s2", 0)))
	time.Sleep(100 * time.Millisecond) // the streams and the append are in flight

	start := time.Now()
	stop()
	time.Sleep(50 * time.Millisecond)
	fmt.Fprintf(pw, "%s\n", eventJSON(t, mkEvent("s2", 1)))
	pw.Close()

	if code := <-appendDone; code != 200 {
		t.Fatalf("append in flight: %d", code)
	}
	for i := 0; i < 4; i++ {
		if got := <-sseDone; got != server.SSEReconnect {
			t.Fatalf("SSE client ended with %s, not a reconnect frame", got)
		}
	}
	if code := <-wsClosed; code != websocket.StatusServiceRestart {
		t.Fatalf("websocket closed with %v", code)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	wg.Wait()
	// The append was stored whole; new connections are refused.
	if si, err := st.Session(context.Background(), "s2"); err != nil || si.Count != 2 {
		t.Fatalf("s2: %+v %v", si, err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	if err := srv.Close(cctx); err != nil {
		t.Fatal(err)
	}
	http.DefaultClient.CloseIdleConnections()
}

// TestManyClients: many concurrent SSE clients of one session and of all
// sessions each get every event exactly once, in order.
func TestManyClients(t *testing.T) {
	e := newEnv(t, server.Config{})
	const clients, n = 100, 200
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url := e.url + "/v1/sessions/s1/stream?wait=true"
			if c%4 == 0 {
				url = e.url + "/v1/stream"
			}
			got, err := collect(ctx, t, &wire.Client{}, url, n)
			if err != nil {
				t.Error(err)
				return
			}
			checkExactlyOnce(t, got, n)
		}()
	}
	for i := 0; i < n; i += 5 {
		e.publish("", "s1", i, 5)
	}
	wg.Wait()
	code, body := e.do("GET", "/metrics", "", nil)
	if code != 200 || !contains(body, "sluice_server_events_ingested_total 200") || !contains(body, `sluice_server_events_delivered_total{transport="sse"} 20000`) {
		t.Fatalf("metrics: %d %s", code, body)
	}
	for _, m := range []string{"sluice_server_open_connections", "sluice_server_drops_total", "sluice_server_append_duration_seconds_bucket"} {
		if !contains(body, m) {
			t.Errorf("metrics lack %s", m)
		}
	}
}
