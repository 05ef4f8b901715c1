package recorder_test

import (
	"context"
	"testing"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
	"github.com/sluice-events/sluice/internal/recorder"
	"github.com/sluice-events/sluice/sinktest"
)

func TestSink(t *testing.T) {
	rec := recorder.New()
	em := sluice.NewEmitter(rec, event.Meta{RunID: "r"})
	ctx := context.Background()
	if err := em.TextDelta(ctx, 0, 0, "hi"); err != nil {
		t.Fatal(err)
	}
	go func() { _ = em.Log(ctx, "info", "later", nil) }()
	if got := rec.WaitFor(t, event.TypeLog, 1); got[0].Payload.(event.Log).Message != "later" {
		t.Errorf("WaitFor = %+v", got)
	}
	if len(rec.All()) != 2 || len(rec.Of(event.TypeTextDelta)) != 1 {
		t.Errorf("All %d, Of %d", len(rec.All()), len(rec.Of(event.TypeTextDelta)))
	}
	bad := event.Event{Type: "Not A Type"}
	if err := rec.Publish(ctx, &bad); err == nil {
		t.Error("an invalid event was recorded")
	}
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sinktest.Harness {
		rec := recorder.New()
		return sinktest.Harness{Sink: rec, Delivered: rec.All}
	})
}
