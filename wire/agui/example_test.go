package agui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/wire/agui"
)

// Encode a short streamed answer as AG-UI events.
func Example() {
	m := event.Meta{SessionID: "s1", RunID: "r1", MessageID: "m1"}
	enc := agui.New()
	for i, p := range []event.Payload{
		event.MessageStarted{ID: "m1", Role: "assistant"},
		event.TextDelta{Text: "Hello"},
		event.MessageStopped{ID: "m1", StopReason: "end_turn"},
		event.RunCompleted{},
	} {
		ev := event.New(p, m)
		ev.Seq = uint64(i + 1)
		native, _ := ev.AppendJSON(nil)
		msgs, _ := enc.Encode(nil, &ev, native)
		for _, msg := range msgs {
			var v struct{ Type, MessageID, Delta string }
			json.Unmarshal(msg.Data, &v)
			fmt.Println(strings.TrimSpace(v.Type + " " + v.MessageID + " " + v.Delta))
		}
	}
	// Output:
	// RUN_STARTED
	// TEXT_MESSAGE_START m1
	// TEXT_MESSAGE_CONTENT m1 Hello
	// TEXT_MESSAGE_END m1
	// RUN_FINISHED
}

// An agent that asks a person before it acts: it ends its first run with
// Interrupt, and the run that the answer starts finds it with Answer. The
// open interrupt lives in the log, so the answer may come after a restart.
func ExampleInterrupt() {
	st, _ := memory.New()
	h, _ := hub.New(st)
	defer st.Close()
	defer h.Close(context.Background())
	agent := func(ctx context.Context, in agui.RunAgentInput, em *sluice.Emitter) error {
		a, ok := in.Answer("approve")
		if !ok {
			return agui.Interrupt(event.Interrupt{ID: "approve", Reason: "approval", Message: "Delete 3 files?"})
		}
		fmt.Printf("agent: approve is %s\n", a.Status)
		return nil
	}
	hd, err := agui.Handler(h, agent)
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(hd)
	defer srv.Close()
	show := func(input string) {
		for _, data := range post(srv.URL, input) {
			var v struct {
				Type    string
				Outcome json.RawMessage
			}
			json.Unmarshal(data, &v)
			fmt.Println(strings.TrimSpace(v.Type + " " + string(v.Outcome)))
		}
	}
	show(`{"threadId":"t1","runId":"r1","messages":[{"id":"u1","role":"user","content":"Clean up"}]}`)
	show(`{"threadId":"t1","runId":"r2","messages":[]}`)
	show(`{"threadId":"t1","runId":"r2","messages":[],"resume":[{"interruptId":"approve","status":"resolved"}]}`)
	// Output:
	// RUN_STARTED
	// RUN_FINISHED {"interrupts":[{"id":"approve","message":"Delete 3 files?","reason":"approval"}],"type":"interrupt"}
	// 409 {"error":{"code":"Conflict","message":"open interrupts are not answered: run \"r1\" of thread \"t1\" waits for answers to \"approve\"; resume must answer (resolve or cancel) each"}}
	// agent: approve is resolved
	// RUN_STARTED
	// RUN_FINISHED {"type":"success"}
}

// A run left open in the log by a process that died an hour ago (here
// written straight to the log): a retry of its runId gets the run so far
// and, the thread being quiet for longer than the stale time, the run
// closed as lost.
func ExampleWithStaleAfter() {
	st, _ := memory.New()
	h, _ := hub.New(st)
	defer st.Close()
	defer h.Close(context.Background())
	m := event.Meta{SessionID: "t1", RunID: "r1", MessageID: "a1"}
	var evs []event.Event
	for _, p := range []event.Payload{event.RunStarted{}, event.MessageStarted{ID: "a1", Role: "assistant"}, event.TextDelta{Text: "Let me"}} {
		ev := event.New(p, m)
		ev.Time = time.Now().Add(-time.Hour)
		evs = append(evs, ev)
	}
	h.Append(context.Background(), evs)
	agent := func(ctx context.Context, in agui.RunAgentInput, em *sluice.Emitter) error { return nil }
	hd, err := agui.Handler(h, agent, agui.WithStaleAfter(time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(hd)
	defer srv.Close()
	for _, data := range post(srv.URL, `{"threadId":"t1","runId":"r1","messages":[]}`) {
		var v struct{ Type, Delta, Code string }
		json.Unmarshal(data, &v)
		fmt.Println(strings.Join(strings.Fields(v.Type+" "+v.Delta+" "+v.Code), " "))
	}
	// Output:
	// RUN_STARTED
	// TEXT_MESSAGE_START
	// TEXT_MESSAGE_CONTENT Let me
	// TEXT_MESSAGE_END
	// RUN_ERROR producer_lost
}

// post posts an AG-UI input and returns the data of the stream's SSE
// frames; it prints an error, and the status and body of a refusal.
func post(url, input string) [][]byte {
	resp, err := http.Post(url, "application/json", strings.NewReader(input))
	if err != nil {
		fmt.Println(err)
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(b)))
		return nil
	}
	var out [][]byte
	for line := range strings.Lines(string(b)) {
		if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			out = append(out, []byte(data))
		}
	}
	return out
}
