// Package servetest serves recorded events from a real Sluice server on
// loopback, for the tests of the wire formats.
package servetest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
)

// Serve logs events in a new in-memory store and serves them; it returns
// the server's URL. Everything is closed when the test ends.
func Serve(t testing.TB, events []event.Event) string {
	t.Helper()
	h, _ := Hub(t)
	srv, err := server.New(context.Background(), server.Config{Hub: h, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Drain()
		ts.CloseClientConnections()
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	if len(events) > 0 {
		evs := append([]event.Event(nil), events...)
		if err := h.Append(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
	}
	return ts.URL
}

// Hub returns a hub over a new in-memory store, both closed when the test
// ends (after what the test registers later with t.Cleanup).
func Hub(t testing.TB) (*hub.Hub, store.Store) {
	t.Helper()
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return HubOver(t, st), st
}

// HubOver returns a hub over st with opts, closed when the test ends
// (before st, if the test registered st's Close first): one of the nodes
// that share a log, in tests of several.
func HubOver(t testing.TB, st store.Store, opts ...hub.Option) *hub.Hub {
	t.Helper()
	h, err := hub.New(st, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close(context.Background()) })
	return h
}

// RunEnds returns the run ends (and interrupts) logged in session, in
// order, as "run.completed <status>", "run.failed <code>", "run.stopped
// <reason>" and "run.interrupted": what tests of one end per run compare.
func RunEnds(t testing.TB, st store.Store, session string) []string {
	t.Helper()
	var out []string
	for ev, err := range st.Read(context.Background(), store.Query{Session: session}) {
		if err != nil {
			t.Fatal(err)
		}
		switch p := ev.Payload.(type) {
		case event.RunStopped:
			out = append(out, "run.stopped "+p.Reason)
		case event.RunFailed:
			out = append(out, "run.failed "+p.Error.Code)
		case event.RunCompleted:
			out = append(out, "run.completed "+p.Status)
		case event.RunInterrupted:
			out = append(out, "run.interrupted")
		}
	}
	return out
}
