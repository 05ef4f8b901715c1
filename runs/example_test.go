package runs_test

import (
	"context"
	"fmt"

	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/hub"
	"github.com/sluice-events/sluice/runs"
	"github.com/sluice-events/sluice/store"
	"github.com/sluice-events/sluice/store/memory"
)

// A run is stopped from one process while its producer, elsewhere,
// completes it: the log keeps the first end only.
func ExampleEnd() {
	st, _ := memory.New()
	defer st.Close()
	h, _ := hub.New(st)
	defer h.Close(context.Background())
	ctx := context.Background()
	m := event.Meta{SessionID: "chat-1", RunID: "run-1"}
	started := event.New(event.RunStarted{}, m)
	h.Publish(ctx, &started)

	runs.End(ctx, h, m, event.RunStopped{Reason: "stopped"})
	runs.End(ctx, h, m, event.RunCompleted{Status: "success"})

	for ev, err := range st.Read(ctx, store.Query{Session: "chat-1"}) {
		if err == nil {
			fmt.Println(ev.Seq, ev.Type)
		}
	}
	// Output:
	// 1 run.started
	// 2 run.stopped
}
