// Package recorded gives tests the recorded sessions of the repository:
// the demo run (testdata/demo.jsonl, written by "sluice demo --format json
// --speed 0") and every provider transcript of provider/testdata, each
// replayed through the official SDK and Sluice's adapter from a local
// scripted server. Each session's events are numbered 1, 2, 3, … as the
// log would number them.
package recorded

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	anthropicsdk "github.com/anthropics/anthropic-sdk-go"
	anthropicoption "github.com/anthropics/anthropic-sdk-go/option"
	openaisdk "github.com/openai/openai-go/v3"
	openaioption "github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/provider/anthropic"
	"github.com/sluice-events/sluice/provider/openai"
	"github.com/sluice-events/sluice/provider/scripted"
)

// Session is one recorded session.
type Session struct {
	Name   string
	Events []event.Event
}

// root is the repository's root directory.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Demo returns the demo run's session.
func Demo(t testing.TB) Session {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root(), "internal", "recorded", "testdata", "demo.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	s := Session{Name: "demo"}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ev event.Event
		if err := event.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("demo.jsonl: %v", err)
		}
		s.Events = append(s.Events, ev)
	}
	number(s.Events)
	return s
}

// All returns the demo run's session and one session per provider
// transcript.
func All(t testing.TB) []Session {
	t.Helper()
	out := []Session{Demo(t)}
	files, err := filepath.Glob(filepath.Join(root(), "provider", "testdata", "*.sse"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no provider transcripts (%v)", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sse")
		if strings.Contains(name, "stall") {
			continue // holds until the client gives up
		}
		out = append(out, Session{Name: name, Events: replay(t, f, name)})
	}
	return out
}

// replay runs one transcript through its SDK and adapter.
func replay(t testing.TB, file, name string) []event.Event {
	t.Helper()
	tr, err := scripted.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	srv := scripted.NewServer([]scripted.Transcript{tr}, scripted.Speed(0))
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	var (
		mu  sync.Mutex
		evs []event.Event
	)
	sink := sluice.SinkFunc(func(_ context.Context, ev *event.Event) error {
		mu.Lock()
		evs = append(evs, *ev)
		mu.Unlock()
		return nil
	})
	em := sluice.NewEmitter(sink, event.Meta{RunID: "run-" + name, SessionID: name, TurnID: "turn-1"})
	ctx := context.Background()
	switch {
	case strings.HasPrefix(name, "anthropic"):
		c := anthropicsdk.NewClient(anthropicoption.WithBaseURL(srv.URL), anthropicoption.WithAPIKey("k"), anthropicoption.WithMaxRetries(0), anthropicoption.WithHTTPClient(hc))
		anthropic.Stream(ctx, em, &c.Messages, anthropicsdk.MessageNewParams{
			Model: "claude-sonnet-4-5", MaxTokens: 1024,
			Messages: []anthropicsdk.MessageParam{anthropicsdk.NewUserMessage(anthropicsdk.NewTextBlock("Weather?"))},
		})
	case strings.Contains(name, "openai_chat"):
		c := openaisdk.NewClient(openaioption.WithBaseURL(srv.URL), openaioption.WithAPIKey("k"), openaioption.WithMaxRetries(0), openaioption.WithHTTPClient(hc))
		openai.StreamChat(ctx, em, &c.Chat.Completions, openaisdk.ChatCompletionNewParams{
			Model: "gpt-4o-mini", Messages: []openaisdk.ChatCompletionMessageParamUnion{openaisdk.UserMessage("Weather?")},
		})
	default: // OpenAI Responses
		c := openaisdk.NewClient(openaioption.WithBaseURL(srv.URL), openaioption.WithAPIKey("k"), openaioption.WithMaxRetries(0), openaioption.WithHTTPClient(hc))
		openai.StreamResponse(ctx, em, &c.Responses, responses.ResponseNewParams{
			Model: "gpt-4.1", Input: responses.ResponseNewParamsInputUnion{OfString: openaisdk.String("Weather?")},
		})
	}
	mu.Lock()
	defer mu.Unlock()
	number(evs)
	return evs
}

func number(evs []event.Event) {
	for i := range evs {
		evs[i].Seq = uint64(i + 1)
	}
}

// Repeat returns the demo run repeated to n events in one session, each
// repeat a run of its own with its own message and tool call IDs, numbered
// 1 to n. Every event gets a new event ID (event.NewID, so IDs grow), since
// a log stores an ID it already holds only once.
func Repeat(t testing.TB, n int) []event.Event {
	demo := Demo(t).Events
	out := make([]event.Event, 0, n)
	for r := 0; len(out) < n; r++ {
		for _, e := range demo {
			if len(out) == n {
				break
			}
			sfx := fmt.Sprintf("-%d", r)
			e.ID = event.NewID()
			e.Meta.RunID += sfx
			if e.Meta.MessageID != "" {
				e.Meta.MessageID += sfx
			}
			if e.Meta.ToolCallID != "" {
				e.Meta.ToolCallID += sfx
			}
			switch p := e.Payload.(type) {
			case event.ToolCallDelta:
				p.CallID += sfx
				e.Payload = p
			case event.ToolCallRequested:
				p.CallID += sfx
				e.Payload = p
			case event.ToolCallStarted:
				p.CallID += sfx
				e.Payload = p
			case event.ToolCallCompleted:
				p.CallID += sfx
				e.Payload = p
			case event.MessageStarted:
				p.ID += sfx
				e.Payload = p
			case event.MessageStopped:
				p.ID += sfx
				e.Payload = p
			case event.MessageCreated:
				p.ToolCalls = append([]event.ToolCall(nil), p.ToolCalls...)
				for i := range p.ToolCalls {
					p.ToolCalls[i].ID += sfx
				}
				if p.ToolResult != nil {
					tr := *p.ToolResult
					tr.CallID += sfx
					p.ToolResult = &tr
				}
				e.Payload = p
			}
			e.Seq = uint64(len(out) + 1)
			out = append(out, e)
		}
	}
	return out
}
