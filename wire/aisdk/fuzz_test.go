package aisdk_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/servetest"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/wire/aisdk"
)

// FuzzChatInput sends the chat endpoint any method, path and body: it
// answers a stream (200), 204, or a 4xx with a JSON error, never panics,
// and stores nothing for a request it refuses.
func FuzzChatInput(f *testing.F) {
	for _, c := range [][3]string{
		{"POST", "/", `{"id":"c1","messages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"hi"}]}]}`},
		{"POST", "/", `{"id":"","messages":[]}`},
		{"POST", "/", `{"id":"a\u0000b"}`},
		{"POST", "/", `[1,2]`},
		{"GET", "/c1/stream", ``},
		{"GET", "/%ff/stream", ``},
		{"POST", "/c1/stop", ``},
		{"POST", "//stop", ``},
		{"PUT", "/x", `{}`},
	} {
		f.Add(c[0], c[1], c[2])
	}
	h, st := servetest.Hub(f)
	chat, err := aisdk.NewChat(h, func(ctx context.Context, req aisdk.ChatRequest, em *sluice.Emitter) error {
		return sluice.Emit(ctx, em, event.TextDelta{Text: req.ID})
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(chat.Close)
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if method != "GET" && method != "POST" {
			method = "PUT"
		}
		req := httptest.NewRequest(method, "/", strings.NewReader(body))
		req.URL.Path = "/" + path
		req.Header.Set("Content-Type", "application/json")
		before, _ := st.Sessions(context.Background(), store.SessionQuery{})
		w := httptest.NewRecorder()
		chat.ServeHTTP(w, req)
		switch code := w.Code; {
		case code == http.StatusOK || code == http.StatusNoContent:
		case code >= 400 && code < 500:
			var e struct{ Error struct{ Message string } }
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error.Message == "" {
				t.Fatalf("%s %q %q: %d without a JSON error: %s", method, path, body, code, w.Body)
			}
			after, _ := st.Sessions(context.Background(), store.SessionQuery{})
			if len(after) != len(before) && method == "POST" && strings.Trim(path, "/") == "" {
				t.Fatalf("refused %q stored a session", body)
			}
		default:
			t.Fatalf("%s %q %q: %d %s", method, path, body, code, w.Body)
		}
	})
}
