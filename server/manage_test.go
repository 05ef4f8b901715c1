package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/wire"
)

// TestHome: GET / says what the server is and where the API reference is,
// as text for programs; browsers get the web page (package ui); other paths stay 404.
func TestHome(t *testing.T) {
	e := newEnv(t, server.Config{})
	code, body := e.do("GET", "/", "", nil)
	if code != 200 || !strings.Contains(string(body), "Sluice") || !strings.Contains(string(body), "docs/server.md") {
		t.Fatalf("GET / = %d %s", code, body)
	}
	resp, page := e.request("GET", "/", "Accept", "text/html,application/xhtml+xml")
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") ||
		!strings.Contains(string(page), `<a href="`+server.DocsURL+`">`) {
		t.Fatalf("GET / for a browser: %s\n%s", ct, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self'") || !strings.Contains(csp, "script-src 'sha256-") {
		t.Fatalf("GET / for a browser: Content-Security-Policy %q", csp)
	}
	if code, _ := e.do("GET", "/nope", "", nil); code != 404 {
		t.Fatalf("GET /nope = %d", code)
	}
	// It needs no key, like the health checks; the API still does.
	keyed := newEnv(t, server.Config{Keys: parseKeys(t, "r:r-secret:read")})
	if code, _ := keyed.do("GET", "/", "", nil); code != 200 {
		t.Fatalf("GET / without a key = %d", code)
	}
	if code, _ := keyed.do("GET", "/v1/sessions", "", nil); code != 401 {
		t.Fatalf("GET /v1/sessions without a key = %d", code)
	}
}

// TestDeleteSession: DELETE /v1/sessions/{id} removes the session for a
// key with the ingest scope within its tenant prefix, and nobody else.
func TestDeleteSession(t *testing.T) {
	e := newEnv(t, server.Config{Keys: parseKeys(t,
		"w:w-secret:ingest,read", "r:r-secret:read", "acme:acme-secret:ingest,read:acme-")})
	e.publish("w-secret", "s1", 0, 3)
	e.publish("w-secret", "s2", 0, 1)
	e.publish("w-secret", "acme-1", 0, 1)

	for _, tc := range []struct {
		key, session string
		want         int
	}{
		{"", "s1", 401},
		{"r-secret", "s1", 403},    // read scope only
		{"acme-secret", "s1", 403}, // outside its prefix
		{"w-secret", "nope", 404},  // unknown session
		{"acme-secret", "acme-1", 200},
		{"w-secret", "s1", 200},
		{"w-secret", "s1", 404}, // already gone
	} {
		code, body := e.do("DELETE", "/v1/sessions/"+tc.session, tc.key, nil)
		if code != tc.want {
			t.Errorf("DELETE %s with %q = %d %s, want %d", tc.session, tc.key, code, body, tc.want)
		}
		if code == 200 && tc.session == "s1" && string(body) != `{"deleted":"s1","count":3}`+"\n" {
			t.Errorf("DELETE s1 answered %q", body)
		}
	}
	code, body := e.do("GET", "/v1/sessions", "w-secret", nil)
	if code != 200 || strings.Contains(string(body), `"s1"`) || !strings.Contains(string(body), `"s2"`) {
		t.Fatalf("sessions after delete: %d %s", code, body)
	}
	if code, _ := e.do("GET", "/v1/sessions/s1/events", "w-secret", nil); code != 404 {
		t.Fatalf("events of a deleted session: %d", code)
	}

	// The ID can be used again: a new stream sees only the new session,
	// numbered from 1, not the deleted events (still in the live tail).
	e.publish("w-secret", "s1", 100, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &wire.Client{Header: http.Header{"Authorization": {"Bearer w-secret"}}}
	got, err := collect(ctx, t, c, e.url+"/v1/sessions/s1/stream", 2)
	if err != nil || len(got) != 2 || got[0].seq != 1 || got[0].text != "100" || got[1].text != "101" {
		t.Fatalf("stream of a reused session: %v %+v", err, got)
	}
}
