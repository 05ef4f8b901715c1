package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sluice-events/sluice/server"
)

// request makes a request with the given Host and headers and returns
// the status and the error code, if any.
func request(t *testing.T, e *env, method, path, host, body string, hdr ...string) (int, string) {
	t.Helper()
	var r *strings.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	var req *http.Request
	var err error
	if r != nil {
		req, err = http.NewRequest(method, e.url+path, r)
	} else {
		req, err = http.NewRequest(method, e.url+path, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb errBody
	if resp.StatusCode >= 400 {
		b := make([]byte, 4096)
		n, _ := resp.Body.Read(b)
		eb = decodeErr(t, b[:n])
	}
	return resp.StatusCode, eb.Error.Code
}

// Writes without a JSON content type are refused: a page cannot post
// events or calls with a preflight-free request (no-cors fetch of a Blob,
// sendBeacon).
func TestWritesNeedAJSONContentType(t *testing.T) {
	e := newEnv(t, server.Config{})
	ev := string(eventJSON(t, mkEvent("s1", 0)))
	rpcBody := `{"jsonrpc":"2.0","id":1,"method":"sessions.list"}`
	for _, tc := range []struct{ path, body, ctype string }{
		{"/v1/events", ev, ""},
		{"/v1/events", ev, "text/plain;charset=UTF-8"},
		{"/v1/rpc", rpcBody, ""},
		{"/v1/rpc", rpcBody, "text/plain"},
	} {
		var hdr []string
		if tc.ctype != "" {
			hdr = []string{"Content-Type", tc.ctype}
		}
		if code, ecode := request(t, e, "POST", tc.path, "", tc.body, hdr...); code != http.StatusUnsupportedMediaType || ecode != server.CodeUnsupportedType {
			t.Errorf("%s with Content-Type %q: %d %s", tc.path, tc.ctype, code, ecode)
		}
	}
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "application/x-ndjson"} {
		if code, _ := request(t, e, "POST", "/v1/events", "", ev, "Content-Type", ct); code != 200 {
			t.Errorf("%s: %d", ct, code)
		}
	}
}

// Without keys, only loopback Host names (and the allowed ones) and
// same-origin or allowed Origins are served, on every route but the
// health checks: a DNS-rebinding page gets 403, over HTTP and WebSocket.
func TestKeylessRefusesForeignHostsAndOrigins(t *testing.T) {
	e := newEnv(t, server.Config{AllowedHosts: []string{"sluice.test"}, CORSOrigins: []string{"https://app.example"}})
	port := e.url[strings.LastIndexByte(e.url, ':'):]
	for _, tc := range []struct {
		name, host, origin string
		code               int
		ecode              string
	}{
		{"loopback", "", "", 200, ""},
		{"localhost", "localhost" + port, "", 200, ""},
		{"LOCALHOST without port", "LOCALHOST", "", 200, ""},
		{"ipv6 loopback", "[::1]" + port, "", 200, ""},
		{"allowed host", "sluice.test" + port, "", 200, ""},
		{"same origin", "localhost" + port, "http://localhost" + port, 200, ""},
		{"allowed origin", "", "https://app.example", 200, ""},
		{"rebinding host", "attacker.example" + port, "", 403, server.CodeHostNotAllowed},
		{"rebinding host and origin", "attacker.example" + port, "http://attacker.example" + port, 403, server.CodeHostNotAllowed},
		{"foreign origin", "", "http://attacker.example", 403, server.CodeOriginNotAllowed},
		{"null origin", "", "null", 403, server.CodeOriginNotAllowed},
	} {
		var hdr []string
		if tc.origin != "" {
			hdr = []string{"Origin", tc.origin}
		}
		for _, path := range []string{"/v1/sessions", "/v1/events", "/v1/stream"} {
			if code, ecode := request(t, e, "GET", path, tc.host, "", hdr...); code != tc.code || ecode != tc.ecode {
				t.Errorf("%s: GET %s: %d %s, want %d %s", tc.name, path, code, ecode, tc.code, tc.ecode)
			}
		}
		if tc.code != 200 {
			if code, ecode := request(t, e, "POST", "/v1/events", tc.host, string(eventJSON(t, mkEvent("s1", 0))), append(hdr, "Content-Type", "application/json")...); code != tc.code || ecode != tc.ecode {
				t.Errorf("%s: POST: %d %s", tc.name, code, ecode)
			}
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Host", "attacker.example"+port)
	h.Set("Origin", "http://attacker.example"+port)
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/v1/ws", &websocket.DialOptions{Host: "attacker.example" + port, HTTPHeader: h})
	if err == nil {
		c.CloseNow()
		t.Fatal("a WebSocket from a rebinding page was accepted")
	}
	if resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("WebSocket: %v %v", resp, err)
	}
}

// With keys, the Host is not checked: a key is what grants access.
func TestHostNotCheckedWithKeys(t *testing.T) {
	e := newEnv(t, server.Config{Keys: []server.Key{{Name: "k", Secret: "s3cret-key", Scopes: []server.Scope{server.ScopeAdmin}}}})
	if code, ecode := request(t, e, "GET", "/v1/sessions", "sluice.example.com", "", "Authorization", "Bearer s3cret-key"); code != 200 {
		t.Fatalf("%d %s", code, ecode)
	}
}
