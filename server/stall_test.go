package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sluice-events/sluice/server"
)

// serving runs a server with cfg through Serve (so the connection limits
// apply) on a loopback listener and returns its address.
func serving(t *testing.T, cfg server.Config) string {
	t.Helper()
	cfg.ShutdownTimeout = time.Second
	srv, h, st := newServer(t, cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		stop()
		<-served
		srv.Close(context.Background())
		h.Close(context.Background())
		st.Close()
	})
	return l.Addr().String()
}

// stalled opens a raw connection that sends the head of a POST announcing
// a body of 200,000 bytes, then the first byte of it, and nothing more.
func stalled(t *testing.T, addr, auth string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "POST /v1/events HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n%s\r\n[", addr, auth)
	return c
}

// answer reads the response on c, waiting at most wait.
func answerOn(t *testing.T, c net.Conn, wait time.Duration) (int, string, time.Duration) {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(wait))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer within %v: %v", wait, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var eb errBody
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Fatalf("%d: not a JSON error: %q", resp.StatusCode, b)
	}
	return resp.StatusCode, eb.Error.Code, time.Since(start)
}

// A client without a key that announces a body and stalls gets 401 at
// once: the body is not waited for.
func TestStalledBodyWithoutKeyGets401AtOnce(t *testing.T) {
	addr := serving(t, server.Config{Keys: []server.Key{{Name: "k", Secret: "s3cret-key", Scopes: []server.Scope{server.ScopeAdmin}}}, BodyTimeout: 10 * time.Second})
	for _, auth := range []string{"", "Authorization: Bearer wrong-key\r\n"} {
		c := stalled(t, addr, auth)
		code, ecode, took := answerOn(t, c, 3*time.Second)
		if code != http.StatusUnauthorized || ecode != server.CodeUnauthorized {
			t.Fatalf("%q: %d %s", auth, code, ecode)
		}
		t.Logf("401 after %v", took)
	}
}

// A body that stalls, or trickles in below the minimum rate, is cut off
// with 408 once its deadline passes.
func TestStalledBodyTimesOut(t *testing.T) {
	addr := serving(t, server.Config{BodyTimeout: 300 * time.Millisecond, MinBodyRate: 1000})
	c := stalled(t, addr, "")
	code, ecode, took := answerOn(t, c, 3*time.Second)
	if code != http.StatusRequestTimeout || ecode != server.CodeTimeout {
		t.Fatalf("stalled: %d %s", code, ecode)
	}
	t.Logf("stalled body: 408 after %v", took)

	// One byte every 50 ms is 20 B/s, far below 1000 B/s.
	c = stalled(t, addr, "")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 100 {
			time.Sleep(50 * time.Millisecond)
			if _, err := c.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	code, ecode, took = answerOn(t, c, 3*time.Second)
	if code != http.StatusRequestTimeout || ecode != server.CodeTimeout {
		t.Fatalf("trickled: %d %s", code, ecode)
	}
	c.Close()
	<-done
	t.Logf("trickled body: 408 after %v", took)
}

// Connections that have not authenticated yet are limited: past
// MaxUnauthConns a new one gets 503 at once, while clients with a key
// go on.
func TestUnauthenticatedConnectionsAreLimited(t *testing.T) {
	key := server.Key{Name: "k", Secret: "s3cret-key", Scopes: []server.Scope{server.ScopeAdmin}}
	addr := serving(t, server.Config{Keys: []server.Key{key}, MaxUnauthConns: 3})
	// A client with a key holds a keep-alive connection.
	client := &http.Client{Timeout: 5 * time.Second}
	get := func() int {
		req, _ := http.NewRequest("GET", "http://"+addr+"/v1/sessions", nil)
		req.Header.Set("Authorization", "Bearer "+key.Secret)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != 200 {
		t.Fatal(code)
	}
	// Three connections that say nothing.
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	time.Sleep(100 * time.Millisecond) // let the server accept them
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	code, ecode, _ := answerOn(t, c, 3*time.Second)
	if code != http.StatusServiceUnavailable || ecode != server.CodeTooMany {
		t.Fatalf("over the limit: %d %s", code, ecode)
	}
	if code := get(); code != 200 {
		t.Fatalf("the authenticated connection: %d", code)
	}
	client.CloseIdleConnections()
}
