package agui_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-events/sluice/internal/servetest"
	"github.com/sluice-events/sluice/store"
)

// FuzzHandlerInput posts arbitrary bodies to the handler of an agent that
// interrupts (booking) on one store: each answer is 200 or a 4xx, a
// refused body stores nothing, and an accepted one is answered with a
// stream that ends its run.
func FuzzHandlerInput(f *testing.F) {
	for _, s := range []string{
		`{"threadId":"t","runId":"r1","messages":[{"id":"u1","role":"user","content":"hi"}]}`,
		`{"threadId":"t","runId":"r2","messages":[],"resume":[{"interruptId":"approve","status":"resolved","payload":{"a":1}},{"interruptId":"seat","status":"cancelled"}]}`,
		`{"threadId":"t","runId":"r2","messages":[],"resume":[{"interruptId":"approve","status":"resolved","payload":null,"metadata":null}]}`,
		`{"threadId":"t","runId":"r3","resume":[{"interruptId":"x","status":"maybe"}]}`,
		`{"threadId":"t","runId":"r3","resume":[{"interruptId":"seat","status":"resolved","metadata":[1]}]}`,
		`{"threadId":"t","runId":"r3","resume":{}}`,
		`{"threadId":"","runId":"r"}`, `null`, `[]`, `{`,
	} {
		f.Add([]byte(s))
	}
	h, st := servetest.Hub(f)
	b := &booking{expires: time.Now().Add(time.Hour)}
	url, _ := serve(f, h, b.agent)
	count := func() (n uint64) {
		ss, err := st.Sessions(context.Background(), store.SessionQuery{})
		if err != nil {
			f.Fatal(err)
		}
		for _, s := range ss {
			n += s.Count
		}
		return n
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := count()
		resp, err := http.Post(url, "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			if !strings.Contains(string(out), `"type":"RUN_FINISHED"`) && !strings.Contains(string(out), `"type":"RUN_ERROR"`) {
				t.Fatalf("%s: the stream did not end its run:\n%s", body, out)
			}
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			if !strings.Contains(string(out), `"error"`) {
				t.Fatalf("%s: %d without a JSON error: %s", body, resp.StatusCode, out)
			}
			if n := count(); n != before {
				t.Fatalf("%s: refused with %d but stored %d events", body, resp.StatusCode, n-before)
			}
		default:
			t.Fatalf("%s: %d %s", body, resp.StatusCode, out)
		}
	})
}
