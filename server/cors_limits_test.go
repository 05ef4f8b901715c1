package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/sluice-events/sluice/server"
)

func parseKeys(t *testing.T, specs ...string) []server.Key {
	t.Helper()
	var ks []server.Key
	for _, s := range specs {
		k, err := server.ParseKey(s)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	return ks
}

// request makes a request with headers and returns the response with its
// body read and closed.
func (e *env) request(method, path string, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp, []byte(b.String())
}

// TestCORS: preflight requests from an allowed origin are answered (with
// no key: browsers send none) with the methods and headers the API takes;
// from another origin they get no CORS header, so the browser refuses.
// Actual requests get Access-Control-Allow-Origin only for allowed origins.
func TestCORS(t *testing.T) {
	const allowed, other = "https://app.example", "https://evil.example"
	e := newEnv(t, server.Config{Keys: parseKeys(t, "ui:ui-secret:ingest,read"), CORSOrigins: []string{allowed + "/"}})
	preflight := func(origin, method, headers string) (*http.Response, []byte) {
		return e.request("OPTIONS", "/v1/events", "Origin", origin,
			"Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers)
	}

	resp, _ := preflight(allowed, "POST", "authorization, content-type")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("allowed preflight: %d", resp.StatusCode)
	}
	h := resp.Header
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":      allowed,
		"Access-Control-Allow-Credentials": "true",
		"Access-Control-Max-Age":           "600",
		"Vary":                             "Origin",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("preflight %s: %q, want %q", k, got, want)
		}
	}
	for _, m := range []string{"GET", "POST", "OPTIONS"} {
		if !strings.Contains(h.Get("Access-Control-Allow-Methods"), m) {
			t.Errorf("Access-Control-Allow-Methods %q lacks %s", h.Get("Access-Control-Allow-Methods"), m)
		}
	}
	for _, x := range []string{"Authorization", "Content-Type", "Last-Event-ID", "X-API-Key"} {
		if !strings.Contains(h.Get("Access-Control-Allow-Headers"), x) {
			t.Errorf("Access-Control-Allow-Headers %q lacks %s", h.Get("Access-Control-Allow-Headers"), x)
		}
	}

	// Another origin: no CORS header at all, and no 2xx.
	resp, body := preflight(other, "POST", "authorization, content-type")
	if resp.StatusCode < 400 {
		t.Fatalf("refused preflight: %d", resp.StatusCode)
	}
	decodeErr(t, body)
	for k := range resp.Header {
		if strings.HasPrefix(k, "Access-Control-") {
			t.Errorf("refused preflight has %s: %q", k, resp.Header.Get(k))
		}
	}
	if resp.Header.Get("Vary") != "Origin" {
		t.Errorf("refused preflight: Vary %q", resp.Header.Get("Vary"))
	}

	// Actual requests: the key still decides; CORS only adds headers.
	resp, _ = e.request("GET", "/v1/sessions", "Origin", allowed, "Authorization", "Bearer ui-secret")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != allowed ||
		!strings.Contains(resp.Header.Get("Access-Control-Expose-Headers"), "Retry-After") {
		t.Fatalf("allowed request: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = e.request("GET", "/v1/sessions", "Origin", allowed)
	if resp.StatusCode != 401 || resp.Header.Get("Access-Control-Allow-Origin") != allowed {
		t.Fatalf("allowed origin, no key: %d %v (the browser must be able to read the 401)", resp.StatusCode, resp.Header)
	}
	resp, _ = e.request("GET", "/v1/sessions", "Origin", other, "Authorization", "Bearer ui-secret")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("other origin got Access-Control-Allow-Origin %q", resp.Header.Get("Access-Control-Allow-Origin"))
	}

	// "*" allows any origin (echoed, as credentials are allowed).
	star := newEnv(t, server.Config{CORSOrigins: []string{"*"}})
	resp, _ = star.request("OPTIONS", "/v1/sessions/s1/stream", "Origin", other, "Access-Control-Request-Method", "GET",
		"Access-Control-Request-Headers", "last-event-id")
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != other {
		t.Fatalf("* preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestConnectionsPerKey: a key with --max-conns-per-key streams open gets
// 429 with a JSON error body for another SSE stream or WebSocket; other
// keys are not affected; once one of its streams closes, it may open one
// again.
func TestConnectionsPerKey(t *testing.T) {
	e := newEnv(t, server.Config{MaxConnsPerKey: 2, Keys: parseKeys(t, "ui:ui-secret:read", "ops:ops-secret:read")})
	auth := func(key string) []string { return []string{"Authorization", "Bearer " + key} }
	open := func(key, path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", e.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := open("ui-secret", "/v1/stream")
	defer first.Body.Close()
	second := open("ui-secret", "/v1/sessions/s1/stream?wait=true")
	defer second.Body.Close()
	if first.StatusCode != 200 || second.StatusCode != 200 {
		t.Fatalf("streams: %d %d", first.StatusCode, second.StatusCode)
	}

	resp, body := e.request("GET", "/v1/stream", auth("ui-secret")...)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("third stream: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	eb := decodeErr(t, body)
	if eb.Error.Status != 429 || eb.Error.Code != "too_many_connections" || !strings.Contains(eb.Error.Message, `"ui"`) {
		t.Fatalf("429 body: %s", body)
	}
	// A WebSocket counts against the same limit.
	ctx := context.Background()
	_, wresp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+"/v1/ws",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer ui-secret"}}})
	if err == nil || wresp == nil || wresp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("websocket over the limit: %v %v", err, wresp)
	}
	// Another key is not limited by this one's streams.
	other := open("ops-secret", "/v1/stream")
	if other.StatusCode != 200 {
		t.Fatalf("other key: %d", other.StatusCode)
	}
	other.Body.Close()

	// Close one stream: the key may open another once the server has seen
	// it go.
	first.Body.Close()
	waitUntil(t, "a free connection for the key", func() bool {
		r := open("ui-secret", "/v1/stream")
		defer r.Body.Close()
		return r.StatusCode == 200
	})
}
