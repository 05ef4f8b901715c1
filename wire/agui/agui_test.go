package agui_test

import (
	"bytes"
	"testing"

	"go.uber.org/goleak"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/nodeclient"
	"github.com/sluice-events/sluice/internal/recorded"
	"github.com/sluice-events/sluice/internal/servetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestOfficialClient streams the demo run to the official client five
// times, cut at random bytes and resumed (4 cuts each), and every recorded
// provider session (ended by a run.completed, since an adapter alone does
// not end a run) once, with 3 cuts: all in one node process.
func TestOfficialClient(t *testing.T) {
	demo := recorded.Demo(t)
	url := servetest.Serve(t, demo.Events) + "/v1/sessions/" + demo.Events[0].Meta.SessionID + "/stream?format=agui"
	out := nodeclient.Run(t, "agui.mjs", "4", "1", url, url, url, url, url)
	t.Logf("%s", out)
	var urls []string
	for _, s := range recorded.All(t)[1:] {
		evs := append([]event.Event(nil), s.Events...)
		evs = append(evs, event.New(event.RunCompleted{Status: "done"}, evs[0].Meta))
		urls = append(urls, servetest.Serve(t, evs)+"/v1/sessions/"+s.Name+"/stream?format=agui")
	}
	out = nodeclient.Run(t, "agui.mjs", append([]string{"3", "7"}, urls...)...)
	if n := bytes.Count(out, []byte(`"ok":true`)); n != len(urls) {
		t.Fatalf("%d of %d sessions passed:\n%s", n, len(urls), out)
	}
}
