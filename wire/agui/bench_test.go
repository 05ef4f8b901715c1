//go:build unix

package agui_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/internal/servetest"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
	"github.com/sluice-events/sluice/store/sqlite"
)

// BenchmarkHandlerRepeat posts a repeat of a thread's last run (so nothing
// is stored and the agent does not run) on a thread with 1 or 1,000 earlier
// runs of 6 events each: the cost of reading the thread's run.* events
// from the log, which every POST pays, plus replaying the 4-event run.
// cpu-ns/op is the process's CPU time (getrusage) per op, less disturbed
// than wall time on a shared machine.
func BenchmarkHandlerRepeat(b *testing.B) {
	for _, kind := range []string{"memory", "sqlite"} {
		for _, runs := range []int{1, 1000} {
			b.Run(fmt.Sprintf("%s/runs=%d", kind, runs), func(b *testing.B) {
				var st store.Store
				var err error
				if kind == "memory" {
					st, err = memory.New()
				} else {
					st, err = sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "b.db"))
				}
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				h, err := hub.New(st)
				if err != nil {
					b.Fatal(err)
				}
				defer h.Close(context.Background())
				var evs []event.Event
				for r := range runs {
					m := event.Meta{SessionID: "t", RunID: fmt.Sprintf("r%d", r), MessageID: fmt.Sprintf("a%d", r)}
					for _, p := range []event.Payload{
						event.RunStarted{Prompt: "hi"},
						event.MessageCreated{Role: "user", Content: "hi"},
						event.MessageStarted{ID: m.MessageID, Role: "assistant"},
						event.TextDelta{Text: "hello"},
						event.MessageStopped{ID: m.MessageID},
						event.RunCompleted{},
					} {
						evs = append(evs, event.New(p, m))
					}
				}
				if err := st.Append(context.Background(), evs); err != nil {
					b.Fatal(err)
				}
				url, _ := serve(b, h, (&booking{}).agent)
				body := fmt.Sprintf(`{"threadId":"t","runId":"r%d","messages":[{"id":"u","role":"user","content":"hi"}]}`, runs-1)
				benchPosts(b, url, func(int) string { return body })
			})
		}
	}
}

// BenchmarkHandlerRun posts a new run (a new thread each, so the log
// check stays small) whose agent streams a 3-delta answer: a whole run
// through the handler, with its runs.Keep (a feed of the thread's run.*
// events and a heartbeat ticker) and its end logged with the run's end ID.
func BenchmarkHandlerRun(b *testing.B) {
	h, _ := servetest.Hub(b)
	url, _ := serve(b, h, weather)
	benchPosts(b, url, func(i int) string {
		return fmt.Sprintf(`{"threadId":"t%d","runId":"r","messages":[{"id":"u","role":"user","content":"hi"}]}`, i)
	})
}

// benchPosts posts body(i) b.N times to url, each answered with a whole
// run, and reports the CPU time per post (cpu-ns/op).
func benchPosts(b *testing.B, url string, body func(i int) string) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		resp, err := http.Post(url, "application/json", strings.NewReader(body(i)))
		if err != nil {
			b.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte("RUN_FINISHED")) {
			b.Fatalf("%d %s", resp.StatusCode, out)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// cpuTime returns the CPU time the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
