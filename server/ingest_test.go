package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/sluice-events/sluice/wire"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice/server"
)

func TestIngestForms(t *testing.T) {
	e := newEnv(t, server.Config{})
	one := eventJSON(t, mkEvent("s1", 0))
	code, body := e.do("POST", "/v1/events", "", one)
	if code != 200 || !contains(body, `"seq":1`) {
		t.Fatalf("one: %d %s", code, body)
	}
	arr := fmt.Sprintf("[%s,%s]", eventJSON(t, mkEvent("s1", 1)), eventJSON(t, mkEvent("s2", 0)))
	code, body = e.do("POST", "/v1/events", "", []byte(arr))
	var res struct {
		Count  int `json:"count"`
		Events []struct {
			ID      string `json:"id"`
			Session string `json:"session"`
			Seq     uint64 `json:"seq"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &res); code != 200 || err != nil || res.Count != 2 || res.Events[0].Seq != 2 || res.Events[1].Seq != 1 || res.Events[1].Session != "s2" {
		t.Fatalf("array: %d %s", code, body)
	}
	nd := fmt.Sprintf("%s\n%s\r\n\n%s\n", eventJSON(t, mkEvent("s1", 2)), eventJSON(t, mkEvent("s1", 3)), eventJSON(t, mkEvent("s1", 4)))
	code, body = e.do("POST", "/v1/events", "", []byte(nd), "Content-Type", "application/x-ndjson")
	if code != 200 || !contains(body, `"count":3`) || !contains(body, `"seq":5`) {
		t.Fatalf("ndjson: %d %s", code, body)
	}
	// Stamping: no id, no time; the session from ?session=.
	code, body = e.do("POST", "/v1/events?session=s3", "", []byte(`{"type":"message.text.delta","payload":{"text":"x"}}`))
	if code != 200 || !contains(body, `"session":"s3"`) || !contains(body, `"seq":1`) {
		t.Fatalf("stamped: %d %s", code, body)
	}
	code, body = e.do("GET", "/v1/sessions/s3/events", "", nil)
	if code != 200 || !contains(body, `"time":"`) || !contains(body, `"id":"`) {
		t.Fatalf("stamped event: %d %s", code, body)
	}
	// A seq sent by the client is ignored.
	code, body = e.do("POST", "/v1/events", "", []byte(`{"type":"message.text.delta","seq":99,"meta":{"session":"s3"},"payload":{"text":"y"}}`))
	if code != 200 || !contains(body, `"seq":2`) {
		t.Fatalf("seq: %d %s", code, body)
	}
	checkSession(t, e, "s1", 5)
}

func checkSession(t *testing.T, e *env, session string, n int) {
	t.Helper()
	code, body := e.do("GET", "/v1/sessions/"+session+"/events?limit=1000", "", nil)
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var page struct {
		Events []json.RawMessage `json:"events"`
	}
	json.Unmarshal(body, &page)
	if len(page.Events) != n {
		t.Fatalf("session %s has %d events, want %d", session, len(page.Events), n)
	}
}

// TestBadRequests: every kind of bad request gets its status and a JSON
// error body, and nothing of a rejected request is stored.
func TestBadRequests(t *testing.T) {
	e := newEnv(t, server.Config{MaxBodyBytes: 4096, MaxBatch: 5})
	e.publish("", "s1", 0, 1)
	good := string(eventJSON(t, mkEvent("s1", 1)))
	big := `[` + strings.Repeat(good+",", 40) + good + `]`
	for _, tc := range []struct {
		name, method, path, body, ctype string
		hdr                             []string
		status                          int
		code                            string
		index                           int // -1: no index
	}{
		{"empty body", "POST", "/v1/events", "", "application/json", nil, 400, server.CodeBadJSON, -1},
		{"not json", "POST", "/v1/events", "hello", "application/json", nil, 400, server.CodeBadJSON, -1},
		{"truncated", "POST", "/v1/events", good[:20], "application/json", nil, 400, server.CodeBadJSON, 0},
		{"bad array", "POST", "/v1/events", "[" + good + ",", "application/json", nil, 400, server.CodeBadJSON, -1},
		{"array of non-objects", "POST", "/v1/events", "[" + good + ",3]", "application/json", nil, 400, server.CodeBadJSON, 1},
		{"bad second line", "POST", "/v1/events", good + "\n{oops}\n", "application/x-ndjson", nil, 400, server.CodeBadJSON, 1},
		{"invalid event", "POST", "/v1/events", "[" + good + `,{"type":"Bad Type","meta":{"session":"s1"},"payload":{}}]`, "application/json", nil, 400, server.CodeInvalidEvent, 1},
		{"no payload", "POST", "/v1/events", `{"type":"x.y","meta":{"session":"s1"}}`, "application/json", nil, 400, server.CodeBadJSON, 0},
		{"bad type name", "POST", "/v1/events", `{"type":"Not A Type","meta":{"session":"s1"},"payload":{}}`, "application/json", nil, 400, server.CodeInvalidEvent, 0},
		{"no session", "POST", "/v1/events", "[" + good + `,{"type":"message.text.delta","payload":{"text":"x"}}]`, "application/json", nil, 400, server.CodeInvalidEvent, 1},
		{"too large", "POST", "/v1/events", big, "application/json", nil, 413, server.CodeTooLarge, -1},
		{"too many events", "POST", "/v1/events", "[" + strings.Repeat(good+",", 5) + good + "]", "application/json", nil, 413, server.CodeTooLarge, -1},
		{"form content type", "POST", "/v1/events", good, "application/x-www-form-urlencoded", nil, 415, server.CodeUnsupportedType, -1},
		{"text/plain", "POST", "/v1/events", good, "text/plain", nil, 415, server.CodeUnsupportedType, -1},
		{"bad types pattern", "GET", "/v1/sessions/s1/events?types=a..b", "", "", nil, 400, server.CodeBadRequest, -1},
		{"bad types pattern on stream", "GET", "/v1/stream?types=>.a", "", "", nil, 400, server.CodeBadRequest, -1},
		{"bad after", "GET", "/v1/sessions/s1/events?after=-1", "", "", nil, 400, server.CodeBadRequest, -1},
		{"bad limit", "GET", "/v1/sessions/s1/events?limit=x", "", "", nil, 400, server.CodeBadRequest, -1},
		{"bad Last-Event-ID", "GET", "/v1/sessions/s1/stream", "", "", []string{"Last-Event-ID", "abc"}, 400, server.CodeBadRequest, -1},
		{"unknown session", "GET", "/v1/sessions/nope/events", "", "", nil, 404, server.CodeNotFound, -1},
		{"unknown session info", "GET", "/v1/sessions/nope", "", "", nil, 404, server.CodeNotFound, -1},
		{"unknown session stream", "GET", "/v1/sessions/nope/stream", "", "", nil, 404, server.CodeNotFound, -1},
		{"unknown endpoint", "GET", "/v2/whatever", "", "", nil, 404, server.CodeNotFound, -1},
		{"wrong method", "DELETE", "/v1/events", "", "", nil, 405, server.CodeMethod, -1},
		{"rpc wrong content type", "POST", "/v1/rpc", "{}", "text/plain", nil, 415, server.CodeUnsupportedType, -1},
		{"rpc too large", "POST", "/v1/rpc", big, "application/json", nil, 413, server.CodeTooLarge, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" || tc.method == "POST" {
				body = []byte(tc.body)
			}
			hdr := append([]string{}, tc.hdr...)
			if tc.ctype != "" {
				hdr = append(hdr, "Content-Type", tc.ctype)
			}
			code, resp := e.do(tc.method, tc.path, "", body, hdr...)
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s", code, tc.status, resp)
			}
			eb := decodeErr(t, resp)
			if eb.Error.Code != tc.code || eb.Error.Status != tc.status || eb.Error.Message == "" {
				t.Fatalf("error %+v, want code %s", eb.Error, tc.code)
			}
			if tc.index >= 0 && (eb.Error.Index == nil || *eb.Error.Index != tc.index) {
				t.Fatalf("error names index %v, want %d: %s", eb.Error.Index, tc.index, resp)
			}
		})
	}
	// Nothing of the rejected requests was stored.
	checkSession(t, e, "s1", 1)
	code, body := e.do("GET", "/v1/sessions", "", nil)
	if code != 200 || strings.Count(string(body), `"id"`) != 1 {
		t.Fatalf("sessions: %s", body)
	}
}

func TestLoopbackOnlyWithoutKeys(t *testing.T) {
	e := newEnv(t, server.Config{})
	if e.srv.Warning() == "" {
		t.Fatal("no warning without keys")
	}
	req := httptest.NewRequest("GET", "/v1/sessions", nil)
	req.RemoteAddr = "192.0.2.7:4000"
	rec := httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("remote client without keys: %d", rec.Code)
	}
	decodeErr(t, rec.Body.Bytes())
	req = httptest.NewRequest("GET", "/healthz", nil)
	req.RemoteAddr = "192.0.2.7:4000"
	rec = httptest.NewRecorder()
	e.srv.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("healthz: %d", rec.Code)
	}
}

func TestKeysScopesTenants(t *testing.T) {
	keys := []string{
		"admin:admin-secret:admin",
		"agent:agent-secret:ingest",
		"ui:ui-secret:read",
		"acme:acme-secret:ingest,read:acme-",
		"globex:globex-secret:ingest,read:globex-",
	}
	var ks []server.Key
	for _, s := range keys {
		k, err := server.ParseKey(s)
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, k)
	}
	e := newEnv(t, server.Config{Keys: ks})
	if e.srv.Warning() != "" {
		t.Fatal("warning with keys")
	}
	ev := func(s string) []byte { return eventJSON(t, mkEvent(s, 0)) }
	check := func(name, method, path, key string, body []byte, want int) []byte {
		t.Helper()
		code, resp := e.do(method, path, key, body)
		if code != want {
			t.Fatalf("%s: %d, want %d: %s", name, code, want, resp)
		}
		if code >= 400 {
			decodeErr(t, resp)
		}
		return resp
	}
	check("no key", "GET", "/v1/sessions", "", nil, 401)
	check("wrong key", "GET", "/v1/sessions", "nope-nope-nope", nil, 401)
	check("ingest", "POST", "/v1/events", "agent-secret", ev("s1"), 200)
	check("ingest cannot read", "GET", "/v1/sessions", "agent-secret", nil, 403)
	check("read cannot ingest", "POST", "/v1/events", "ui-secret", ev("s1"), 403)
	check("read", "GET", "/v1/sessions/s1/events", "ui-secret", nil, 200)
	check("metrics need admin", "GET", "/metrics", "ui-secret", nil, 403)
	check("admin metrics", "GET", "/metrics", "admin-secret", nil, 200)
	check("admin ingests", "POST", "/v1/events", "admin-secret", ev("globex-1"), 200)
	check("tenant ingest own", "POST", "/v1/events", "acme-secret", ev("acme-1"), 200)
	resp := check("tenant ingest other", "POST", "/v1/events", "acme-secret", []byte("["+string(ev("acme-2"))+","+string(ev("globex-1"))+"]"), 403)
	if eb := decodeErr(t, resp); eb.Error.Index == nil || *eb.Error.Index != 1 {
		t.Fatalf("wrong tenant error does not name event 1: %s", resp)
	}
	check("tenant reads other", "GET", "/v1/sessions/globex-1/events", "acme-secret", nil, 403)
	check("tenant streams other", "GET", "/v1/sessions/globex-1/stream", "acme-secret", nil, 403)
	check("tenant all-stream other prefix", "GET", "/v1/stream?session_prefix=globex-", "acme-secret", nil, 403)
	resp = check("tenant lists", "GET", "/v1/sessions", "acme-secret", nil, 200)
	if !contains(resp, "acme-1") || contains(resp, "globex") || contains(resp, `"s1"`) {
		t.Fatalf("tenant list shows other sessions: %s", resp)
	}
	resp = check("tenant queries all", "GET", "/v1/events", "acme-secret", nil, 200)
	if !contains(resp, "acme-1") || contains(resp, "globex") {
		t.Fatalf("tenant all-query shows other sessions: %s", resp)
	}
	// access_token works for EventSource-style clients.
	code, _ := e.do("GET", "/v1/sessions?access_token=ui-secret", "", nil)
	if code != 200 {
		t.Fatalf("access_token: %d", code)
	}
	// The tenant's all-sessions stream carries only its sessions.
	c := &wire.Client{Header: http.Header{"Authorization": {"Bearer acme-secret"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := collect(ctx, t, c, e.url+"/v1/stream", 1)
	if err != nil || len(got) != 1 || got[0].session != "acme-1" {
		t.Fatalf("tenant stream: %v %+v", err, got)
	}
	_ = bytes.MinRead
}

func TestParseKey(t *testing.T) {
	for _, bad := range []string{"", "a:b", "n::read", "n:short:read", "n:longenough:write", ":longenough:read"} {
		if _, err := server.ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
	k, err := server.ParseKey("n:longenough:ingest,read:t-")
	if err != nil || k.SessionPrefix != "t-" || !k.Allows(server.ScopeRead) || k.Allows(server.ScopeAdmin) {
		t.Fatalf("%+v %v", k, err)
	}
	keys, err := server.ParseKeys(strings.NewReader("# comment\n\na:aaaaaaaa:admin\nb:bbbbbbbb:read\n"))
	if err != nil || len(keys) != 2 || !keys[0].Allows(server.ScopeIngest) {
		t.Fatalf("%+v %v", keys, err)
	}
	if _, err := server.ParseKeys(strings.NewReader("a:aaaaaaaa:admin\nbad\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("error %v does not name line 2", err)
	}
}
