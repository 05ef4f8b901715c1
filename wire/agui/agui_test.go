package agui_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/internal/nodeclient"
	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/server"
	"github.com/sluice-events/sluice/store/memory"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve logs events in a new store and serves them; it returns the
// server's URL.
func serve(t *testing.T, events []event.Event) string {
	t.Helper()
	st, err := memory.New()
	if err != nil {
		t.Fatal(err)
	}
	h, err := hub.New(st)
	if err != nil {
		t.Fatal(err)
	}
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
		h.Close(ctx)
		st.Close()
	})
	evs := append([]event.Event(nil), events...)
	if err := h.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return ts.URL
}

// TestOfficialClient streams the demo run in the AG-UI format to the
// official client: uncut, and cut at random bytes and resumed.
func TestOfficialClient(t *testing.T) {
	demo := recorded.Demo(t)
	url := serve(t, demo.Events) + "/v1/sessions/" + demo.Events[0].Meta.SessionID + "/stream?format=agui"
	for seed := 1; seed <= 5; seed++ {
		out := nodeclient.Run(t, "agui.mjs", url, "4", strconv.Itoa(seed))
		t.Logf("%s", out)
	}
}

// TestOfficialClientEverySession streams every recorded provider session
// (ended by a run.completed, since an adapter alone does not end a run)
// to the official client, cut and resumed.
func TestOfficialClientEverySession(t *testing.T) {
	for _, s := range recorded.All(t)[1:] {
		t.Run(s.Name, func(t *testing.T) {
			evs := append([]event.Event(nil), s.Events...)
			evs = append(evs, event.New(event.RunCompleted{Status: "done"}, evs[0].Meta))
			url := serve(t, evs) + "/v1/sessions/" + s.Name + "/stream?format=agui"
			nodeclient.Run(t, "agui.mjs", url, "3", "7")
		})
	}
}
