package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/wire"
)

// rawStream sends a GET over a raw TCP connection and returns the parsed
// response, whose Body is read from the connection.
func rawStream(t *testing.T, base, path, proto string, hdr ...string) (net.Conn, *http.Response) {
	t.Helper()
	addr := strings.TrimPrefix(base, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := fmt.Sprintf("GET %s %s\r\nHost: %s\r\n", path, proto, addr)
	for i := 0; i+1 < len(hdr); i += 2 {
		req += hdr[i] + ": " + hdr[i+1] + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return conn, resp
}

// readUntil reads r until what it has read contains want.
func readUntil(t *testing.T, r io.Reader, want string) string {
	t.Helper()
	var got []byte
	buf := make([]byte, 512)
	for !strings.Contains(string(got), want) {
		n, err := r.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("waiting for %q: %v after %q", want, err, got)
		}
	}
	return string(got)
}

// TestSSEStreamOverHTTP1: the stream a hijacked HTTP/1.1 connection
// carries: headers (with CORS), chunked frames, heartbeats, live events, a
// client leaving (its connection no longer counted), and over HTTP/1.0 a
// body that ends with the connection, with a reconnect frame on shutdown.
func TestSSEStreamOverHTTP1(t *testing.T) {
	e := newEnv(t, server.Config{Heartbeat: 20 * time.Millisecond, CORSOrigins: []string{"https://app.example"}})
	e.publish("", "s1", 0, 2)
	conn, resp := rawStream(t, e.url, "/v1/sessions/s1/stream?after=1", "HTTP/1.1", "Origin", "https://app.example")
	if resp.StatusCode != 200 || resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		t.Fatalf("status %s %s", resp.Proto, resp.Status)
	}
	for k, want := range map[string]string{
		"Content-Type":                "text/event-stream",
		"Cache-Control":               "no-cache, no-store, no-transform",
		"X-Accel-Buffering":           "no",
		"Access-Control-Allow-Origin": "https://app.example",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || !resp.Close {
		t.Errorf("transfer encoding %v, close %v", resp.TransferEncoding, resp.Close)
	}
	got := readUntil(t, resp.Body, "id: 2\n")
	if !strings.HasPrefix(got, ": sluice\n\nretry: 2000\n\n") || strings.Contains(got, "id: 1\n") {
		t.Fatalf("start of the stream: %q", got)
	}
	readUntil(t, resp.Body, ": ping\n")
	e.publish("", "s1", 2, 1)
	readUntil(t, resp.Body, "id: 3\n")

	gauge := func() string {
		_, body := e.do("GET", "/metrics", "", nil)
		for _, l := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(l, `sluice_server_open_connections{transport="sse"}`) {
				return strings.Fields(l)[1]
			}
		}
		return ""
	}
	if g := gauge(); g != "1" {
		t.Fatalf("open SSE connections: %s", g)
	}
	conn.Close()
	waitUntil(t, "the server to notice the client left", func() bool { return gauge() == "0" })

	// HTTP/1.0: no chunks; the body ends with the connection.
	_, resp = rawStream(t, e.url, "/v1/sessions/s1/stream", "HTTP/1.0")
	if resp.ProtoMinor != 0 || len(resp.TransferEncoding) != 0 {
		t.Fatalf("HTTP/1.0: %s, transfer encoding %v", resp.Proto, resp.TransferEncoding)
	}
	readUntil(t, resp.Body, "id: 3\n")
	e.srv.Drain()
	body, err := io.ReadAll(resp.Body)
	if err != nil || !strings.Contains(string(body), "event: reconnect\n") {
		t.Fatalf("end of the HTTP/1.0 stream: %q %v", body, err)
	}
}

// waitUntil polls cond until it holds (or fails the test after 10 s).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestSSEOverHTTP2: HTTP/2 connections cannot be hijacked; the stream is
// served by its handler as before, with history, live events and the
// reconnect frame on shutdown.
func TestSSEOverHTTP2(t *testing.T) {
	st := memStore(t)
	defer st.Close()
	h, err := hub.New(st)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	srv, err := server.New(context.Background(), server.Config{Hub: h, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	client := ts.Client()
	defer client.CloseIdleConnections()
	post := func(from int) {
		t.Helper()
		resp, err := client.Post(ts.URL+"/v1/events?session=s1", "application/json",
			strings.NewReader(string(eventJSON(t, mkEvent("s1", from)))))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("publish: %d", resp.StatusCode)
		}
	}
	post(0)
	resp, err := client.Get(ts.URL + "/v1/sessions/s1/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
		t.Fatalf("%s %s", resp.Proto, resp.Status)
	}
	r := wire.NewReader(resp.Body)
	next := func() wire.Event {
		t.Helper()
		ev, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	if ev := next(); ev.ID != "1" {
		t.Fatalf("first frame: %+v", ev)
	}
	post(1)
	if ev := next(); ev.ID != "2" {
		t.Fatalf("live frame: %+v", ev)
	}
	srv.Drain()
	if ev := next(); ev.Type != server.SSEReconnect || r.Retry() != time.Second {
		t.Fatalf("last frame: %+v, retry %v", ev, r.Retry())
	}
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Close(cctx); err != nil {
		t.Fatal(err)
	}
}
