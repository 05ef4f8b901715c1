package agui_test

import (
	"strconv"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/nodeclient"
	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/internal/servetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOfficialClient streams the demo run in the AG-UI format to the
// official client: uncut, and cut at random bytes and resumed.
func TestOfficialClient(t *testing.T) {
	demo := recorded.Demo(t)
	url := servetest.Serve(t, demo.Events) + "/v1/sessions/" + demo.Events[0].Meta.SessionID + "/stream?format=agui"
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
			url := servetest.Serve(t, evs) + "/v1/sessions/" + s.Name + "/stream?format=agui"
			nodeclient.Run(t, "agui.mjs", url, "3", "7")
		})
	}
}
