package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-events/sluice/internal/nodeclient"
)

// chatResult is what wire/testdata/node/chat.mjs prints.
type chatResult struct {
	OK, Active bool
	Error      string
	Message    struct {
		Parts []struct{ Type, Text, State string }
	}
	Errors       []string
	FinishReason string
}

func chatClient(t *testing.T, api, chat, mode string) chatResult {
	t.Helper()
	out := nodeclient.Run(t, "chat.mjs", api, chat, mode)
	var r chatResult
	if err := json.Unmarshal(out, &r); err != nil || !r.OK {
		t.Fatalf("chat.mjs %s %s: %s %v", chat, mode, out, err)
	}
	return r
}

func (r chatResult) has(typ string) bool {
	for _, p := range r.Message.Parts {
		if p.Type == typ {
			return true
		}
	}
	return false
}

// TestChatProcessRestart: a `sluice demo --serve` process with a SQLite
// log streams two AI SDK chat runs and is killed (SIGKILL) in their
// middle; a new process on the same log serves the chats. The official AI
// SDK client (DefaultChatTransport.reconnectToStream) reconnecting to the
// first chat gets its partial message (reasoning and text) and an error
// saying the run's producer is gone, with finish reason "error"; then the
// chat has no active stream (204), and a new message to it is answered in
// full. A stop of the second chat's run, which the dead process produced,
// answers 204 and ends the run: the chat has no active stream either.
func TestChatProcessRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("two sluice processes: not with -short")
	}
	nodeclient.Run(t, "--version") // skips without node
	db := filepath.Join(t.TempDir(), "chat.db")
	demo := func(addr string) *child {
		c := startSluice(t, addr, "demo", "--serve", addr, "--db", db, "--wait", "1h", "--every", "0",
			"--speed", "0.5", "--stale-after", "2s", "--format", "json")
		c.ready(t)
		return c
	}
	first := demo(freeAddr(t))
	api := "http://" + first.http + "/v1/demo/chat"
	// Two chats, each read until its answer's text begins.
	for _, chat := range []string{"chat-r", "chat-s"} {
		body := fmt.Sprintf(`{"id":%q,"messages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"Weather in Paris?"}]}]}`, chat)
		resp, err := http.Post(api, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() && !strings.Contains(sc.Text(), `"type":"text-delta"`) {
		}
		if sc.Err() != nil {
			t.Fatal(sc.Err())
		}
	}
	first.kill(t) // SIGKILL, in the middle of both runs

	second := demo(freeAddr(t))
	api = "http://" + second.http + "/v1/demo/chat"
	r := chatClient(t, api, "chat-r", "reconnect")
	if !r.Active || r.FinishReason != "error" || len(r.Errors) != 1 || !strings.Contains(r.Errors[0], "producer is gone") {
		t.Fatalf("reconnected after the restart: %+v", r)
	}
	if !r.has("reasoning") || !r.has("text") {
		t.Fatalf("the partial message lacks its reasoning or text: %+v", r.Message)
	}
	if r := chatClient(t, api, "chat-r", "reconnect"); r.Active {
		t.Fatalf("the closed run still streams: %+v", r)
	}
	r = chatClient(t, api, "chat-r", "send")
	if r.FinishReason != "stop" || len(r.Errors) != 0 || !r.has("tool-get_weather") || !r.has("reasoning") {
		t.Fatalf("a new message after the restart: %+v", r)
	}

	resp, err := http.Post(api+"/chat-s/stop", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("stop of the dead process's run: %d", resp.StatusCode)
	}
	if r := chatClient(t, api, "chat-s", "reconnect"); r.Active {
		t.Fatalf("the stopped run still streams: %+v", r)
	}
}
