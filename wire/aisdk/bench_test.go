package aisdk_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/internal/servetest"
	"github.com/sluice-events/sluice/wire/aisdk"
)

// chatSession is the demo run repeated to about 10,000 events as the runs
// of one chat (each with its run.started and run.completed), the last run
// left open after its 40th event.
func chatSession(b *testing.B) []event.Event {
	var runs [][]event.Event
	for _, ev := range recorded.Repeat(b, 10000) {
		ev.Meta.SessionID = "bench"
		if n := len(runs); n == 0 || runs[n-1][0].Meta.RunID != ev.Meta.RunID {
			runs = append(runs, nil)
		}
		runs[len(runs)-1] = append(runs[len(runs)-1], ev)
	}
	var out []event.Event
	for i, r := range runs {
		out = append(out, event.New(event.RunStarted{}, r[0].Meta))
		if i == len(runs)-1 { // open, and not stale
			out = append(out, r[:min(40, len(r))]...)
			for i := range out {
				out[i].Time = time.Now()
			}
			return append(out, event.New(event.Log{Message: "live edge"}, r[0].Meta))
		}
		out = append(append(out, r...), event.New(event.RunCompleted{}, r[0].Meta))
	}
	return out
}

// readUntil GETs url (with Last-Event-ID if lastID is set) and reads
// until the stream holds want.
func readUntil(b *testing.B, url, lastID string, want []byte) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			b.Fatalf("%v before %q", err, want)
		}
		if bytes.Contains(line, want) {
			return
		}
	}
}

// BenchmarkChatReplay: GET {chatId}/stream of a chat whose session holds
// about 10,000 events, its last run open: to the first frame, and to the
// replayed run's last event (the live edge); against, in the same run, a
// stream of the session resumed with Last-Event-ID at the same point
// (the timeline prelude), to its first frame.
func BenchmarkChatReplay(b *testing.B) {
	evs := chatSession(b)
	h, _ := servetest.Hub(b)
	if err := h.Append(context.Background(), append([]event.Event(nil), evs...)); err != nil {
		b.Fatal(err)
	}
	api := serveChat(b, h, func(context.Context, aisdk.ChatRequest, *sluice.Emitter) error { return nil }).api
	last := []byte("live edge")
	b.Run("chat-first-frame", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			readUntil(b, api+"/bench/stream", "", []byte("data: "))
		}
	})
	b.Run("chat-live-edge", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			readUntil(b, api+"/bench/stream", "", last)
		}
	})
	url := servetest.Serve(b, evs) + "/v1/sessions/bench/stream?format=aisdk&wait=true"
	b.Run("resume-first-frame", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			readUntil(b, url, fmt.Sprint(len(evs)-10), []byte("data: "))
		}
	})
}
