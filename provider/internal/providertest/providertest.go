// Package providertest holds what the adapters' tests share: a sink that
// records events, a comparison of event sequences, and a fixed clock.
package providertest

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-events/sluice"
	"github.com/sluice-events/sluice/event"
)

// Recorder is a sink that keeps every event. OnEvent, if set, is called
// with each event as it is published.
type Recorder struct {
	mu      sync.Mutex
	Events  []event.Event
	OnEvent func(ev event.Event)
}

// Enabled implements sluice.Sink.
func (r *Recorder) Enabled(context.Context, event.Type) bool { return true }

// Publish implements sluice.Sink.
func (r *Recorder) Publish(_ context.Context, ev *event.Event) error {
	r.mu.Lock()
	r.Events = append(r.Events, *ev)
	f := r.OnEvent
	r.mu.Unlock()
	if f != nil {
		f(*ev)
	}
	return nil
}

// Payloads returns the payloads of the recorded events.
func (r *Recorder) Payloads() []event.Payload {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]event.Payload, len(r.Events))
	for i, ev := range r.Events {
		out[i] = ev.Payload
	}
	return out
}

// Emitter returns an emitter into r with a run and session ID.
func (r *Recorder) Emitter() *sluice.Emitter {
	return sluice.NewEmitter(r, event.Meta{RunID: "run-1", SessionID: "sess-1"})
}

// Clock returns a clock that starts at a fixed time and advances by step
// on every call, so that a call's duration is step.
func Clock(step time.Duration) func() time.Time {
	var mu sync.Mutex
	t := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now := t
		t = t.Add(step)
		return now
	}
}

// Equal compares recorded payloads with the expected ones, event by event,
// and reports every difference. Costs are compared to 1e-12 dollars.
func Equal(t testing.TB, got, want []event.Payload) {
	t.Helper()
	n := max(len(got), len(want))
	var diffs []string
	for i := range n {
		var g, w event.Payload
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if !same(g, w) {
			diffs = append(diffs, fmt.Sprintf("event %d:\n   got %s\n  want %s", i, show(g), show(w)))
		}
	}
	if len(diffs) > 0 {
		var all strings.Builder
		for i, p := range got {
			fmt.Fprintf(&all, "  %2d %s\n", i, show(p))
		}
		t.Errorf("%d of %d events differ:\n%s\nall events:\n%s", len(diffs), n, strings.Join(diffs, "\n"), all.String())
	}
}

func same(g, w event.Payload) bool {
	gc, ok1 := g.(event.ProviderCallCompleted)
	wc, ok2 := w.(event.ProviderCallCompleted)
	if ok1 && ok2 {
		if math.Abs(gc.Cost-wc.Cost) > 1e-12 {
			return false
		}
		gc.Cost, wc.Cost = 0, 0
		return reflect.DeepEqual(gc, wc)
	}
	return reflect.DeepEqual(g, w)
}

func show(p event.Payload) string {
	if p == nil {
		return "(none)"
	}
	return fmt.Sprintf("%s %+v", p.EventType(), p)
}

// CheckScopes checks the correlation metadata of a call's events: every
// event has the same inference ID, the provider name, and the run; message
// events carry messageID.
func CheckScopes(t testing.TB, evs []event.Event, provider, messageID string) {
	t.Helper()
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	inf := evs[0].Meta.InferenceID
	if inf == "" {
		t.Errorf("no inference ID on %s", evs[0].Type)
	}
	for _, ev := range evs {
		if ev.Meta.InferenceID != inf || ev.Meta.Provider != provider || ev.Meta.RunID != "run-1" {
			t.Errorf("%s: meta %+v, want inference %s, provider %s, run run-1", ev.Type, ev.Meta, inf, provider)
		}
		if strings.HasPrefix(string(ev.Type), "provider.call.") {
			if ev.Meta.MessageID != "" {
				t.Errorf("%s: message ID %q on a call event", ev.Type, ev.Meta.MessageID)
			}
		} else if ev.Meta.MessageID != messageID {
			t.Errorf("%s: message ID %q, want %q", ev.Type, ev.Meta.MessageID, messageID)
		}
	}
}
