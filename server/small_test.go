package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/server"
)

// A type filter that matches nothing does not scan the whole log in one
// request: each page scans at most MaxScan events and says where it
// stopped, so the client continues from there.
func TestTypeFilterScanIsBounded(t *testing.T) {
	e := newEnv(t, server.Config{MaxScan: 100})
	e.publish("", "s1", 0, 250)
	// One event of another type at the end.
	last := event.New(event.ThinkingDelta{Text: "t"}, event.Meta{SessionID: "s1"})
	if code, body := e.do("POST", "/v1/events", "", eventJSON(t, last)); code != 200 {
		t.Fatal(code, string(body))
	}
	type page struct {
		Events    []json.RawMessage `json:"events"`
		Entries   []json.RawMessage `json:"entries"`
		NextAfter uint64            `json:"next_after"`
		More      bool              `json:"more"`
	}
	for _, path := range []string{"/v1/sessions/s1/events?types=message.thinking.delta&limit=1&after=%d", "/v1/events?types=message.thinking.delta&limit=1&after=%d"} {
		var after uint64
		var found int
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("%s: no end", path)
			}
			code, body := e.do("GET", fmt.Sprintf(path, after), "", nil)
			var p page
			if code != 200 || json.Unmarshal(body, &p) != nil {
				t.Fatalf("%d %s", code, body)
			}
			found += len(p.Events) + len(p.Entries)
			if pages == 0 && (found != 0 || !p.More || p.NextAfter != 100) {
				t.Fatalf("%s: the first page scanned more than 100 events: %s", path, body)
			}
			if p.More && len(p.Events)+len(p.Entries) == 0 && p.NextAfter != after+100 {
				t.Fatalf("%s: an empty page after %d continues at %d, want %d", path, after, p.NextAfter, after+100)
			}
			if !p.More {
				break
			}
			after = p.NextAfter
		}
		if found != 1 {
			t.Fatalf("%s: found %d events", path, found)
		}
	}
	// The same over JSON-RPC.
	resp := rpc(t, e, "", `{"jsonrpc":"2.0","id":1,"method":"events.query","params":{"session":"s1","types":"message.thinking.delta","limit":1}}`)
	if !contains(resp, `"events":[],"next_after":100,"more":true`) {
		t.Fatalf("rpc: %s", resp)
	}
}

func TestKeysWithTheSameSecretAreRefused(t *testing.T) {
	_, err := server.New(context.Background(), server.Config{Hub: newEnv(t, server.Config{}).hub, Keys: []server.Key{
		{Name: "a", Secret: "same-secret", Scopes: []server.Scope{server.ScopeRead}},
		{Name: "b", Secret: "same-secret", Scopes: []server.Scope{server.ScopeAdmin}},
	}})
	if err == nil || !strings.Contains(err.Error(), "same secret") {
		t.Fatalf("err = %v", err)
	}
	// A hashed secret equal to another key's secret is the same secret.
	sum := sha256.Sum256([]byte("same-secret"))
	_, err = server.New(context.Background(), server.Config{Hub: newEnv(t, server.Config{}).hub, Keys: []server.Key{
		{Name: "a", Secret: "same-secret", Scopes: []server.Scope{server.ScopeRead}},
		{Name: "b", Secret: "sha256:" + hex.EncodeToString(sum[:]), Scopes: []server.Scope{server.ScopeAdmin}},
	}})
	if err == nil {
		t.Fatal("a hash of another key's secret was accepted")
	}
}

func TestBearerSchemeInAnyCase(t *testing.T) {
	e := newEnv(t, server.Config{Keys: []server.Key{{Name: "k", Secret: "s3cret-key", Scopes: []server.Scope{server.ScopeRead}}}})
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		if code, _ := e.do("GET", "/v1/sessions", "", nil, "Authorization", scheme+" s3cret-key"); code != 200 {
			t.Errorf("%s: %d", scheme, code)
		}
	}
	if code, _ := e.do("GET", "/v1/sessions", "", nil, "Authorization", "Basic s3cret-key"); code != 401 {
		t.Errorf("Basic: %d", code)
	}
}

// Secrets may be given as their SHA-256 ("sha256:<hex>"), so that the
// keys file or the command line holds no secret.
func TestHashedSecrets(t *testing.T) {
	sum := sha256.Sum256([]byte("s3cret-key"))
	k, err := server.ParseKey("ui:sha256:" + hex.EncodeToString(sum[:]) + ":read")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, server.Config{Keys: []server.Key{k}})
	if code, body := e.do("GET", "/v1/sessions", "s3cret-key", nil); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if code, _ := e.do("GET", "/v1/sessions", "sha256:"+hex.EncodeToString(sum[:]), nil); code != 401 {
		t.Fatalf("the hash itself works as a key: %d", code)
	}
	if _, err := server.ParseKey("ui:sha256:abcd:read"); err == nil {
		t.Fatal("a short hash was accepted")
	}
}

// SetKeys replaces the keys of a running server (what SIGHUP does with
// serve --keys-file).
func TestSetKeys(t *testing.T) {
	e := newEnv(t, server.Config{Keys: []server.Key{{Name: "old", Secret: "old-secret", Scopes: []server.Scope{server.ScopeRead}}}})
	if err := e.srv.SetKeys([]server.Key{{Name: "new", Secret: "new-secret", Scopes: []server.Scope{server.ScopeRead}}}); err != nil {
		t.Fatal(err)
	}
	if code, _ := e.do("GET", "/v1/sessions", "old-secret", nil); code != 401 {
		t.Errorf("old key: %d", code)
	}
	if code, _ := e.do("GET", "/v1/sessions", "new-secret", nil); code != 200 {
		t.Errorf("new key: %d", code)
	}
	if err := e.srv.SetKeys([]server.Key{{Name: "x", Secret: "dup-secret", Scopes: []server.Scope{server.ScopeRead}}, {Name: "y", Secret: "dup-secret", Scopes: []server.Scope{server.ScopeRead}}}); err == nil {
		t.Error("bad keys accepted")
	}
	if code, _ := e.do("GET", "/v1/sessions", "new-secret", nil); code != 200 {
		t.Errorf("bad keys replaced the good ones: %d", code)
	}
}

// OPTIONS without CORS is answered 204 with Allow, not 405.
func TestOptionsWithoutCORS(t *testing.T) {
	e := newEnv(t, server.Config{})
	req, _ := http.NewRequest("OPTIONS", e.url+"/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	allow := resp.Header.Get("Allow")
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(allow, "POST") || !strings.Contains(allow, "GET") || !strings.Contains(allow, "OPTIONS") {
		t.Fatalf("%d Allow %q", resp.StatusCode, allow)
	}
}

// Keyless loopback clients do not share the budget of one key: the
// streams of local clients have their own, larger limit.
func TestKeylessStreamsHaveTheirOwnBudget(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := func(e *env) int {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/v1/stream", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp.StatusCode
	}
	e := newEnv(t, server.Config{MaxConnsPerKey: 2})
	for i := range 4 {
		if code := open(e); code != 200 {
			t.Fatalf("stream %d: %d", i, code)
		}
	}
	e2 := newEnv(t, server.Config{MaxConnsLocal: 2})
	for i := range 3 {
		if want := map[bool]int{true: 200, false: 429}[i < 2]; open(e2) != want {
			t.Fatalf("local stream %d: want %d", i, want)
		}
	}
}
