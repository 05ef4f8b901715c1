package aisdk_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/wire/aisdk"
)

// Encode a short run as a UI message stream: the encoder reports the end
// of the stream after the run's finish and [DONE].
func Example() {
	m := event.Meta{SessionID: "s1", RunID: "r1", MessageID: "m1"}
	enc := aisdk.New()
	for i, p := range []event.Payload{
		event.ProviderCallStarted{Provider: "openai", Model: "gpt-4.1"},
		event.TextDelta{Text: "Hi"},
		event.MessageStopped{StopReason: "stop"},
		event.ProviderCallCompleted{Provider: "openai", Model: "gpt-4.1", FinishReason: "stop"},
		event.RunCompleted{},
	} {
		ev := event.New(p, m)
		ev.Seq = uint64(i + 1)
		native, _ := ev.AppendJSON(nil)
		msgs, _ := enc.Encode(nil, &ev, native)
		for _, msg := range msgs {
			fmt.Println(string(msg.Data))
		}
	}
	fmt.Println("finished:", enc.Finished())
	// Output:
	// {"messageId":"r1","type":"start"}
	// {"type":"start-step"}
	// {"id":"m1/text/0","type":"text-start"}
	// {"type":"text-delta","id":"m1/text/0","delta":"Hi"}
	// {"id":"m1/text/0","type":"text-end"}
	// {"type":"finish-step"}
	// {"finishReason":"stop","type":"finish"}
	// [DONE]
	// finished: true
}

// A Go agent as a useChat endpoint: POST /api/chat runs it and streams the
// run; GET /api/chat/{chatId}/stream replays a chat's open run (204 when
// there is none); POST /api/chat/{chatId}/stop stops it. A run whose
// producer died is closed after a minute without news.
func ExampleNewChat() {
	st, _ := memory.New()
	defer st.Close()
	h, _ := hub.New(st)
	defer h.Close(context.Background())
	chat, err := aisdk.NewChat(h, func(ctx context.Context, req aisdk.ChatRequest, em *sluice.Emitter) error {
		msg := em.WithMeta(func(m *event.Meta) { m.MessageID = "a1" })
		if err := sluice.Emit(ctx, msg, event.TextDelta{Text: "You said: " + req.Messages[0].Text()}); err != nil {
			return err
		}
		return sluice.Emit(ctx, msg, event.MessageStopped{StopReason: "stop"})
	}, aisdk.WithStaleAfter(time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer chat.Close()
	mux := http.NewServeMux()
	mux.Handle("/api/chat/", http.StripPrefix("/api/chat", chat))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, _ := http.Post(srv.URL+"/api/chat/", "application/json", strings.NewReader(
		`{"id":"chat-1","messages":[{"id":"u1","role":"user","parts":[{"type":"text","text":"hello"}]}]}`))
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok && !strings.Contains(line, "data-") {
			fmt.Println(runID.ReplaceAllString(line, "run-…"))
		}
	}
	resp.Body.Close()
	again, _ := http.Get(srv.URL + "/api/chat/chat-1/stream")
	again.Body.Close()
	fmt.Println("GET after the run:", again.StatusCode)
	// Output:
	// {"messageId":"run-…","type":"start"}
	// {"id":"a1/text/0","type":"text-start"}
	// {"type":"text-delta","id":"a1/text/0","delta":"You said: hello"}
	// {"id":"a1/text/0","type":"text-end"}
	// {"type":"finish"}
	// [DONE]
	// GET after the run: 204
}

var runID = regexp.MustCompile(`run-[0-9a-f-]+`)
