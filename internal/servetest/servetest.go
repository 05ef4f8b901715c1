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
	h, err := hub.New(st)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close(context.Background())
		st.Close()
	})
	return h, st
}
